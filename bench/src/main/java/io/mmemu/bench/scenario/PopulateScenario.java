package io.mmemu.bench.scenario;

import io.mmemu.bench.PageTableFixture;
import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;

/**
 * Populates 1 TiB of virtual memory in tables-only mode on one thread, then unmaps it: the
 * foundation at hardware scale. 2^28 data frames (phantom) and ~2 GiB of real page-table pages.
 * Reports the populate and unmap rates, the host resident set after each step (from
 * {@code /proc/self/status}), the heap bytes the thread allocated meanwhile, and whether every
 * frame came back. Run it in a fresh JVM: its first populate includes the JIT's warm-up and the
 * host's first touch of every table page, as a real first MAP_POPULATE would.
 * <p>
 * Usage: {@code PopulateScenario [--size-gib 1024] [--physmem-gib 2048]}. Exit status 0 when
 * every step succeeded and nothing leaked, 1 otherwise, 2 on bad arguments.
 */
public final class PopulateScenario
{
    private static final long GIB = 1L << 30;

    private PopulateScenario()
    {
    }

    public static void main(final String[] args)
    {
        long sizeGib = 1024;
        long physmemGib = 2048;
        for (int i = 0; i < args.length; i++)
        {
            switch (args[i])
            {
                case "--size-gib" -> sizeGib = Long.parseLong(args[++i]);
                case "--physmem-gib" -> physmemGib = Long.parseLong(args[++i]);
                default ->
                {
                    System.err.println("usage: PopulateScenario [--size-gib N] [--physmem-gib N]; unknown: " + args[i]);
                    System.exit(2);
                }
            }
        }
        System.exit(run(sizeGib * GIB, physmemGib * GIB) ? 0 : 1);
    }

    private static boolean run(final long size, final long physmem)
    {
        final long start = PageTableFixture.BASE;
        final long end = start + size;
        final long rssAtStart = ProcStatus.residentBytes();
        final boolean ok;
        try (PageTableFixture tables = new PageTableFixture(physmem, Backing.TABLES_ONLY))
        {
            final PhysicalMemory memory = tables.memory();
            final long baseline = memory.framesInUse();
            System.out.printf("physical memory  %d GiB tables-only (%d frames, %d backed); RSS at start %.1f MiB%n",
                physmem / GIB, memory.totalFrames(), memory.backedFrames(), rssAtStart / (double)(1 << 20));

            final long alloc0 = ThreadAllocation.allocatedBytes();
            final long t0 = System.nanoTime();
            final int populated = tables.populate(start, end);
            final long t1 = System.nanoTime();
            final long alloc1 = ThreadAllocation.allocatedBytes();
            final long pages = tables.done();
            final long tableBytes = memory.tablePages() << PhysicalMemory.PAGE_SHIFT;
            final long rssPopulated = ProcStatus.residentBytes();
            final long peak = ProcStatus.peakResidentBytes();
            System.out.printf("populate         %d GiB: %d pages in %.3f s = %.2f M pages/s, %d B allocated (%s)%n",
                size / GIB, pages, seconds(t0, t1), pages / seconds(t0, t1) / 1e6, alloc1 - alloc0, status(populated));
            System.out.printf("                 page-table pages %.1f MiB; RSS %.1f MiB, peak %.1f MiB%n",
                tableBytes / (double)(1 << 20), rssPopulated / (double)(1 << 20), peak / (double)(1 << 20));

            final long alloc2 = ThreadAllocation.allocatedBytes();
            final long t2 = System.nanoTime();
            final int unmapped = tables.unmap(start, end);
            final long t3 = System.nanoTime();
            final long alloc3 = ThreadAllocation.allocatedBytes();
            final long zapped = tables.done();
            final long leaked = memory.framesInUse() - baseline;
            final long rssUnmapped = ProcStatus.residentBytes();
            System.out.printf("unmap            %d pages zapped, tables freed in %.3f s = %.2f M pages/s, %d B allocated (%s)%n",
                zapped, seconds(t2, t3), zapped / seconds(t2, t3) / 1e6, alloc3 - alloc2, status(unmapped));
            System.out.printf("                 frames in use %+d against the baseline; RSS %.1f MiB " +
                "(freed frames stay resident in the host until the memory is closed)%n",
                leaked, rssUnmapped / (double)(1 << 20));

            new Metric("populate.rate", pages / seconds(t0, t1), "pages/s").print();
            new Metric("populate.seconds", seconds(t0, t1), "s").print();
            new Metric("populate.allocated", alloc1 - alloc0, "B").print();
            new Metric("tables.bytes", tableBytes, "B").print();
            new Metric("rss.populated", rssPopulated, "B").print();
            new Metric("rss.peak", peak, "B").print();
            new Metric("unmap.rate", zapped / seconds(t2, t3), "pages/s").print();
            new Metric("unmap.seconds", seconds(t2, t3), "s").print();
            new Metric("unmap.allocated", alloc3 - alloc2, "B").print();
            new Metric("rss.unmapped", rssUnmapped, "B").print();
            new Metric("frames.leaked", leaked, "frames").print();
            ok = populated == PageTableEditor.OK && unmapped == PageTableEditor.OK &&
                pages == size >>> PhysicalMemory.PAGE_SHIFT && zapped == pages && leaked == 0;
        }
        final long rssClosed = ProcStatus.residentBytes();
        System.out.printf("closed           RSS %.1f MiB%n", rssClosed / (double)(1 << 20));
        new Metric("rss.closed", rssClosed, "B").print();
        System.out.println(ok ? "result           ok" : "result           FAILED");
        return ok;
    }

    private static double seconds(final long from, final long to)
    {
        return (to - from) / 1e9;
    }

    private static String status(final int status)
    {
        return status == PageTableEditor.OK ? "ok" : "status " + status;
    }
}
