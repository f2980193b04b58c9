package io.mmemu.bench.results;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How much other work the shared machine is doing, from {@code /proc/stat} (all CPUs' busy time)
 * less this process and the children it has waited for ({@code /proc/self/stat}: JMH forks,
 * scenario runs). Before a figure, {@link #await} waits for at least one core's worth of idle time;
 * across it, a {@link Meter} gives the share of all CPU time that other work took, which is what
 * disturbs a measurement. Both are written beside each figure.
 */
final class OtherWork
{
    /** Busy share of all CPUs below which the machine counts as quiet enough to start. */
    static final double QUIET_BELOW = 0.5;
    /** Share of all CPU time taken by other work above which a measurement counts as disturbed. */
    static final double DISTURBED_ABOVE = 0.25;
    private static final long SAMPLE_MILLIS = 1000;
    private static final Path STAT = Path.of("/proc/stat");
    private static final Path SELF_STAT = Path.of("/proc/self/stat");

    /**
     * How the machine was for one measurement.
     *
     * @param busyAtStart share of all CPU time busy in the last second before it (NaN when unknown).
     * @param waited      seconds spent waiting for quiet before it.
     * @param otherWork   share of all CPU time other processes took during it (NaN when unknown).
     */
    record Conditions(double busyAtStart, long waited, String loadAverage, double otherWork)
    {
        boolean disturbed()
        {
            return otherWork > DISTURBED_ABOVE;
        }

        String describe()
        {
            final String during = Double.isNaN(otherWork) ? "other work unknown" :
                String.format(Locale.ROOT, "other work took %.0f%% of the CPUs during it", 100 * otherWork);
            final String start = Double.isNaN(busyAtStart) ? "" :
                String.format(Locale.ROOT, " (%.0f%% busy at the start", 100 * busyAtStart) +
                    (waited == 0 ? "" : busyAtStart < QUIET_BELOW ? ", after waiting " + waited + " s" :
                        ", still after waiting " + waited + " s") + ")";
            return during + start + ", load average " + loadAverage + " at the start";
        }
    }

    /** A running measurement of other work, from {@link #start}. */
    static final class Meter
    {
        private final double busyAtStart;
        private final long waited;
        private final String loadAverage;
        private final long[] machine;
        private final long own;

        private Meter(final double busyAtStart, final long waited)
        {
            this.busyAtStart = busyAtStart;
            this.waited = waited;
            this.loadAverage = Machine.loadAverage();
            this.machine = cpuTimes();
            this.own = ownTicks();
        }

        /**
         * Whether the machine was quiet when the measurement began, or at least not known to be
         * busy: false when the wait for quiet ran out.
         */
        boolean quietAtStart()
        {
            return !(busyAtStart >= QUIET_BELOW);
        }

        /** {@code 87% busy after waiting 60 s, load average 3.72}: how the wait for quiet ended. */
        String describeStart()
        {
            return String.format(Locale.ROOT, "%.0f%% busy after waiting %d s, load average %s", 100 * busyAtStart,
                waited, loadAverage);
        }

        Conditions stop()
        {
            final long[] now = cpuTimes();
            final long ownNow = ownTicks();
            double other = Double.NaN;
            if (machine != null && now != null && own >= 0 && ownNow >= 0 && now[0] > machine[0])
            {
                final double busy = (now[0] - machine[0]) - (now[1] - machine[1]);
                other = Math.max(0, busy - (ownNow - own)) / (now[0] - machine[0]);
            }
            return new Conditions(busyAtStart, waited, loadAverage, other);
        }
    }

    private OtherWork()
    {
    }

    /** Waits until the machine is quiet or {@code maxSeconds} have passed, then starts a meter. */
    static Meter start(final long maxSeconds)
    {
        double busy = busyShare();
        final long from = System.nanoTime();
        while (busy >= QUIET_BELOW && (System.nanoTime() - from) / 1_000_000_000L < maxSeconds)
        {
            busy = busyShare();
        }
        return new Meter(busy, (System.nanoTime() - from) / 1_000_000_000L);
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
        return 1 - (double)(after[1] - before[1]) / (after[0] - before[0]);
    }

    /** {total, idle + iowait} ticks of all CPUs (the aggregate "cpu" line), or null. */
    private static long[] cpuTimes()
    {
        try
        {
            final String line = Files.readAllLines(STAT).getFirst();
            if (!line.startsWith("cpu "))
            {
                return null;
            }
            // user nice system idle iowait irq softirq steal; guest time is already inside user
            final String[] fields = line.substring(4).trim().split("\\s+");
            long total = 0;
            for (int i = 0; i < Math.min(fields.length, 8); i++)
            {
                total += Long.parseLong(fields[i]);
            }
            return new long[] {total, Long.parseLong(fields[3]) + Long.parseLong(fields[4])};
        }
        catch (final IOException | RuntimeException ex)
        {
            return null;
        }
    }

    /** CPU ticks of this process and its reaped children (utime, stime, cutime, cstime), or -1. */
    private static long ownTicks()
    {
        try
        {
            final String stat = Files.readString(SELF_STAT);
            // fields after the parenthesised command name, which may itself hold spaces
            final String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // fields[0] is field 3 (state); utime..cstime are fields 14..17
            return Long.parseLong(fields[11]) + Long.parseLong(fields[12]) +
                Long.parseLong(fields[13]) + Long.parseLong(fields[14]);
        }
        catch (final IOException | RuntimeException ex)
        {
            return -1;
        }
    }
}
