package io.mmemu.bench.results;

import java.util.List;

import io.mmemu.bench.results.JmhFigure.Bench;
import io.mmemu.bench.results.ScenarioFigure.MetricRow;
import io.mmemu.bench.scenario.SwapScenario;

import static io.mmemu.bench.results.Target.atMost;

/**
 * Figures of the engine's public paths: {@code Cpu} accesses (TLB hit, faults), the VMA tree's find
 * as a fault sees it, munmap, mprotect and mremap per page (JMH, each with {@code -prof gc}); the
 * swap scenario, and page_fault1 beside an older build.
 */
final class EngineFigures
{
    private EngineFigures()
    {
    }

    static List<Figure> figures()
    {
        return List.of(
            new JmhFigure("tlb-hit", "TLB hit: `Cpu.readByte` of a present, cached page",
                "The emulated MMU's hit path: the shootdown poll, the TLB probe, the permission check and the " +
                "byte load, over 64 written pages in turn (all cached after the first round). Three forks, as " +
                "for vma-find: a slow spell of the shared machine takes this path from about 3.5 to about 5.3 ns " +
                "between two iterations.",
                List.of("TlbHitBenchmark"),
                List.of(new Bench("readByte, TLB hit", "TlbHitBenchmark.readByte", List.of(), atMost(5, "ns/op"))), 3),
            new JmhFigure("vma-lookup", "VMA lookup at 1, 1,000 and 65,530 VMAs",
                "The tree's find through a public path: a read of the gap just below a random one of N one-page " +
                "VMAs (one page apart, so none merge): a TLB miss, a walk that finds no table, the fault's " +
                "lookup and a SEGV_MAPERR status. The 1-VMA row is the path without the tree's depth: the " +
                "issue's target (find ≤ 50 ns at 65,530 VMAs) compares with the 65,530-VMA median minus the " +
                "1-VMA one (an upper bound on the find: the larger tree also makes the other steps' caches colder).",
                List.of("VmaLookupBenchmark"),
                List.of(
                    new Bench("1 VMA (the path without the tree)", "VmaLookupBenchmark.gapReadFault", List.of("vmas=1"), null),
                    new Bench("1,000 VMAs", "VmaLookupBenchmark.gapReadFault", List.of("vmas=1000"), null),
                    new Bench("65,530 VMAs (max_map_count)", "VmaLookupBenchmark.gapReadFault", List.of("vmas=65530"), null))),
            new JmhFigure("vma-find", "The VMA tree's find at 1, 1,000 and 65,530 VMAs",
                "`VmaTree.find` alone, of a fresh random address each op (an xorshift step, no probe table), in a " +
                "tree of N one-page VMAs mapped in random order, beside the two-level tree it replaced (kept " +
                "verbatim in bench as `TwoLevelVmaTree`) in the same run: the issue's lookup target (≤ 50 ns at " +
                "65,530 VMAs) is this row. Three forks, each fork's median in the note: the shared machine has " +
                "slow spells that begin and end inside a fork (a step from about 41 to about 68 ns between two " +
                "iterations, the TLB hit slower too), and a fork in one shows it.",
                List.of("VmaFindBenchmark.find", "-p", "order=random"),
                List.of(
                    new Bench("65,530 VMAs (max_map_count)", "VmaFindBenchmark.findNew", List.of("vmas=65530"), atMost(50, "ns/op")),
                    new Bench("65,530 VMAs, the old two-level tree", "VmaFindBenchmark.findOld", List.of("vmas=65530"), null),
                    new Bench("1,000 VMAs", "VmaFindBenchmark.findNew", List.of("vmas=1000"), null),
                    new Bench("1 VMA", "VmaFindBenchmark.findNew", List.of("vmas=1"), null)), 3),
            new JmhFigure("fault", "Page faults through `Cpu` accesses",
                "One op is one fault on an empty entry of a 2 MiB private anonymous mapping (full backing): a " +
                "read fault mapping the zero page, a write fault taking a 4 KiB frame (cleared where stores " +
                "reached when it was last freed), a write to a page a read mapped to the zero page (COW break, " +
                "with its shootdown). The mapping is made once; before each 512 faults `MADV_DONTNEED` empties " +
                "it again (its page table stays, as in Linux), outside the timing. Neither that nor the faults " +
                "allocate, so `-prof gc` shows only JMH's bookkeeping; the exact count (0 B) is in the `alloc` " +
                "figure.",
                List.of("FaultBenchmark"),
                List.of(
                    new Bench("read fault → zero page", "FaultBenchmark.readZeroPage", List.of(), null),
                    new Bench("write fault (new page)", "FaultBenchmark.write", List.of(), null),
                    new Bench("zero-page COW break", "FaultBenchmark.zeroPageCow", List.of(), null))),
            new JmhFigure("munmap-page", "munmap of a populated mapping, per page",
                "munmap of 64 MiB of populated private anonymous memory (full backing, 16,384 data frames), per " +
                "page: the VMA's removal, the zap under PTE locks, the TLB shootdown (one CPU), frames and " +
                "tables freed. The MAP_POPULATE before each is outside the timing (not outside `-prof gc`).",
                List.of("MunmapBenchmark"),
                List.of(new Bench("munmap, per page", "MunmapBenchmark.munmap", List.of(), null))),
            new JmhFigure("mprotect-page", "mprotect of a populated mapping, per page",
                "mprotect of the whole of 64 MiB of populated private anonymous memory (16,384 mapped entries), " +
                "per page, flipping it between read-only and read-write: the VMA's flags changed in place, " +
                "every entry rewritten under its PT lock by the range walker's protect visitor, one TLB " +
                "shootdown (one CPU).",
                List.of("MprotectBenchmark"),
                List.of(new Bench("mprotect, per page", "MprotectBenchmark.mprotect", List.of(), null))),
            new JmhFigure("mremap-page", "mremap move of a populated mapping, per page",
                "mremap(MREMAP_MAYMOVE|MREMAP_FIXED) of 64 MiB of populated private anonymous memory (16,384 " +
                "pages, full backing), moved back and forth between two fixed addresses, per page: the source " +
                "VMA drained and locked, every present leaf frozen (non-present, bits kept) and one shootdown, " +
                "the entries moved frozen, the destination thawed, the old range unmapped. Between 2 MiB-aligned " +
                "ends each PT page moves whole (its 512 entries frozen and thawed in place); one page off, every " +
                "entry moves on its own; in THP memory each 2 MiB leaf moves whole.",
                List.of("MremapBenchmark"),
                List.of(
                    new Bench("whole PT pages (aligned ends)", "MremapBenchmark.mremap", List.of("layout=pt-pages"), null),
                    new Bench("entry by entry (ends one page off)", "MremapBenchmark.mremap", List.of("layout=ptes"), null),
                    new Bench("2 MiB leaves (THP)", "MremapBenchmark.mremap", List.of("layout=thp"), null))),
            new JmhFigure("thp-fault", "Transparent huge pages: 2 MiB faults and touching THP memory",
                "A 64 MiB MADV_HUGEPAGE mapping at a 2 MiB-aligned address, THP policy madvise, full backing. " +
                "One write per 2 MiB block: each a fault that maps the block with one PMD leaf over an order-9 " +
                "block (per fault). A write to every 4 KiB page (page_fault1's touch): one fault per block, the " +
                "other 511 pages TLB misses refilled from the TLB's 2 MiB entry (per page; the 4 KiB write " +
                "fault of the `fault` figure is the same touch without THP). `MADV_DONTNEED` clears the leaves " +
                "before each invocation, outside the timing.",
                List.of("HugeFaultBenchmark"),
                List.of(
                    new Bench("2 MiB write fault", "HugeFaultBenchmark.hugeFault", List.of(), null),
                    new Bench("write to every 4 KiB page of THP memory, per page", "HugeFaultBenchmark.everyPage",
                        List.of(), null))),
            new ScenarioFigure("swap", "Swap-out, swap-in and fault latency under memory pressure",
                "Issue 18's pressure figure: one thread writes one long to each page of 128 MiB (a fault each), " +
                "then reads every page back and checks it, per-VMA mode, full backing. Under pressure the " +
                "machine has 32 MiB and a 256 MiB swap area in emulated memory: kswapd and direct reclaim swap " +
                "pages out during the writes, and every read is a major fault that swaps its page in. Without " +
                "pressure the same program runs on 256 MiB and no swap (its reads take no fault). Fault " +
                "latencies are the address space's HdrHistogram of every fault of the phase; one JVM, the " +
                "first of four rounds is the JIT's warm-up, the other three are the samples.",
                SwapScenario.class.getName(), List.of("128", "4", "per-vma"), false,
                List.of(
                    new MetricRow("under pressure: swap-outs during the writes", "pressure.swapouts.rate", null),
                    new MetricRow("under pressure: swap-ins during the reads", "pressure.swapins.rate", null),
                    new MetricRow("under pressure: pages written", "pressure.write.rate", null),
                    new MetricRow("no pressure: pages written", "calm.write.rate", null),
                    new MetricRow("under pressure: pages read back", "pressure.read.rate", null),
                    new MetricRow("no pressure: pages read back", "calm.read.rate", null),
                    new MetricRow("under pressure: write fault p50", "pressure.write.fault.p50", null),
                    new MetricRow("no pressure: write fault p50", "calm.write.fault.p50", null),
                    new MetricRow("under pressure: write fault p99", "pressure.write.fault.p99", null),
                    new MetricRow("no pressure: write fault p99", "calm.write.fault.p99", null),
                    new MetricRow("under pressure: write fault p99.9", "pressure.write.fault.p999", null),
                    new MetricRow("no pressure: write fault p99.9", "calm.write.fault.p999", null),
                    new MetricRow("under pressure: swap-in fault p50", "pressure.read.fault.p50", null),
                    new MetricRow("under pressure: swap-in fault p99", "pressure.read.fault.p99", null),
                    new MetricRow("under pressure: swap-in fault p99.9", "pressure.read.fault.p999", null))),
            new BuildComparisonFigure("fault-vs-base", "page_fault1 without pressure beside the code before the LRU lists",
                "Issue 18's bar for the fault path without memory pressure: within 5% of the code before it. The base is " +
                "ac1c485, main just before the LRU lists joined it (overcommit and the OOM killer already in; the " +
                "lists, their batches and the reverse map's words are what every anonymous fault and free gained), " +
                "built from this clone's history. page_fault1 by the faulting threads' CPU time (each thread maps " +
                "128 MiB of private anonymous memory, writes a byte a page, unmaps it; emulated memory backed by the " +
                "host beforehand), each build in a JVM of its own running the same measuring code, the two measured " +
                "in alternation, seconds apart, so that both see the host in the same state. The ratio rows are this " +
                "tree's CPU ns per fault over the base's, pair by pair; their spread is mostly the JIT's luck (now " +
                "and then a JVM keeps a compilation of the hot path that runs 1.3–1.9× slow for its whole life, " +
                "either build as often, even with compilation in line), which is why the figure is a median over many " +
                "rounds; the CPU-per-fault rows also move with the host's fast and slow spells.",
                "ac1c485", List.of(1, 2),
                List.of(
                    new MetricRow("1 thread: this tree / ac1c485", "alternation.t1.ratio", atMost(1.05, "×")),
                    new MetricRow("2 threads: this tree / ac1c485", "alternation.t2.ratio", atMost(1.05, "×")),
                    new MetricRow("1 thread: ac1c485, CPU per fault", "alternation.t1.base", null),
                    new MetricRow("1 thread: this tree, CPU per fault", "alternation.t1.new", null),
                    new MetricRow("2 threads: ac1c485, CPU per fault", "alternation.t2.base", null),
                    new MetricRow("2 threads: this tree, CPU per fault", "alternation.t2.new", null))));
    }
}
