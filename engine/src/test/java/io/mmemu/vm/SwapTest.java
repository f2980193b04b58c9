package io.mmemu.vm;

import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Swap: MADV_PAGEOUT writes private anonymous pages to the swap area and leaves x86-64 swap
 * entries; a fault reads them back (a major fault); every range operation handles a swap entry
 * (munmap frees the slot, mremap moves it, fork duplicates it, mprotect keeps it); memory pressure
 * reclaims (kswapd and direct reclaim) so that a process can use more than the machine's memory;
 * no frame or slot leaks, in both locking modes.
 */
class SwapTest
{
    private static final long BASE = 0x100000000000L;
    private static final long PAGE = 4096;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

    private static long pattern(final long va)
    {
        return va * 0x9E3779B97F4A7C15L ^ 0x5DEECE66DL;
    }

    private static void write(final Cpu cpu, final long start, final long pages)
    {
        for (long i = 0; i < pages; i++)
        {
            for (long off = 0; off < PAGE; off += 1024)
            {
                final long va = start + i * PAGE + off;
                assertEquals(Signal.NONE, cpu.writeLong(va, pattern(va)), "write at 0x" + Long.toHexString(va));
            }
        }
    }

    private static void verify(final Cpu cpu, final long start, final long pages)
    {
        for (long i = 0; i < pages; i++)
        {
            for (long off = 0; off < PAGE; off += 1024)
            {
                final long va = start + i * PAGE + off;
                assertEquals(Signal.NONE, cpu.readLong(va), "read at 0x" + Long.toHexString(va));
                assertEquals(pattern(va), cpu.value(), "value at 0x" + Long.toHexString(va));
            }
        }
    }

    private static boolean swapped(final AddressSpace mm, final long va)
    {
        return (mm.pagemap(va) & Pagemap.SWAPPED) != 0;
    }

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void pageoutSwapsOutAndAFaultSwapsBackIn(final LockingMode locking)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20).attachSwap(SwapArea.inMemory(16L << 20)))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace mm = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final Cpu cpu = mm.attachCpu();
            final long pages = 64;
            assertEquals(BASE, cpu.mmap(BASE, pages * PAGE, RW, ANON, -1, 0));
            write(cpu, BASE, pages);
            final long before = memory.framesInUse();
            assertEquals(0, cpu.madvise(BASE, pages * PAGE, MADV_PAGEOUT));
            assertEquals(pages, memory.swap().swapOuts());
            assertEquals(pages, memory.swap().totalPages() - memory.swap().freePages());
            assertEquals(before - pages, memory.framesInUse(), "the pages went back to the allocator");
            for (long i = 0; i < pages; i++)
            {
                assertTrue(swapped(mm, BASE + i * PAGE));
            }
            mm.check(true).assertOk();
            verify(cpu, BASE, pages);
            assertEquals(pages, memory.swap().swapIns());
            assertEquals(pages, machine.reclaimer().majorFaults());
            assertEquals(memory.swap().totalPages(), memory.swap().freePages(), "every slot freed at swap-in");
            mm.check(true).assertOk();
            // out again, then unmapped while out: the slots are freed
            assertEquals(0, cpu.madvise(BASE, pages * PAGE, MADV_PAGEOUT));
            assertEquals(0, cpu.munmap(BASE, pages * PAGE));
            assertEquals(memory.swap().totalPages(), memory.swap().freePages(), "munmap freed the slots");
            mm.check(true).assertOk();
            cpu.close();
            mm.close();
            assertEquals(idle, memory.framesInUse());
        }
    }
}
