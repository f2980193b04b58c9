package io.mmemu.bench.results;

import java.util.ArrayList;
import java.util.List;

import io.mmemu.bench.results.RatioPlot.Ratio;
import io.mmemu.bench.results.ScenarioFigure.MetricRow;
import io.mmemu.bench.scenario.CompareScenario;
import io.mmemu.bench.scenario.FaultPopulateScenario;
import io.mmemu.bench.scenario.ForkScenario;

import static io.mmemu.bench.results.Target.atLeast;
import static io.mmemu.bench.results.Target.atMost;

/**
 * The figures of the emulator beside the host kernel (issue 7's will-it-scale loops, issue 6's
 * seed scenario), measured by {@link CompareScenario} with alternating repetitions in one JVM and
 * by {@link FaultPopulateScenario}. Each is one fresh JVM whose repetitions are the samples.
 */
final class SideBySide
{
    private static final long GIB = 1L << 30;
    private static final int[] THREADS = {1, 2, 4, 8, 16};
    private static final int CORES = Runtime.getRuntime().availableProcessors();
    /** Faulting threads of the seed scenario. */
    private static final int SEED_THREADS = 4;
    /** page_fault1's goal at 1 and 2 threads: emulator over host. */
    private static final Target PAGE_FAULT1_RATIO = atLeast(4, "×");
    private static final Target MMAP1_RATIO = atLeast(2, "×");
    /** A munmap no slower than the host's, per page. */
    private static final Target NO_SLOWER = atLeast(1, "×");
    /** The seed's goal: per-VMA p99.9 fault latency during the munmap. */
    private static final Target SEED_WINDOW_P999 = atMost(50_000, "ns");
    /**
     * The bare-metal anchor for the host's own rate: page_fault1 on one thread of a 16-core Linux
     * 6.18 machine, in faults/s.
     */
    static final double BARE_METAL_PAGE_FAULT1 = 543e3;

    private SideBySide()
    {
    }

    static List<Figure> figures()
    {
        return List.of(pageFault1(), pageFault1Thp(), pageFault1Disjoint(), pageFault1DisjointTablesOnly(), mmap1(), fileWorkload("page_fault2",
                "page_fault1 on a private mapping of the thread's tmp file: each write fault copies a page-cache page"),
            fileWorkload("page_fault3",
                "page_fault1 on a shared mapping of the thread's tmp file: each write fault dirties a page-cache page"),
            fileWorkload("mmap2", "mmap1 of the thread's tmp file, MAP_SHARED (one op: the mmap + munmap pair)"),
            munmapGib(), seed(), seedThp(), faultPopulate(), fork());
    }

    /**
     * The pictures of these figures: every emulator / host ratio (under the summary), page_fault1's
     * scaling, the seed scenario's latency percentiles.
     */
    static List<Plot> plots()
    {
        final List<Ratio> ratios = new ArrayList<>();
        for (final int n : THREADS)
        {
            ratios.add(new Ratio("page-fault1", metric("page_fault1", n, "ratio"),
                "page_fault1, " + (n == 1 ? "1 thread" : n + " threads") + (n > CORES ? " (past the cores)" : ""),
                n <= 2 ? PAGE_FAULT1_RATIO : null));
        }
        ratios.add(new Ratio("page-fault1-thp", metric("page_fault1_thp", 1, "ratio"), "page_fault1 THP, 1 thread",
            PAGE_FAULT1_RATIO));
        ratios.add(new Ratio("mmap1", metric("mmap1", 1, "ratio"), "mmap1, 1 thread", MMAP1_RATIO));
        for (final String file : new String[] {"page_fault2", "page_fault3", "mmap2"})
        {
            ratios.add(new Ratio(file.replace('_', '-'), metric(file, 1, "ratio"), file + ", 1 thread", null));
        }
        ratios.add(new Ratio("munmap-gib", metric("seed", 0, "munmap_speedup"), "munmap 1 GiB, per page", NO_SLOWER));
        ratios.add(new Ratio("seed", metric("seed", SEED_THREADS, "munmap_speedup"),
            "munmap beside " + SEED_THREADS + " faulting threads, per page", NO_SLOWER));
        ratios.add(new Ratio("seed-thp", metric("seed_thp", SEED_THREADS, "ratio"),
            "seed with THP, writes of " + SEED_THREADS + " threads", NO_SLOWER));
        return List.of(
            new RatioPlot("emulator-over-host", ratios),
            new ThreadScalingPlot("page-fault1-threads", "page-fault1", "page_fault1", THREADS,
                List.of(Side.PER_VMA, Side.HOST), "faults/s"),
            new LatencyPlot("seed-latency", "seed", "seed", SEED_THREADS,
                List.of(Side.PER_VMA, Side.MMAP_LOCK, Side.HOST), SEED_WINDOW_P999));
    }

    /**
     * The summary's sentence on the host kernel's own page_fault1 rate on the machine measured,
     * beside the bare-metal anchor: every emulator / host ratio divides by it, and it depends on the
     * machine. Empty when page_fault1's host side was not measured.
     */
    static String hostRate(final List<Section> sections)
    {
        final String metric = metric("page_fault1", 1, Side.HOST.metric());
        for (final Section section : sections)
        {
            final Measurement host = section.outcome().metrics().get(metric);
            if (host != null)
            {
                return "Every emulator / host ratio divides by the host kernel's rate on the machine measured, and "
                    + "that depends on the machine: here the host faulted at " + Quantity.format(host.median(), "faults/s")
                    + " in page_fault1 on one thread, where a bare-metal kernel faults at "
                    + Quantity.format(BARE_METAL_PAGE_FAULT1, "faults/s") + " on one thread of a 16-core Linux 6.18 "
                    + "machine. The same host program faulted at 82 K/s on one 2-core guest and at 350–550 K/s on "
                    + "another, so read each ratio beside the host's rate it was measured against.\n\n";
            }
        }
        return "";
    }

    /**
     * The name {@link CompareScenario} gives a side's figure ({@code page_fault1.t4.host}), or a
     * comparison's ({@code page_fault1.t4.ratio}).
     */
    static String metric(final String workload, final int threads, final String side)
    {
        return workload + ".t" + threads + '.' + side;
    }

    private static Figure pageFault1()
    {
        final List<MetricRow> rows = new ArrayList<>(List.of(
            new MetricRow("1 thread: emulator / host", "page_fault1.t1.ratio", PAGE_FAULT1_RATIO),
            new MetricRow("2 threads: emulator / host", "page_fault1.t2.ratio", PAGE_FAULT1_RATIO),
            new MetricRow("emulator per-vma, 2 threads over 1 (the threads' adjacent mappings merge into one VMA: " +
                "for disjoint VMAs see page-fault1-disjoint)", "page_fault1.t2.per-vma.scaling", null)));
        for (final int n : THREADS)
        {
            final String cores = n > CORES ? " (past the " + CORES + " cores)" : "";
            final String threads = n == 1 ? "1 thread" : n + " threads";
            rows.add(new MetricRow(threads + ", emulator per-vma" + cores,
                metric("page_fault1", n, Side.PER_VMA.metric()), null));
            rows.add(new MetricRow(threads + ", host" + cores, metric("page_fault1", n, Side.HOST.metric()), null));
            if (n > 1)
            {
                rows.add(new MetricRow(n + " threads, emulator over its 1 thread", "page_fault1.t" + n + ".per-vma.scaling", null));
                rows.add(new MetricRow(n + " threads, host over its 1 thread", "page_fault1.t" + n + ".host.scaling", null));
            }
        }
        return new ScenarioFigure("page-fault1", "page_fault1 beside the host kernel, 1 to 16 threads",
            "will-it-scale's page_fault1: each thread maps 128 MiB private anonymous memory, writes a byte to " +
            "each page (one op: a write fault), unmaps it, again. The host side is `host_bench.c` (bench/src/main/c, " +
            "built with cc on first use), the emulator's one `AddressSpace` (per-VMA locking, full backing) with a " +
            "`Cpu` per thread; repetitions alternate emulator, host, emulator... Each thread count runs an " +
            "unmeasured warm-up first on the emulator (the JIT; one pass per thread so the host has backed the " +
            "frames the run cycles through). Ops/s are the total of all threads. This machine is a Firecracker " +
            "guest whose page faults are slow (each first touch of a guest page exits to the hypervisor), so the " +
            "host's figure is far below a bare-metal kernel's (" + Quantity.format(BARE_METAL_PAGE_FAULT1, "faults/s") +
            " on one thread of a 16-core 6.18 machine). " +
            "Past " + CORES + " threads there are more threads than cores on both sides.",
            CompareScenario.class.getName(),
            List.of("page_fault1", "--threads", "1,2,4,8,16", "--seconds", "0.5", "--reps", "3"), false, rows);
    }

    /** page_fault1 over MADV_HUGEPAGE memory: 2 MiB faults, one thread (issue 16's goal). */
    private static Figure pageFault1Thp()
    {
        final String workload = "page_fault1_thp";
        return new ScenarioFigure("page-fault1-thp", "page_fault1 over MADV_HUGEPAGE memory beside the host kernel, one thread",
            "page_fault1 with transparent huge pages: each op is a 2 MiB fault. The thread maps 128 MiB + 2 MiB " +
            "private anonymous memory, advises it MADV_HUGEPAGE, writes a byte to each 2 MiB block of its aligned " +
            "part (64 huge page faults), unmaps it, again. Both sides under the madvise policy (the host's " +
            "own sysfs setting; the emulator's `ThpMode.MADVISE`); the host clears each 2 MiB page it hands out, " +
            "the emulator only the cache lines the page's last owner wrote. Ops/s are 2 MiB faults per second; " +
            "alternating repetitions as above.",
            CompareScenario.class.getName(), List.of(workload, "--threads", "1", "--seconds", "0.5", "--reps", "3"), false,
            List.of(
                new MetricRow("emulator / host", metric(workload, 1, "ratio"), PAGE_FAULT1_RATIO),
                new MetricRow("emulator per-vma", metric(workload, 1, Side.PER_VMA.metric()), null),
                new MetricRow("host", metric(workload, 1, Side.HOST.metric()), null)));
    }

    /** page_fault1 with a guard page per mapping, the threads' VMAs disjoint. */
    private static final String DISJOINT = "page_fault1_guard";
    /** Nine rounds of one run per side at 1, then 2 threads: each round's scaling compares runs seconds apart. */
    private static final List<String> DISJOINT_ARGS =
        List.of(DISJOINT, "--threads", "1,2", "--seconds", "0.5", "--reps", "1", "--rounds", "9");

    /** The locking design's scaling goal: 2 threads faulting disjoint VMAs, per-VMA mode. */
    private static Figure pageFault1Disjoint()
    {
        final List<MetricRow> rows = new ArrayList<>(disjointEmulatorRows(atLeast(1.7, "×")));
        rows.add(new MetricRow("host, 2 threads over 1", metric(DISJOINT, 2, "host.scaling"), null));
        for (final int n : new int[] {1, 2})
        {
            final String threads = n == 1 ? "1 thread" : n + " threads";
            rows.add(new MetricRow(threads + ", host", metric(DISJOINT, n, Side.HOST.metric()), null));
            rows.add(new MetricRow(threads + ": emulator / host", metric(DISJOINT, n, "ratio"), null));
        }
        return new ScenarioFigure("page-fault1-disjoint", "page_fault1 over disjoint VMAs, 1 and 2 threads",
            "page_fault1 with a PROT_NONE guard page after each thread's 128 MiB mapping (on both sides: " +
            "mapped PROT_NONE with it, then all but the guard made writable, unmapped with it), so that the " +
            "threads' mappings stay separate VMAs instead of merging into one whose lock all faults share — " +
            "not even for a moment: a mapping made writable whole and then guarded would merge with the " +
            "neighbour thread's until the mprotect split it, and the neighbour's faults would wait. The " +
            "scaling of the per-VMA design itself. Full backing. Nine " +
            "rounds, each one run per side at 1 then at 2 threads (emulator, host, emulator, host), so each " +
            "round's 2-over-1 figure compares runs seconds apart; the scaling rows are the medians of the " +
            "nine rounds' figures.",
            CompareScenario.class.getName(), DISJOINT_ARGS, false, rows);
    }

    /** The same loop without data frames: what the locking design scales to when memory traffic is not the limit. */
    private static Figure pageFault1DisjointTablesOnly()
    {
        final List<String> args = new ArrayList<>(DISJOINT_ARGS);
        args.addAll(List.of("--backing", "tables-only", "--no-host"));
        return new ScenarioFigure("page-fault1-disjoint-tables", "page_fault1 over disjoint VMAs, tables-only backing",
            "The loop above with tables-only backing: the page tables are real, the data pages phantom frames " +
            "(no bytes, no descriptor), so each fault's own memory traffic is its PTE and little else. What " +
            "remains is the fault path and its locks: the per-VMA design's scaling apart from the data " +
            "pages' cache misses, which are the host machine's. Emulator only; nine rounds as above.",
            CompareScenario.class.getName(), args, false, disjointEmulatorRows(null));
    }

    private static List<MetricRow> disjointEmulatorRows(final Target scaling)
    {
        return List.of(
            new MetricRow("emulator per-vma, 2 threads over 1", metric(DISJOINT, 2, "per-vma.scaling"), scaling),
            new MetricRow("1 thread, emulator per-vma", metric(DISJOINT, 1, Side.PER_VMA.metric()), null),
            new MetricRow("2 threads, emulator per-vma", metric(DISJOINT, 2, Side.PER_VMA.metric()), null));
    }

    private static Figure mmap1()
    {
        return new ScenarioFigure("mmap1", "mmap1 beside the host kernel, one thread",
            "will-it-scale's mmap1: mmap 128 MiB private anonymous and munmap it untouched (one op: the pair), on " +
            "one thread; alternating repetitions as above.",
            CompareScenario.class.getName(), List.of("mmap1", "--threads", "1", "--seconds", "0.5", "--reps", "3"), false,
            List.of(
                new MetricRow("emulator / host", "mmap1.t1.ratio", MMAP1_RATIO),
                new MetricRow("emulator per-vma", "mmap1.t1.per-vma", null),
                new MetricRow("host", "mmap1.t1.host", null)));
    }

    /** A will-it-scale file workload at one thread, reported without a target (the issue sets none). */
    private static Figure fileWorkload(final String workload, final String what)
    {
        return new ScenarioFigure(workload.replace('_', '-'), workload + " beside the host kernel, one thread",
            "will-it-scale's " + workload + ": " + what + ". Each thread maps its own 128 MiB tmp file (host: " +
            "mkstemp in /tmp, ftruncate, unlink; emulator: `MappedFile.temporary`, zero-filled, held open for the " +
            "run so its page cache stays, as the host's does); alternating repetitions as above.",
            CompareScenario.class.getName(), List.of(workload, "--threads", "1", "--seconds", "0.5", "--reps", "3"), false,
            List.of(
                new MetricRow("emulator / host", metric(workload, 1, "ratio"), null),
                new MetricRow("emulator per-vma", metric(workload, 1, Side.PER_VMA.metric()), null),
                new MetricRow("host", metric(workload, 1, Side.HOST.metric()), null)));
    }

    private static Figure munmapGib()
    {
        return new ScenarioFigure("munmap-gib", "munmap of a fully populated 1 GiB mapping",
            "A 1 GiB private anonymous mapping populated with MAP_POPULATE (full backing on the emulator: real " +
            "4 KiB data frames), then one munmap of it, timed; no other thread runs. Speed-up is the host's ns per " +
            "page over the emulator's (≥ 1: no slower than the host).",
            CompareScenario.class.getName(), List.of("seed", "--threads", "0", "--seconds", "0.2", "--reps", "3",
                "--big", Long.toString(GIB), "--host-big", Long.toString(GIB)), false,
            List.of(
                new MetricRow("emulator speed-up over the host", "seed.t0.munmap_speedup", NO_SLOWER),
                new MetricRow("emulator per-vma", "seed.t0.per-vma.munmap", null),
                new MetricRow("host", "seed.t0.host.munmap", null),
                new MetricRow("emulator: longest mmap-lock write hold", "seed.t0.per-vma.mmap_hold", null),
                new MetricRow("emulator: longest PTE-lock hold", "seed.t0.per-vma.ptl_hold", null),
                new MetricRow("emulator: munmap time over the longer", "seed.t0.per-vma.munmap_over_hold", null)));
    }

    private static Figure seed()
    {
        final String big = "64 GiB";
        return new ScenarioFigure("seed", "The seed scenario: faults while another thread unmaps a large mapping",
            "4 threads run page_fault1 loops (128 MiB each), every write timed (clock around the access, both " +
            "sides alike); 1 s in, the main thread munmaps a fully populated private mapping: " + big + " " +
            "tables-only on the emulator, 1 GiB on the host (its real memory; its per-page time is what compares). " +
            "Latency percentiles over the whole run and over the munmap window (faults that overlapped it at " +
            "any point, a fault that waited for all of it included). Per-VMA mode beside mmap-lock mode, where every fault waits for the munmap's write " +
            "hold. The longest lock hold is the longest single hold of a lock that other threads contend for " +
            "(the mmap lock for writing, a PTE lock) during the munmap, from `MmStats`'s histograms: the longer " +
            "of the two, each also shown as context; the " +
            "unmapped VMA's own per-VMA lock is held through its whole zap and blocks only faults on that VMA " +
            "(shown as context). On 2 cores the 4 faulting threads and the unmapper share the CPUs, so the " +
            "per-VMA munmap, which runs beside them, takes longer than the mmap-lock one, which stops them.",
            CompareScenario.class.getName(), List.of("seed", "--threads", Integer.toString(SEED_THREADS),
                "--seconds", "2", "--reps", "3",
                "--backing", "tables-only", "--big", Long.toString(64 * GIB), "--host-big", Long.toString(GIB),
                "--locking", "per-vma,mmap-lock"), false,
            List.of(
                new MetricRow("per-vma: p99.9 fault latency during the munmap", "seed.t4.per-vma.window.p999",
                    SEED_WINDOW_P999),
                new MetricRow("per-vma over host: p99.9 during the munmap", "seed.t4.window_p999_over_host",
                    atMost(1, "×")),
                new MetricRow("per-vma: munmap speed-up over the host (ns/page)", "seed.t4.munmap_speedup",
                    NO_SLOWER),
                new MetricRow("per-vma: munmap time over the longest mmap-lock/PTL hold", "seed.t4.per-vma.munmap_over_hold",
                    atLeast(32, "×")),
                new MetricRow("host: p99.9 during the munmap", "seed.t4.host.window.p999", null),
                new MetricRow("mmap-lock: p99.9 during the munmap", "seed.t4.mmap-lock.window.p999", null),
                new MetricRow("per-vma: max during the munmap", "seed.t4.per-vma.window.max", null),
                new MetricRow("host: max during the munmap", "seed.t4.host.window.max", null),
                new MetricRow("mmap-lock: max during the munmap", "seed.t4.mmap-lock.window.max", null),
                new MetricRow("per-vma: whole run p50", "seed.t4.per-vma.all.p50", null),
                new MetricRow("per-vma: whole run p99", "seed.t4.per-vma.all.p99", null),
                new MetricRow("per-vma: whole run p99.9", "seed.t4.per-vma.all.p999", null),
                new MetricRow("host: whole run p50", "seed.t4.host.all.p50", null),
                new MetricRow("host: whole run p99", "seed.t4.host.all.p99", null),
                new MetricRow("host: whole run p99.9", "seed.t4.host.all.p999", null),
                new MetricRow("mmap-lock: whole run p99.9", "seed.t4.mmap-lock.all.p999", null),
                new MetricRow("per-vma: munmap per page", "seed.t4.per-vma.munmap", null),
                new MetricRow("mmap-lock: munmap per page", "seed.t4.mmap-lock.munmap", null),
                new MetricRow("host: munmap per page", "seed.t4.host.munmap", null),
                new MetricRow("per-vma: longest mmap-lock write hold", "seed.t4.per-vma.mmap_hold", null),
                new MetricRow("per-vma: longest PTE-lock hold", "seed.t4.per-vma.ptl_hold", null),
                new MetricRow("per-vma: the unmapped VMA's lock hold", "seed.t4.per-vma.vma_hold", null),
                new MetricRow("mmap-lock: munmap time over the longest mmap-lock/PTL hold",
                    "seed.t4.mmap-lock.munmap_over_hold", null),
                new MetricRow("per-vma: faults/s of the 4 threads", "seed.t4.per-vma", null),
                new MetricRow("mmap-lock: faults/s of the 4 threads", "seed.t4.mmap-lock", null),
                new MetricRow("host: faults/s of the 4 threads", "seed.t4.host", null)));
    }

    /**
     * The seed with transparent huge pages (issue 16): the same story over PMD leaves, both sides
     * under the madvise policy. Full backing on the emulator (tables-only memory makes no huge
     * pages), so its large mapping is the host's size.
     */
    private static Figure seedThp()
    {
        final String workload = "seed_thp";
        final String prefix = workload + ".t" + SEED_THREADS + '.';
        return new ScenarioFigure("seed-thp", "The seed scenario with transparent huge pages",
            "The seed above with every mapping advised MADV_HUGEPAGE, both sides under the madvise policy (the " +
            "host's own sysfs setting; the emulator's `ThpMode.MADVISE`): the " + SEED_THREADS + " threads' 128 MiB " +
            "mappings fault a huge page at the first write of each 2 MiB block and store into it for the other 511 " +
            "pages of an op's count; the 1 GiB mapping (full backing on both sides: tables-only memory makes no " +
            "huge pages) is populated after the advice (MADV_POPULATE_WRITE), so the munmap zaps 512 PMD leaves, " +
            "not 262,144 PTEs. Per-VMA mode; alternating repetitions.",
            CompareScenario.class.getName(), List.of(workload, "--threads", Integer.toString(SEED_THREADS),
                "--seconds", "2", "--reps", "3",
                "--backing", "full", "--big", Long.toString(GIB), "--host-big", Long.toString(GIB),
                "--locking", "per-vma"), false,
            List.of(
                new MetricRow("emulator / host, writes/s of the " + SEED_THREADS + " threads", prefix + "ratio", NO_SLOWER),
                new MetricRow("per-vma: writes/s", prefix + "per-vma", null),
                new MetricRow("host: writes/s", prefix + "host", null),
                new MetricRow("per-vma: p99.9 fault latency during the munmap", prefix + "per-vma.window.p999",
                    SEED_WINDOW_P999),
                new MetricRow("host: p99.9 during the munmap", prefix + "host.window.p999", null),
                new MetricRow("per-vma: munmap speed-up over the host (ns/page)", prefix + "munmap_speedup", null),
                new MetricRow("per-vma: munmap per page", prefix + "per-vma.munmap", null),
                new MetricRow("host: munmap per page", prefix + "host.munmap", null),
                new MetricRow("per-vma: whole run p99.9", prefix + "per-vma.all.p999", null),
                new MetricRow("host: whole run p99.9", prefix + "host.all.p999", null)));
    }

    /** Populated sizes of the fork figure, GiB, measured on every side. */
    private static final int[] FORK_GIB = {1, 16};
    /** The size only tables-only backing holds on a 24 GiB machine: the emulator's fork alone. */
    private static final int FORK_TABLES_ONLY_GIB = 64;

    private static Figure fork()
    {
        final List<MetricRow> rows = new ArrayList<>();
        for (final int gib : FORK_GIB)
        {
            final String size = gib + " GiB";
            rows.add(new MetricRow(size + ": emulator full, fork", "emulator.full." + gib + "GiB.fork", null));
            rows.add(new MetricRow(size + ": emulator tables-only, fork", "emulator.tables-only." + gib + "GiB.fork", null));
            rows.add(new MetricRow(size + ": host, fork", "host." + gib + "GiB.fork", null));
            rows.add(new MetricRow(size + ": emulator full, speed-up over the host's fork", "fork." + gib + "GiB.full.speedup", null));
            rows.add(new MetricRow(size + ": emulator tables-only, speed-up over the host's fork",
                "fork." + gib + "GiB.tables-only.speedup", null));
            rows.add(new MetricRow(size + ": emulator full, COW breaks after the fork", "emulator.full." + gib + "GiB.cow.rate", null));
            rows.add(new MetricRow(size + ": host, COW breaks after the fork", "host." + gib + "GiB.cow.rate", null));
            rows.add(new MetricRow(size + ": COW breaks, emulator full / host", "cow." + gib + "GiB.full_over_host", null));
        }
        rows.add(new MetricRow(FORK_TABLES_ONLY_GIB + " GiB: emulator tables-only, fork",
            "emulator.tables-only." + FORK_TABLES_ONLY_GIB + "GiB.fork", null));
        return new ScenarioFigure("fork", "fork of a populated process, and its COW breaks, beside the host kernel",
            "A process with 1, 16 and 64 GiB of private anonymous memory populated (a byte written a page, 4 KiB " +
            "pages: THP off on the host, none in the emulator) forks 5 times, each child gone at once, after an " +
            "unmeasured warm-up (20 forks of 256 MiB on each backing, so the first size is not measured before the " +
            "JIT has compiled the copy): the median " +
            "fork time (dup_mmap: every VMA, copy_page_range over every entry). Then it forks once more and, while " +
            "that child lives, writes a byte to each page of the first GiB again: one COW break a page (a fresh " +
            "page and a copy). Emulator with full backing (the child shares every page: counts raised, writable " +
            "entries write-protected on both sides) and tables-only (phantom frames cannot be shared: the child " +
            "gets frames of its own at fork, so nothing breaks after), the host's `host_fork.c` (bench/src/main/c) " +
            "after them, one side at a time. A side the machine cannot hold now (full backing and the host need the " +
            "populated size plus the copies in host memory, checked against MemAvailable) is skipped with a line " +
            "in the log: 64 GiB runs tables-only on the emulator alone, and 16 GiB needs some 18 GiB free.",
            ForkScenario.class.getName(), List.of("--size-gib", FORK_GIB[0] + "," + FORK_GIB[1] + "," + FORK_TABLES_ONLY_GIB,
                "--cow-gib", "1", "--reps", "5"), false, rows);
    }

    private static Figure faultPopulate()
    {
        return new ScenarioFigure("fault-tib", "Populate 1 TiB tables-only through faults, one thread",
            "One emulated CPU writes a byte to each page of a 1 TiB private anonymous mapping (2^28 write faults: " +
            "TLB miss, VMA lookup, PTE lock, a phantom data frame) in a fresh JVM, JIT warm-up included; then " +
            "munmaps it and checks every frame came back. Twice, in fresh memory each time: first with the address " +
            "space's per-fault timing off (`AddressSpace.timeFaults(false)`: counters only, as a kernel keeps), " +
            "then on, as by default (two clock reads per fault for the fault-latency histogram: on this guest's " +
            "kvm-clock about 60 ns, more than half of what the rest of such a fault costs).",
            FaultPopulateScenario.class.getName(), List.of(), false,
            List.of(
                new MetricRow("fault rate", "faults.rate", atLeast(10e6, "faults/s")),
                new MetricRow("RSS after populate (VmRSS)", "rss.populated", atMost(3.0 * GIB, "B")),
                new MetricRow("page-table pages", "tables.bytes", null),
                new MetricRow("populate time", "faults.seconds", null),
                new MetricRow("munmap rate", "unmap.rate", null),
                new MetricRow("frames leaked after munmap", "frames.leaked", atMost(0, "frames")),
                new MetricRow("fault rate with per-fault timing (the default)", "faults.rate.timed", null),
                new MetricRow("RSS after populate, timed run", "rss.populated.timed", null),
                new MetricRow("frames leaked after munmap, timed run", "frames.leaked.timed", atMost(0, "frames"))));
    }
}
