package io.mmemu.diff;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Shrinks a script on which the host and the emulator differ to a few statements that still show
 * the same difference (delta debugging: drop chunks of statements, halving the chunk size, while
 * the difference stays). "The same" means: the differing statement's text is the same (or, for a
 * maps or pagemap difference, a difference of that kind remains; or the emulator still throws the
 * same exception type). Costs one host run and one emulator run per attempt.
 */
public final class ScriptMinimizer
{
    private final HostReplay host;
    private final ReplayRun run;

    public ScriptMinimizer(final HostReplay host, final ReplayRun run)
    {
        this.host = host;
        this.run = run;
    }

    /** What a script does on both sides, reduced to what identifies the difference. */
    private String signature(final List<String> statements) throws IOException
    {
        final String script = ScriptGenerator.text(statements);
        final HostReplay.Result onHost = host.run(script, run.options());
        if (onHost.exitCode() != 0)
        {
            return null;
        }
        final ReplayRun.Output onEmulator;
        try
        {
            onEmulator = run.onEmulator("minimize", script);
        }
        catch (final RuntimeException | AssertionError ex)
        {
            return "throws " + ex.getClass().getName();
        }
        final ReplayDiff.Difference difference =
            ReplayDiff.firstDifference(statements, onHost.out(), onEmulator.out());
        if (difference == null)
        {
            return null;
        }
        return difference.index() < statements.size() ? statements.get(difference.index())
            : difference.where().replaceAll(" line \\d+.*", "");
    }

    /** The smallest script found that shows the same difference as {@code statements} does. */
    public List<String> minimize(final List<String> statements) throws IOException
    {
        final String target = signature(statements);
        if (target == null)
        {
            return statements;
        }
        List<String> current = new ArrayList<>(statements);
        if (!target.startsWith("throws") && current.contains(target))
        {
            current = new ArrayList<>(current.subList(0, current.lastIndexOf(target) + 1));
        }
        int chunk = Math.max(1, current.size() / 2);
        while (chunk >= 1)
        {
            boolean removed = false;
            for (int start = 0; start < current.size(); )
            {
                final List<String> candidate = new ArrayList<>(current);
                candidate.subList(start, Math.min(start + chunk, candidate.size())).clear();
                if (!candidate.isEmpty() && target.equals(signature(candidate)))
                {
                    current = candidate;
                    removed = true;
                }
                else
                {
                    start += chunk;
                }
            }
            if (!removed)
            {
                chunk /= 2;
            }
        }
        return current;
    }
}
