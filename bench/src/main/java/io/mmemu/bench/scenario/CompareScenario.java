package io.mmemu.bench.scenario;

import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.mmemu.bench.workload.BenchSpec;
import io.mmemu.bench.workload.Comparison;
import io.mmemu.bench.workload.Comparison.Outcome;
import io.mmemu.bench.workload.EmulatorLoops;
import io.mmemu.bench.workload.HostProgram;
import io.mmemu.bench.workload.RunResult;
import io.mmemu.bench.workload.Workload;
import io.mmemu.phys.Backing;
import io.mmemu.vm.LockingMode;

/**
 * A workload side by side on the emulator and the host kernel (alternating repetitions, see
 * {@link Comparison}) at each thread count and locking mode asked for, printing every
 * repetition's figures as {@link Metric} lines named {@code WORKLOAD.tTHREADS.SIDE[.what]}, SIDE
 * being {@code host} or a locking mode ({@code per-vma}, {@code mmap-lock}), plus the per-repetition
 * ratio {@code WORKLOAD.tTHREADS.ratio} (first locking mode over the host) and the scaling of the
 * medians {@code WORKLOAD.tTHREADS.SIDE.scaling} (over the first thread count).
 * <p>
 * {@code --rounds K} sweeps the thread counts K times, one scaling figure per round: each is then a
 * ratio of runs made minutes, not tens of minutes, apart, and K of them give a median and a spread
 * that a slow phase of the shared machine cannot fake.
 * <p>
 * Usage: {@code CompareScenario WORKLOAD [--threads 1,2] [--seconds 1] [--reps 3] [--rounds 1]
 * [--size BYTES] [--big BYTES] [--host-big BYTES] [--locking per-vma,mmap-lock]
 * [--backing full|tables-only] [--no-host]}.
 */
public final class CompareScenario
{
    private CompareScenario()
    {
    }

    public static void main(final String[] args) throws IOException
    {
        if (args.length == 0)
        {
            usage("a workload is needed");
        }
        final Workload workload = Workload.fromCliName(args[0]);
        int[] threads = {1};
        double seconds = 1;
        int reps = 3;
        int rounds = 1;
        long size = BenchSpec.DEFAULT_SIZE;
        long big = 16L << 30;
        long hostBig = 1L << 30;
        List<LockingMode> modes = List.of(LockingMode.PER_VMA);
        Backing backing = Backing.FULL;
        boolean host = true;
        for (int i = 1; i < args.length; i++)
        {
            switch (args[i])
            {
                case "--threads" -> threads = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--size" -> size = Long.parseLong(args[++i]);
                case "--big" -> big = Long.parseLong(args[++i]);
                case "--host-big" -> hostBig = Long.parseLong(args[++i]);
                case "--locking" -> modes = Arrays.stream(args[++i].split(",")).map(LockingMode::fromCliName).toList();
                case "--backing" -> backing = args[++i].equals("full") ? Backing.FULL : Backing.TABLES_ONLY;
                case "--no-host" -> host = false;
                default -> usage("unknown argument " + args[i]);
            }
        }

        final HostProgram hostProgram = host ? HostProgram.build() : null;
        try (EmulatorLoops loops = new EmulatorLoops())
        {
            final Comparison comparison = new Comparison(loops, hostProgram, System.out);
            final BenchSpec template = new BenchSpec(workload, threads[0], seconds, size, big, hostBig, modes.get(0), backing);
            for (int round = 0; round < rounds; round++)
            {
                sweep(comparison, template, threads, modes, host, reps);
            }
        }
    }

    /** One pass over the thread counts and locking modes, the scalings over its own first thread count. */
    private static void sweep(final Comparison comparison, final BenchSpec template, final int[] threads,
        final List<LockingMode> modes, final boolean host, final int reps)
        throws IOException
    {
        final Workload workload = template.workload();
        final Map<String, Double> firstMedian = new LinkedHashMap<>();
        for (final int n : threads)
        {
            for (int m = 0; m < modes.size(); m++)
            {
                final LockingMode mode = modes.get(m);
                // The host runs beside the first locking mode only: one host figure per thread count.
                final boolean withHost = host && m == 0;
                final BenchSpec spec = template.withThreads(n).withLocking(mode);
                System.out.printf("# %s, %d threads, %s%s%n", workload.cliName(), n, Comparison.emulatorLabel(spec),
                    withHost ? " and the host" : "");
                final Outcome outcome = comparison.run(spec, reps,
                    withHost ? Comparison.Sides.BOTH : Comparison.Sides.EMULATOR);
                final String prefix = workload.cliName() + ".t" + n + '.';
                report(prefix + mode.cliName(), outcome.emulator());
                if (withHost)
                {
                    report(prefix + "host", outcome.host());
                    for (int r = 0; r < reps; r++)
                    {
                        final RunResult emu = outcome.emulator().get(r);
                        final RunResult native_ = outcome.host().get(r);
                        if (n > 0)
                        {
                            new Metric(prefix + "ratio", emu.totalRate() / native_.totalRate(), "×").print();
                        }
                        if (workload.seed())
                        {
                            // above 1: the emulator unmaps a page faster than the host
                            new Metric(prefix + "munmap_speedup", native_.munmapNsPerPage() / emu.munmapNsPerPage(), "×").print();
                            if (n > 0 && native_.window().p999() > 0)
                            {
                                new Metric(prefix + "window_p999_over_host",
                                    (double)emu.window().p999() / native_.window().p999(), "×").print();
                            }
                        }
                    }
                    scaling(firstMedian, workload.cliName(), n, "host", outcome.hostMedian());
                }
                scaling(firstMedian, workload.cliName(), n, mode.cliName(), outcome.emulatorMedian());
            }
        }
    }

    private static void scaling(final Map<String, Double> first, final String workload, final int n, final String side,
        final double median)
    {
        final Double base = first.putIfAbsent(side, median);
        if (base != null && median > 0)
        {
            new Metric(workload + ".t" + n + '.' + side + ".scaling", median / base, "×").print();
        }
    }

    private static void report(final String name, final List<RunResult> runs)
    {
        for (final RunResult r : runs)
        {
            if (r.ops().length > 0)
            {
                new Metric(name, r.totalRate(), "ops/s").print();
                new Metric(name + ".per_thread", r.totalRate() / r.ops().length, "ops/s").print();
            }
            if (r.munmapPages() > 0)
            {
                new Metric(name + ".munmap", r.munmapNsPerPage(), "ns/page").print();
                new Metric(name + ".munmap_time", r.munmapNs(), "ns").print();
                if (r.all().count() > 0)
                {
                    new Metric(name + ".all.p50", r.all().p50(), "ns").print();
                    new Metric(name + ".all.p99", r.all().p99(), "ns").print();
                    new Metric(name + ".all.p999", r.all().p999(), "ns").print();
                    new Metric(name + ".all.max", r.all().max(), "ns").print();
                }
                if (r.window().count() > 0)
                {
                    new Metric(name + ".window.p50", r.window().p50(), "ns").print();
                    new Metric(name + ".window.p99", r.window().p99(), "ns").print();
                    new Metric(name + ".window.p999", r.window().p999(), "ns").print();
                    new Metric(name + ".window.max", r.window().max(), "ns").print();
                    new Metric(name + ".window.faults", r.window().count(), "faults").print();
                }
                if (r.longestHoldNs() > 0)
                {
                    new Metric(name + ".longest_hold", r.longestHoldNs(), "ns").print();
                    new Metric(name + ".munmap_over_hold", (double)r.munmapNs() / r.longestHoldNs(), "×").print();
                    new Metric(name + ".mmap_hold", r.mmapHoldNs(), "ns").print();
                    new Metric(name + ".ptl_hold", r.ptlHoldNs(), "ns").print();
                    new Metric(name + ".vma_hold", r.vmaHoldNs(), "ns").print();
                }
            }
        }
    }

    private static void usage(final String problem)
    {
        System.err.println("CompareScenario: " + problem + "\nusage: CompareScenario page_fault1|mmap1|seed [--threads 1,2] " +
            "[--seconds S] [--reps N] [--size BYTES] [--big BYTES] [--host-big BYTES] [--locking per-vma,mmap-lock] " +
            "[--backing full|tables-only] [--no-host]");
        System.exit(2);
    }

}
