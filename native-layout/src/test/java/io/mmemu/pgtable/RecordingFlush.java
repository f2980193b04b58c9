package io.mmemu.pgtable;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link TlbFlush} that records each flushed range and runs a probe at the moment of the flush,
 * when the gather has not released anything yet: the probe checks what must still be alive.
 */
final class RecordingFlush implements TlbFlush
{
    /** What a probe sees: the flushed range. */
    @FunctionalInterface
    interface Probe
    {
        void atFlush(long start, long end);
    }

    private final List<long[]> ranges = new ArrayList<>();
    private final Probe probe;

    RecordingFlush()
    {
        this((start, end) ->
        {
        });
    }

    RecordingFlush(final Probe probe)
    {
        this.probe = probe;
    }

    @Override
    public void flush(final long start, final long end)
    {
        ranges.add(new long[] {start, end});
        probe.atFlush(start, end);
    }

    /** The ranges flushed so far, each {@code {start, end}}. */
    List<long[]> ranges()
    {
        return ranges;
    }

    /** The flushed ranges as text, for comparing against expected ranges in one assertion. */
    String describe()
    {
        final StringBuilder sb = new StringBuilder();
        for (final long[] r : ranges)
        {
            sb.append(String.format("[0x%x,0x%x)", r[0], r[1]));
        }
        return sb.toString();
    }
}
