package io.mmemu.bench.scenario;

import java.util.function.LongSupplier;

import io.mmemu.bench.EmulatorFixture;
import io.mmemu.bench.PageTableFixture;
import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.Backing;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Signal;

/**
 * Heap allocation of the native layer's hot paths in steady state, counted exactly on the calling
 * thread: each path runs until compiled, then its allocated bytes are read around a long run.
 * JMH's {@code -prof gc} cannot show a true zero for these: its figure includes the harness's own
 * bookkeeping (tens of KB/s), which is hundreds of bytes per op for millisecond ops.
 * <p>
 * Paths: a walk ({@link PageWalker#translate}), a data frame and a table frame through the
 * {@link FrameCache}, populate plus unmap of 1 GiB in tables-only mode, and through an emulated
 * {@link Cpu}: a TLB hit, the three anonymous faults (read → zero page, write → new page, write to
 * the zero page → copy-on-write break) and the {@code MADV_DONTNEED} zap that empties their range
 * between rounds.
 * Exit status 0 when every path allocated nothing, 1 otherwise.
 */
public final class AllocationScenario
{
    private static final int WARM_UP_ROUNDS = 3;
    private static final long CALLS = 5_000_000;
    private static final long RANGE = 1L << 30;
    private static final int RANGE_ROUNDS = 10;
    /** The faults' range: 64 MiB, faulted in full {@value #FAULT_ROUNDS} times, zapped in between. */
    private static final int FAULT_PAGES = 16_384;
    private static final long FAULT_RANGE = FAULT_PAGES * EmulatorFixture.PAGE;
    private static final int FAULT_ROUNDS = 40;
    private static final long FAULT_MEMORY = 256L << 20;
    /** Where each run's result goes, so the compiler cannot drop the work that produced it. */
    private static volatile long sink;

    private AllocationScenario()
    {
    }

    public static void main(final String[] args)
    {
        try (PageTableFixture tables = new PageTableFixture(8L << 30, Backing.TABLES_ONLY);
            PhysicalMemory full = PhysicalMemory.create(64L << 20, Backing.FULL))
        {
            final long start = PageTableFixture.BASE;
            if (tables.populate(start, start + RANGE) != PageTableEditor.OK)
            {
                throw new IllegalStateException("populate failed");
            }
            final PageWalker walker = new PageWalker(tables.memory(), tables.cache());
            final FrameCache cache = full.newCache();

            boolean zero = true;
            zero &= report("alloc.walk", "translate of a present 4 KiB page", CALLS,
                () -> walk(walker, tables.cr3(), CALLS));
            zero &= report("alloc.data_frame", "data frame allocate + release", CALLS,
                () -> dataFrames(full, cache, CALLS));
            zero &= report("alloc.table_frame", "table frame allocate + free", CALLS,
                () -> tableFrames(full, cache, CALLS));
            if (tables.unmap(start, start + RANGE) != PageTableEditor.OK)
            {
                throw new IllegalStateException("unmap failed");
            }
            zero &= report("alloc.populate_unmap", "populate + unmap of 1 GiB tables-only", RANGE_ROUNDS,
                () -> populateUnmap(tables, RANGE_ROUNDS));
            try (EmulatorFixture emulator = new EmulatorFixture(FAULT_MEMORY, Backing.FULL))
            {
                final Cpu cpu = emulator.cpu();
                final long base = emulator.map(0, FAULT_RANGE, false);
                zero &= report("alloc.tlb_hit", "readByte of a page in the TLB", CALLS,
                    () -> tlbHits(cpu, base, CALLS));
                zero &= report("alloc.fault_read", "read fault mapping the zero page", FAULT_ROUNDS * FAULT_PAGES,
                    () -> faults(emulator, base, false, false));
                zero &= report("alloc.fault_write", "write fault allocating a page", FAULT_ROUNDS * FAULT_PAGES,
                    () -> faults(emulator, base, false, true));
                zero &= report("alloc.fault_cow", "write fault breaking the zero page's COW", FAULT_ROUNDS * FAULT_PAGES,
                    () -> faults(emulator, base, true, true));
            }
            System.out.println(zero ? "result           ok: no path allocates" : "result           ALLOCATES");
            System.exit(zero ? 0 : 1);
        }
    }

    /** Measures {@code run}, prints the result and reports whether it allocated nothing. */
    private static boolean report(final String metric, final String what, final long ops, final LongSupplier run)
    {
        final long bytes = allocatedBy(run);
        System.out.printf("%-40s %,d ops, %d B allocated%n", what, ops, bytes);
        new Metric(metric, (double)bytes / ops, "B/op").print();
        return bytes == 0;
    }

    /** Heap bytes one run of {@code run} allocates on this thread, after {@value #WARM_UP_ROUNDS} runs to compile it. */
    static long allocatedBy(final LongSupplier run)
    {
        for (int i = 0; i < WARM_UP_ROUNDS; i++)
        {
            sink += run.getAsLong();
        }
        final long before = ThreadAllocation.allocatedBytes();
        sink += run.getAsLong();
        return ThreadAllocation.allocatedBytes() - before;
    }

    private static long tlbHits(final Cpu cpu, final long base, final long calls)
    {
        long sum = 0;
        for (long i = 0; i < calls; i++)
        {
            sum += cpu.readByte(base + ((i & 63) << 12));
        }
        return sum;
    }

    /**
     * {@value #FAULT_ROUNDS} rounds of: {@code MADV_DONTNEED} of the range, for the COW case a read
     * of every page (mapping the zero page), then one access per page, each a fault.
     */
    private static long faults(final EmulatorFixture emulator, final long base, final boolean readFirst,
        final boolean write)
    {
        final Cpu cpu = emulator.cpu();
        long signals = 0;
        for (int round = 0; round < FAULT_ROUNDS; round++)
        {
            emulator.dontNeed(base, FAULT_RANGE);
            for (long va = base; va < base + FAULT_RANGE; va += EmulatorFixture.PAGE)
            {
                signals |= readFirst ? cpu.readByte(va) : 0;
                signals |= write ? cpu.writeByte(va, 1) : cpu.readByte(va);
            }
        }
        if (signals != Signal.NONE)
        {
            throw new IllegalStateException("a fault raised a signal: " + signals);
        }
        return signals;
    }

    private static long walk(final PageWalker walker, final long cr3, final long calls)
    {
        long sum = 0;
        for (long i = 0; i < calls; i++)
        {
            sum += walker.translate(cr3, PageTableFixture.BASE + ((i & 63) << 12));
        }
        return sum;
    }

    private static long dataFrames(final PhysicalMemory memory, final FrameCache cache, final long calls)
    {
        long sum = 0;
        for (long i = 0; i < calls; i++)
        {
            final long pfn = memory.allocateData(cache);
            memory.releaseData(cache, pfn, true);
            sum += pfn;
        }
        return sum;
    }

    private static long tableFrames(final PhysicalMemory memory, final FrameCache cache, final long calls)
    {
        long sum = 0;
        for (long i = 0; i < calls; i++)
        {
            final long pfn = memory.allocateTable(cache, 1);
            memory.freeTable(cache, pfn);
            sum += pfn;
        }
        return sum;
    }

    private static long populateUnmap(final PageTableFixture tables, final int rounds)
    {
        final long start = PageTableFixture.BASE;
        long pages = 0;
        for (int i = 0; i < rounds; i++)
        {
            if (tables.populate(start, start + RANGE) != PageTableEditor.OK ||
                tables.unmap(start, start + RANGE) != PageTableEditor.OK)
            {
                throw new IllegalStateException("populate or unmap failed");
            }
            pages += tables.done();
        }
        return pages;
    }
}
