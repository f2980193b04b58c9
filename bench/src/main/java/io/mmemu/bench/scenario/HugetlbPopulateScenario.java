package io.mmemu.bench.scenario;

import io.mmemu.phys.Backing;
import io.mmemu.phys.HugetlbPool;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Signal;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_HUGETLB;
import static io.mmemu.vm.Mman.MAP_NORESERVE;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;

/**
 * Populates a tables-only mapping of 1 TiB through faults twice, each in fresh memory: with 2 MiB
 * hugetlb pages (a pool of size / 2 MiB phantom pages, MAP_HUGETLB, one write per 2 MiB: each
 * fault maps a PMD leaf), then with 4 KiB pages (private anonymous memory, one write per 4 KiB,
 * as {@link FaultPopulateScenario}). Per kind: the populate time, the page-table pages, the host
 * resident set after it, the munmap time, and whether every frame (and every pool page) came back;
 * then the ratio of page-table pages (a PMD leaf replaces a PT page: about 512 times fewer).
 * Fault timing is off (counts only). The 2 MiB run goes first, so that the peak RSS printed after
 * it is its own.
 * <p>
 * Usage: {@code HugetlbPopulateScenario [--size-gib 1024]}. Exit status 0 when every step succeeded.
 */
public final class HugetlbPopulateScenario
{
    private static final long GIB = 1L << 30;
    private static final long M2 = 2L << 20;
    private static final long PAGE = 4096;

    private HugetlbPopulateScenario()
    {
    }

    public static void main(final String[] args)
    {
        long sizeGib = 1024;
        for (int i = 0; i < args.length; i++)
        {
            if (args[i].equals("--size-gib") && i + 1 < args.length)
            {
                sizeGib = Long.parseLong(args[++i]);
            }
            else
            {
                System.err.println("usage: HugetlbPopulateScenario [--size-gib N]; unknown: " + args[i]);
                System.exit(2);
            }
        }
        final long size = sizeGib * GIB;
        final long huge = run(size, M2);
        final long small = run(size, PAGE);
        if (huge > 0 && small > 0)
        {
            System.out.printf("page-table pages 4 KiB / 2 MiB: %.1fx%n", small / (double)huge);
            new Metric("tables.ratio", small / (double)huge, "×").print();
        }
        System.exit(huge > 0 && small > 0 ? 0 : 1);
    }

    /** One populate and unmap with pages of {@code page} bytes; the page-table pages it took, or -1 on a failure. */
    private static long run(final long size, final long page)
    {
        final String kind = page == PAGE ? "4k" : "2m";
        boolean ok = true;
        final long tables;
        try (PhysicalMemory memory = PhysicalMemory.create(2 * size + 4 * GIB, Backing.TABLES_ONLY))
        {
            final HugetlbPool pool = memory.hugetlbPool(PhysicalMemory.HUGE_ORDER);
            if (page == M2 && pool.resize(size / M2) != size / M2)
            {
                System.out.println("no room for a pool of " + size / M2 + " pages");
                return -1;
            }
            final long baseline = memory.framesInUse();
            try (AddressSpace mm = AddressSpace.create(memory))
            {
                mm.timeFaults(false);
                final Cpu cpu = mm.attachCpu();
                final int flags = MAP_PRIVATE | MAP_ANONYMOUS | (page == M2 ? MAP_HUGETLB : MAP_NORESERVE);
                final long addr = cpu.mmap(0, size, PROT_READ | PROT_WRITE, flags, -1, 0);
                if (addr < 0)
                {
                    System.out.println("mmap of " + size + " bytes failed: " + addr);
                    return -1;
                }
                final long t0 = System.nanoTime();
                long faults = 0;
                for (long va = addr; va < addr + size; va += page, faults++)
                {
                    final int signal = cpu.writeByte(va, 1);
                    if (signal != Signal.NONE)
                    {
                        System.out.println("write fault failed: " + Signal.describe(signal, va));
                        ok = false;
                        break;
                    }
                }
                final long t1 = System.nanoTime();
                tables = memory.tablePages();
                final long rss = ProcStatus.residentBytes();
                final long peak = ProcStatus.peakResidentBytes();
                final long t2 = System.nanoTime();
                ok &= cpu.munmap(addr, size) == 0;
                final long t3 = System.nanoTime();
                cpu.close();
                System.out.printf("%s  populate %d GiB: %d faults in %.3f s = %.2f M faults/s; page-table pages %d (%.1f MiB); " +
                        "RSS %.1f MiB, peak %.1f MiB; munmap %.3f s%n", kind, size / GIB, faults, seconds(t0, t1),
                    faults / seconds(t0, t1) / 1e6, tables, tables * PAGE / (double)(1 << 20), rss / (double)(1 << 20),
                    peak / (double)(1 << 20), seconds(t2, t3));
                new Metric("populate.seconds." + kind, seconds(t0, t1), "s").print();
                new Metric("faults.rate." + kind, faults / seconds(t0, t1), "faults/s").print();
                new Metric("tables.pages." + kind, tables, "pages").print();
                new Metric("rss.populated." + kind, rss, "B").print();
                new Metric("rss.peak." + kind, peak, "B").print();
                new Metric("unmap.seconds." + kind, seconds(t2, t3), "s").print();
            }
            final long leaked = memory.framesInUse() - baseline;
            ok &= leaked == 0 && pool.free() == pool.total() && pool.reserved() == 0;
            new Metric("frames.leaked." + kind, leaked, "frames").print();
        }
        System.out.println(kind + "  result " + (ok ? "ok" : "FAILED"));
        return ok ? tables : -1;
    }

    private static double seconds(final long from, final long to)
    {
        return (to - from) / 1e9;
    }
}
