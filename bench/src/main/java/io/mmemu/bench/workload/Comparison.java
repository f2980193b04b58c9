package io.mmemu.bench.workload;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Repetitions of one {@link BenchSpec} on the emulator, the host kernel, or both alternating
 * (emulator, host, emulator, host...), so that the machine's other work falls on both sides
 * alike: on a shared machine only ratios measured side by side mean anything. Prints every run and
 * a summary (median, min, max) to a stream; {@code mmemu bench} and the bench scenarios share it.
 */
public final class Comparison
{
    /** Which sides run. */
    public enum Sides
    {
        EMULATOR, HOST, BOTH
    }

    /** The runs of each side, in order; a side that did not run has none. */
    public record Outcome(BenchSpec spec, List<RunResult> emulator, List<RunResult> host)
    {
        public double emulatorMedian()
        {
            return median(emulator);
        }

        public double hostMedian()
        {
            return median(host);
        }

        /**
         * Median operations per second, emulator over host; for a seed run without faulting
         * threads, the large munmap's speed (host ns per page over the emulator's). NaN unless
         * both ran. Above 1: the emulator is faster.
         */
        public double ratio()
        {
            if (emulator.isEmpty() || host.isEmpty())
            {
                return Double.NaN;
            }
            return spec.threads() > 0 ? emulatorMedian() / hostMedian() :
                medianOf(host.stream().mapToDouble(RunResult::munmapNsPerPage).toArray()) /
                medianOf(emulator.stream().mapToDouble(RunResult::munmapNsPerPage).toArray());
        }
    }

    private final EmulatorLoops emulatorLoops;
    private final HostProgram hostProgram;
    private final PrintStream out;

    /** {@code hostProgram} may be null when no run needs the host. */
    public Comparison(final EmulatorLoops emulatorLoops, final HostProgram hostProgram, final PrintStream out)
    {
        this.emulatorLoops = emulatorLoops;
        this.hostProgram = hostProgram;
        this.out = out;
    }

    /** Largest mapping the seed's warm-up populates and unmaps. */
    private static final long SEED_WARM_UP_BIG = 1L << 30;

    /**
     * Runs {@code reps} repetitions per side. The emulator first runs once unmeasured for four
     * repetitions' time (at most 2 s), so its figures are the JIT's compiled code.
     */
    public Outcome run(final BenchSpec spec, final int reps, final Sides sides) throws IOException
    {
        final List<RunResult> emulator = new ArrayList<>();
        final List<RunResult> host = new ArrayList<>();
        if (sides != Sides.HOST)
        {
            final BenchSpec warmUp = spec.workload().seed() ?
                new BenchSpec(Workload.PAGE_FAULT1, Math.max(1, spec.threads()), spec.seconds(), spec.size(), 0, 0,
                    spec.locking(), spec.backing()) : spec;
            emulatorLoops.run(warmUp.withSeconds(Math.min(2.0, 4 * spec.seconds())));
            if (spec.workload().seed())
            {
                // and the large mapping's own paths (MAP_POPULATE, the sectioned munmap), at most 1 GiB of it:
                // without this the first repetition's munmap runs in the interpreter, slower than the rest
                emulatorLoops.run(new BenchSpec(spec.workload(), 0, spec.seconds(), spec.size(),
                    Math.min(spec.bigSize(), SEED_WARM_UP_BIG), 0, spec.locking(), spec.backing()));
            }
        }
        for (int rep = 1; rep <= reps; rep++)
        {
            if (sides != Sides.HOST)
            {
                final RunResult r = emulatorLoops.run(spec);
                emulator.add(r);
                print(emulatorLabel(spec), rep, r);
            }
            if (sides != Sides.EMULATOR)
            {
                final RunResult r = hostProgram.run(spec);
                host.add(r);
                print("host", rep, r);
            }
        }
        final Outcome outcome = new Outcome(spec, emulator, host);
        summarise(emulatorLabel(spec), emulator);
        summarise("host", host);
        if (sides == Sides.BOTH)
        {
            out.printf(Locale.ROOT, "ratio emulator/host: %.2f%n", outcome.ratio());
        }
        return outcome;
    }

    public static String emulatorLabel(final BenchSpec spec)
    {
        return "emulator " + spec.locking().cliName() + (spec.backing() == io.mmemu.phys.Backing.FULL ? "" : " tables-only");
    }

    private void print(final String side, final int rep, final RunResult r)
    {
        final StringBuilder perThread = new StringBuilder();
        for (int t = 0; t < r.ops().length; t++)
        {
            perThread.append(t == 0 ? "" : " ").append(String.format(Locale.ROOT, "%,.0f", r.threadRate(t)));
        }
        out.printf(Locale.ROOT, "%-28s run %d: %,14.0f ops/s total (%d threads: %s)%n", side, rep, r.totalRate(),
            r.ops().length, perThread);
        if (r.munmapPages() > 0)
        {
            out.printf(Locale.ROOT, "%-28s        munmap of %,d pages: %.3f ms, %.1f ns/page%s%n", side, r.munmapPages(),
                r.munmapNs() / 1e6, r.munmapNsPerPage(),
                r.longestHoldNs() < 0 ? "" : String.format(Locale.ROOT,
                    "; longest holds: mmap lock %,d ns, PTE lock %,d ns (the longer 1/%.0f of it), VMA lock %,d ns",
                    r.mmapHoldNs(), r.ptlHoldNs(), (double)r.munmapNs() / Math.max(1, r.longestHoldNs()), r.vmaHoldNs()));
            out.printf("%-28s        faults, whole run:     %s%n", side, r.all());
            out.printf("%-28s        faults, munmap window: %s%n", side, r.window());
        }
    }

    private void summarise(final String side, final List<RunResult> runs)
    {
        if (runs.isEmpty())
        {
            return;
        }
        final double[] rates = rates(runs);
        if (runs.get(0).ops().length == 0)
        {
            return;
        }
        out.printf(Locale.ROOT, "%-28s median %,14.0f ops/s (min %,.0f, max %,.0f) over %d runs; per thread %,.0f%n",
            side + ":", median(runs), rates[0], rates[rates.length - 1], runs.size(),
            median(runs) / Math.max(1, runs.get(0).ops().length));
    }

    private static double[] rates(final List<RunResult> runs)
    {
        final double[] rates = runs.stream().mapToDouble(RunResult::totalRate).toArray();
        Arrays.sort(rates);
        return rates;
    }

    static double median(final List<RunResult> runs)
    {
        return medianOf(rates(runs));
    }

    private static double medianOf(final double[] values)
    {
        if (values.length == 0)
        {
            return Double.NaN;
        }
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        final int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
