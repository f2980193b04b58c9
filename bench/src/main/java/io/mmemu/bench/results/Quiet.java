package io.mmemu.bench.results;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Waits for the shared machine to be quiet enough to measure on, from {@code /proc/stat}: the
 * share of all CPUs' time spent busy over a one-second sample, while this process itself idles
 * between figures. Quiet means at least one core's worth of idle time, so a one-thread benchmark
 * is not time-sliced with other builds. The conditions found are written beside each figure.
 */
final class Quiet
{
    /** Busy share of all CPUs below which the machine counts as quiet. */
    static final double QUIET_BELOW = 0.5;
    private static final long SAMPLE_MILLIS = 1000;
    private static final Path STAT = Path.of("/proc/stat");

    /**
     * How the machine was when a figure started.
     *
     * @param busy   share of all CPU time busy in the last sample (NaN when /proc/stat is unreadable).
     * @param waited seconds spent waiting for quiet.
     */
    record Conditions(double busy, long waited, String loadAverage)
    {
        String describe()
        {
            final String cpu = Double.isNaN(busy) ? "CPU use unknown" :
                String.format(Locale.ROOT, "CPUs %.0f%% busy with other work", 100 * busy);
            final String waiting = waited == 0 ? "" :
                busy < QUIET_BELOW ? " after waiting " + waited + " s for quiet" :
                    " (not quiet after waiting " + waited + " s)";
            return cpu + waiting + ", load average " + loadAverage;
        }
    }

    private Quiet()
    {
    }

    /** Samples until the machine is quiet or {@code maxSeconds} have passed. */
    static Conditions await(final long maxSeconds)
    {
        double busy = busyShare();
        final long start = System.nanoTime();
        while (busy >= QUIET_BELOW && (System.nanoTime() - start) / 1_000_000_000L < maxSeconds)
        {
            busy = busyShare();
        }
        return new Conditions(busy, (System.nanoTime() - start) / 1_000_000_000L, Machine.loadAverage());
    }

    /** Busy share of all CPUs over one sample, or NaN when it cannot be read. */
    private static double busyShare()
    {
        final long[] before = cpuTimes();
        try
        {
            Thread.sleep(SAMPLE_MILLIS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return Double.NaN;
        }
        final long[] after = cpuTimes();
        if (before == null || after == null || after[0] == before[0])
        {
            return Double.NaN;
        }
        final double total = after[0] - before[0];
        return 1 - (after[1] - before[1]) / total;
    }

    /** {total, idle + iowait} jiffies of the aggregate "cpu" line, or null. */
    private static long[] cpuTimes()
    {
        try
        {
            final String line = Files.readAllLines(STAT).getFirst();
            if (!line.startsWith("cpu "))
            {
                return null;
            }
            final String[] fields = line.substring(4).trim().split("\\s+");
            long total = 0;
            for (int i = 0; i < Math.min(fields.length, 8); i++)
            {
                total += Long.parseLong(fields[i]);
            }
            // fields: user nice system idle iowait irq softirq steal (guest time is inside user)
            return new long[] {total, Long.parseLong(fields[3]) + Long.parseLong(fields[4])};
        }
        catch (final IOException | RuntimeException ex)
        {
            return null;
        }
    }
}
