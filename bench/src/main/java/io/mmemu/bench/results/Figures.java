package io.mmemu.bench.results;

import java.util.ArrayList;
import java.util.List;

import io.mmemu.bench.PopulateBenchmark;
import io.mmemu.bench.results.JmhFigure.Bench;
import io.mmemu.bench.results.ScenarioFigure.MetricRow;
import io.mmemu.bench.scenario.AllocationScenario;
import io.mmemu.bench.scenario.HugetlbPopulateScenario;
import io.mmemu.bench.scenario.PopulateScenario;

import static io.mmemu.bench.results.Target.atLeast;
import static io.mmemu.bench.results.Target.atMost;

/**
 * Every figure of bench/RESULTS.md, in page order, with its targets, and the plots drawn from
 * them: the one place to add either.
 * Targets are the project's performance goals; a row without a target is context for the others.
 */
public final class Figures
{
    private static final double GIB = 1L << 30;

    private Figures()
    {
    }

    public static List<Figure> all()
    {
        final List<Figure> all = new ArrayList<>(foundation());
        all.addAll(EngineFigures.figures());
        all.addAll(SideBySide.figures());
        return all;
    }

    /** Every picture of the page, each drawn from one figure's values and shown in its section. */
    static List<Plot> plots()
    {
        return SideBySide.plots();
    }

    private static List<Figure> foundation()
    {
        return List.of(
            new JmhFigure("walk", "Page walk of a present 4 KiB translation",
                "`PageWalker.translate(cr3, va)`: the four acquire loads from CR3 to the PTE that a TLB fill " +
                "does, over populated tables-only pages visited in a scattered order. With 64 pages every " +
                "entry read stays in L1 (tables hot); with 4 Mi pages (16 GiB mapped) the PTE reads " +
                "spread over 32 MiB of PT pages, beyond a core's L2 and much of any L3, as the walks of TLB " +
                "misses over a large working set do.",
                List.of("PageWalkBenchmark"),
                List.of(
                    new Bench("tables hot: 64 pages", "PageWalkBenchmark.translate", List.of("pages=64"),
                        atMost(25, "ns/op")),
                    new Bench("tables cold-ish: 4 Mi pages", "PageWalkBenchmark.translate", List.of("pages=4194304"),
                        null))),
            new JmhFigure("frame", "Order-0 frame allocate + free through the per-thread FrameCache",
                "One op is an allocation and its free on one thread's `FrameCache`, the path of a fault's " +
                "data page and a walk's missing table: `PhysicalMemory.allocateData` + `releaseData` " +
                "(descriptor set-up and the volatile refcount drop), `allocateTable` + `freeTable`, and a " +
                "phantom data frame of tables-only memory. The burst row allocates 512 frames, then frees " +
                "them, so the cache also refills from and spills to the buddy allocator in batches of 63.",
                List.of("FrameCacheBenchmark"),
                List.of(
                    new Bench("data frame", "FrameCacheBenchmark.data", List.of(), atMost(30, "ns/op")),
                    new Bench("table frame", "FrameCacheBenchmark.table", List.of(), atMost(30, "ns/op")),
                    new Bench("phantom data frame (tables-only)", "FrameCacheBenchmark.phantomData", List.of(),
                        atMost(30, "ns/op")),
                    new Bench("data frames, bursts of 512 (per frame)", "FrameCacheBenchmark.dataBurst", List.of(),
                        null))),
            new JmhFigure("populate-gib", "Populate + unmap of 1 GiB, tables-only",
                "One op populates 1 GiB (262,144 phantom data frames, 512 PT pages, a PMD page) under PTE " +
                "locks, then zaps it and frees the tables through the `MmuGather`: the whole range path per " +
                "op, so that `-prof gc` shows what it allocates. `-prof gc` also charges the harness's own " +
                "bookkeeping, a steady trickle per second, to the ops: invisible on a 10 ns op (10^-4 B/op " +
                "above), tens to hundreds of B/op on a millisecond one. The exact count is the next figure's.",
                List.of("PopulateBenchmark"),
                List.of(
                    new Bench("populate + unmap 1 GiB", "PopulateBenchmark.populateUnmap", List.of(), null,
                        PopulateBenchmark.PAGES))),
            new ScenarioFigure("alloc", "Heap allocation of the hot paths in steady state",
                "Bytes allocated by the measuring thread, read from HotSpot's per-thread counter around a " +
                "long run of each path after it is compiled: exact, and free of JMH's bookkeeping. Goal: 0.",
                AllocationScenario.class.getName(), List.of(), false,
                List.of(
                    new MetricRow("walk (`translate`)", "alloc.walk", atMost(0, "B/op")),
                    new MetricRow("data frame allocate + release", "alloc.data_frame", atMost(0, "B/op")),
                    new MetricRow("table frame allocate + free", "alloc.table_frame", atMost(0, "B/op")),
                    new MetricRow("populate + unmap 1 GiB", "alloc.populate_unmap", atMost(0, "B/op")),
                    new MetricRow("TLB hit (`Cpu.readByte`)", "alloc.tlb_hit", atMost(0, "B/op")),
                    new MetricRow("read fault → zero page (with the `MADV_DONTNEED` zaps)", "alloc.fault_read",
                        atMost(0, "B/op")),
                    new MetricRow("write fault → new page (with the zaps)", "alloc.fault_write", atMost(0, "B/op")),
                    new MetricRow("zero-page COW break (with the zaps and the reads before)", "alloc.fault_cow",
                        atMost(0, "B/op")))),
            new ScenarioFigure("populate-tib", "Populate 1 TiB in tables-only mode, one thread",
                "`PhysicalMemory.create(2 TiB, TABLES_ONLY)` and `PageTableEditor.populate` of 1 TiB " +
                "(2^28 pages) on one thread in a fresh JVM, so the rate includes the JIT's warm-up and the " +
                "host's first touch of every table page; then zap and free of the tables. The page-table " +
                "pages alone are 2 GiB (a PT page maps 2 MiB), so the resident set cannot be much lower. " +
                "Freed frames stay resident in the host until the memory is closed. The heap bytes of the " +
                "whole populate are a first-use cost, the same for 1 GiB as for 1 TiB (loading " +
                "`PageTableEntry` and `PtLock`, linking call sites); a second populate in the same JVM " +
                "allocates 0 B, as the steady-state figure shows.",
                PopulateScenario.class.getName(), List.of(), true,
                List.of(
                    new MetricRow("populate rate", "populate.rate", atLeast(10e6, "pages/s")),
                    new MetricRow("RSS after populate (VmRSS)", "rss.populated", atMost(3 * GIB, "B")),
                    new MetricRow("page-table pages", "tables.bytes", null),
                    new MetricRow("populate time", "populate.seconds", null),
                    new MetricRow("heap allocated by the whole populate", "populate.allocated", null),
                    new MetricRow("unmap rate (zap + free tables)", "unmap.rate", null),
                    new MetricRow("heap allocated by the whole unmap", "unmap.allocated", null),
                    new MetricRow("RSS after unmap", "rss.unmapped", null),
                    new MetricRow("frames leaked after unmap", "frames.leaked", atMost(0, "frames")),
                    new MetricRow("RSS after closing the memory", "rss.closed", null))),
            new ScenarioFigure("populate-tib-2m", "Populate 1 TiB through faults, 2 MiB leaves against 4 KiB pages",
                "Issue 16's scale test: 1 TiB of a tables-only machine populated through faults on one CPU, " +
                "fault timing off, twice in fresh memory: with 2 MiB hugetlb pages (a pool of 524,288 phantom " +
                "pages, MAP_HUGETLB, one write per 2 MiB, each fault a PMD leaf), then with 4 KiB pages (private " +
                "anonymous memory, one write per page); each then unmapped, every frame and pool page back. A " +
                "PMD leaf stands where a PT page was, so the table pages fall about 512-fold (the PMD, PUD and " +
                "PML4 pages are common to both). RSS is the JVM's whole resident set just after the populate.",
                HugetlbPopulateScenario.class.getName(), List.of(), false,
                List.of(
                    new MetricRow("page-table pages, 4 KiB / 2 MiB", "tables.ratio", atLeast(500, "×")),
                    new MetricRow("2 MiB: populate time", "populate.seconds.2m", null),
                    new MetricRow("4 KiB: populate time", "populate.seconds.4k", null),
                    new MetricRow("2 MiB: page-table pages", "tables.pages.2m", null),
                    new MetricRow("4 KiB: page-table pages", "tables.pages.4k", null),
                    new MetricRow("2 MiB: RSS after populate (VmRSS)", "rss.populated.2m", null),
                    new MetricRow("4 KiB: RSS after populate (VmRSS)", "rss.populated.4k", null),
                    new MetricRow("2 MiB: faults/s", "faults.rate.2m", null),
                    new MetricRow("4 KiB: faults/s", "faults.rate.4k", null),
                    new MetricRow("2 MiB: munmap", "unmap.seconds.2m", null),
                    new MetricRow("4 KiB: munmap", "unmap.seconds.4k", null),
                    new MetricRow("2 MiB: frames leaked", "frames.leaked.2m", atMost(0, "frames")),
                    new MetricRow("4 KiB: frames leaked", "frames.leaked.4k", atMost(0, "frames")))));
    }
}
