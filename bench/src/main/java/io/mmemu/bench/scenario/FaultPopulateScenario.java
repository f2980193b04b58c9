package io.mmemu.bench.scenario;

import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Signal;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_NORESERVE;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;

/**
 * Populates a tables-only mapping of 1 TiB <i>through faults</i>: one emulated CPU writes a byte
 * to each of its 2^28 pages, each write a TLB miss and a write fault (VMA lookup, PTE lock, a
 * phantom data frame), as page_fault1 does once. Reports the fault rate, the host resident set
 * after (page tables are 2 GiB of it), then unmaps and checks that every frame came back.
 * Twice, each in fresh memory: with the address space's per-fault timing off (counts only, the
 * figures without a suffix), then on, as by default ({@code .timed}: two clock reads per fault
 * for the latency histogram).
 * <p>
 * Usage: {@code FaultPopulateScenario [--size-gib 1024]}. Exit status 0 when every step succeeded.
 */
public final class FaultPopulateScenario
{
    private static final long GIB = 1L << 30;
    private static final long PAGE = 4096;

    private FaultPopulateScenario()
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
                System.err.println("usage: FaultPopulateScenario [--size-gib N]; unknown: " + args[i]);
                System.exit(2);
            }
        }
        final boolean untimed = run(sizeGib * GIB, false);
        System.exit(untimed & run(sizeGib * GIB, true) ? 0 : 1);
    }

    private static boolean run(final long size, final boolean timed)
    {
        final String suffix = timed ? ".timed" : "";
        boolean ok = true;
        try (PhysicalMemory memory = PhysicalMemory.create(2 * size + 4 * GIB, Backing.TABLES_ONLY))
        {
            final long baseline = memory.framesInUse();
            try (AddressSpace mm = AddressSpace.create(memory))
            {
                mm.timeFaults(timed);
                final Cpu cpu = mm.attachCpu();
                final long addr = cpu.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
                if (addr < 0)
                {
                    System.out.println("mmap of " + size + " bytes failed: " + addr);
                    return false;
                }
                final long t0 = System.nanoTime();
                long pages = 0;
                for (long va = addr; va < addr + size; va += PAGE)
                {
                    final int signal = cpu.writeByte(va, 1);
                    if (signal != Signal.NONE)
                    {
                        System.out.println("write fault failed: " + Signal.describe(signal, va));
                        ok = false;
                        break;
                    }
                    pages++;
                }
                final double seconds = (System.nanoTime() - t0) / 1e9;
                final long rss = ProcStatus.residentBytes();
                final long faults = mm.stats().faults();
                System.out.printf("populate through faults  %d GiB, fault timing %s: %,d pages, %,d faults in %.2f s = %.2f M faults/s; RSS %.2f GiB%n",
                    size / GIB, timed ? "on" : "off", pages, faults, seconds, faults / seconds / 1e6, rss / (double)GIB);
                new Metric("faults.rate" + suffix, faults / seconds, "faults/s").print();
                new Metric("faults.seconds" + suffix, seconds, "s").print();
                new Metric("rss.populated" + suffix, rss, "B").print();
                new Metric("tables.bytes" + suffix, memory.tablePages() * PAGE, "B").print();
                final long t1 = System.nanoTime();
                final long r = cpu.munmap(addr, size);
                final double unmapSeconds = (System.nanoTime() - t1) / 1e9;
                System.out.printf("munmap                   %.2f s = %.2f M pages/s (%d)%n", unmapSeconds, pages / unmapSeconds / 1e6, r);
                new Metric("unmap.rate" + suffix, pages / unmapSeconds, "pages/s").print();
                ok &= r == 0 && pages == size / PAGE;
                cpu.close();
            }
            final long leaked = memory.framesInUse() - baseline;
            new Metric("frames.leaked" + suffix, leaked, "frames").print();
            ok &= leaked == 0;
        }
        System.out.println(ok ? "result                   ok" : "result                   FAILED");
        return ok;
    }
}
