package io.mmemu.diff;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the host runner's {@code --thp} says about a run (its stderr line
 * {@code thp-vmstat: thp_fault_fallback=N ...}, the moves of /proc/vmstat's counters across the
 * run): whether the host's output followed from the kernel's rules alone. A THP fault that found
 * no order-9 block (thp_fault_fallback, or its memcg variant), a huge zero page that could not be
 * allocated, or khugepaged collapsing a range of ours (its pages_collapsed; thp_collapse_alloc counts the
 * script's own MADV_COLLAPSE too, so it is not looked at) make it depend on the host's memory at that moment. The counters are machine-wide,
 * so another process's fallback also skips a run: harmless, a skip never hides a difference.
 */
final class HostThp
{
    private static final Pattern COUNTER = Pattern.compile("([a-z_]+)=(-?\\d+)");

    private HostThp()
    {
    }

    /** Why the run's output is not the kernel's rules alone, or null when it is. */
    static String undetermined(final String runnerErr)
    {
        final int at = runnerErr.indexOf("thp-vmstat:");
        if (at < 0)
        {
            throw new IllegalStateException("the runner's --thp line is missing from its stderr:\n" + runnerErr);
        }
        final Matcher m = COUNTER.matcher(runnerErr.substring(at, runnerErr.indexOf('\n', at) < 0 ? runnerErr.length()
            : runnerErr.indexOf('\n', at)));
        final StringBuilder moved = new StringBuilder();
        while (m.find())
        {
            if (!"thp_collapse_alloc".equals(m.group(1)) && Long.parseLong(m.group(2)) != 0)
            {
                moved.append(' ').append(m.group(1)).append('=').append(m.group(2));
            }
        }
        return moved.isEmpty() ? null
            : "the host's THP allocation depended on its memory state during the run (vmstat moved:" + moved + ")";
    }
}
