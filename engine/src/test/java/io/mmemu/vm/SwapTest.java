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

    /** The value at {@code va}: a function of its offset in a 1 GiB window, so that mremap by 1 GiB keeps it. */
    private static long pattern(final long va)
    {
        return (va & ((1L << 30) - 1)) * 0x9E3779B97F4A7C15L ^ 0x5DEECE66DL;
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

    /**
     * MADV_FREE leaves swap entries and their slots alone, so a swapped-out page reads its old
     * contents (Linux drops the entry and reads zero; madvise(2) allows both, and keeping them is
     * what keeps reclaim invisible to the linearizability checker: see docs/reclaim.md).
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void madvFreeKeepsSwappedOutContents(final LockingMode locking)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20).attachSwap(SwapArea.inMemory(16L << 20)))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace mm = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final Cpu cpu = mm.attachCpu();
            final long pages = 16;
            assertEquals(BASE, cpu.mmap(BASE, pages * PAGE, RW, ANON, -1, 0));
            write(cpu, BASE, pages);
            assertEquals(0, cpu.madvise(BASE, pages / 2 * PAGE, MADV_PAGEOUT));
            assertEquals(0, cpu.madvise(BASE, pages * PAGE, MADV_FREE));
            assertEquals(pages / 2, memory.swap().totalPages() - memory.swap().freePages(), "the slots are kept");
            for (long i = 0; i < pages / 2; i++)
            {
                assertTrue(swapped(mm, BASE + i * PAGE));
            }
            mm.check(true).assertOk();
            verify(cpu, BASE, pages);
            assertEquals(pages / 2, memory.swap().swapIns());
            assertEquals(0, cpu.munmap(BASE, pages * PAGE));
            assertEquals(memory.swap().totalPages(), memory.swap().freePages());
            cpu.close();
            mm.close();
            assertEquals(idle, memory.framesInUse());
        }
    }

    private static int freeSlots(final PhysicalMemory memory)
    {
        return (int)memory.swap().freePages();
    }

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void forkDuplicatesSwapEntriesAndEachSideReadsItsOwnCopy(final LockingMode locking)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20).attachSwap(SwapArea.inMemory(16L << 20)))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace parent = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final Cpu p = parent.attachCpu();
            final long pages = 32;
            assertEquals(BASE, p.mmap(BASE, pages * PAGE, RW, ANON, -1, 0));
            write(p, BASE, pages);
            assertEquals(0, p.madvise(BASE, pages * PAGE, MADV_PAGEOUT));
            final AddressSpace child = p.fork();
            final Cpu c = child.attachCpu();
            assertTrue(swapped(child, BASE) && swapped(parent, BASE), "fork copied the swap entries");
            assertEquals(2, memory.swap().count(io.mmemu.pgtable.SwapEntry.offset(entryAt(child, BASE))));
            AddressSpace.checkAll(true, parent, child).assertOk();
            // the child writes its half: the parent still reads the pattern there
            assertEquals(Signal.NONE, c.writeLong(BASE, 42));
            verify(p, BASE, pages);
            assertEquals(Signal.NONE, c.readLong(BASE));
            assertEquals(42, c.value());
            verify(c, BASE + PAGE, pages - 1);
            assertEquals(memory.swap().totalPages(), freeSlots(memory), "both sides read every slot in: all free");
            AddressSpace.checkAll(true, parent, child).assertOk();
            // out again in the parent, then the child exits, then the parent unmaps
            assertEquals(0, p.madvise(BASE, pages * PAGE, MADV_PAGEOUT));
            c.close();
            child.close();
            parent.check(true).assertOk();
            verify(p, BASE, pages / 2);
            assertEquals(0, p.munmap(BASE, pages * PAGE));
            assertEquals(memory.swap().totalPages(), freeSlots(memory));
            p.close();
            parent.close();
            assertEquals(idle, memory.framesInUse());
        }
    }

    private static long entryAt(final AddressSpace mm, final long va)
    {
        final PageWalker walker = new PageWalker(mm.memory(), null);
        assertEquals(PageWalker.WALK_PTE, walker.walk(mm.cr3(), va));
        return walker.entry();
    }

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void mremapMovesSwapEntriesAndMprotectKeepsThem(final LockingMode locking)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20).attachSwap(SwapArea.inMemory(16L << 20)))
        {
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace mm = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final Cpu cpu = mm.attachCpu();
            final long pages = 600;
            assertEquals(BASE, cpu.mmap(BASE, pages * PAGE, RW, ANON, -1, 0));
            write(cpu, BASE, pages);
            assertEquals(0, cpu.madvise(BASE, pages * PAGE, MADV_PAGEOUT));
            final long entry = entryAt(mm, BASE + PAGE);
            assertEquals(0, cpu.mprotect(BASE, pages * PAGE, PROT_READ));
            assertEquals(entry, entryAt(mm, BASE + PAGE), "mprotect keeps a swap entry as it is");
            final long to = BASE + (1L << 30);
            assertEquals(to, cpu.mremap(BASE, pages * PAGE, pages * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, to));
            assertEquals(entry, entryAt(mm, to + PAGE), "mremap moves the entry");
            mm.check(true).assertOk();
            assertEquals(Signal.SEGV_ACCERR, cpu.writeLong(to, 1), "read-only after mprotect, swapped or not");
            verify(cpu, to, pages);
            assertEquals(Signal.SEGV_ACCERR, cpu.writeLong(to, 1));
            assertEquals(0, cpu.mprotect(to, pages * PAGE, RW));
            write(cpu, to, 4);
            assertTrue((entryAt(mm, to) & io.mmemu.pgtable.PageTableEntry.ACCESSED) != 0);
            assertEquals(0, cpu.madvise(to, pages * PAGE, MADV_COLD));
            assertEquals(0, entryAt(mm, to) & io.mmemu.pgtable.PageTableEntry.ACCESSED, "MADV_COLD cleared the A bit");
            assertTrue(io.mmemu.pgtable.PageTableEntry.isPresent(entryAt(mm, to)), "and left the page where it was");
            mm.check(true).assertOk();
            assertEquals(0, cpu.munmap(to, pages * PAGE));
            assertEquals(memory.swap().totalPages(), freeSlots(memory));
            mm.check(true).assertOk();
            cpu.close();
            mm.close();
        }
    }

    /**
     * The bar: a process writes patterned data of 4x the machine's memory and reads every
     * value back: kswapd and direct reclaim swap out, faults swap in; nothing leaks.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void fourTimesPhysicalMemoryThroughSwapReadsBackEveryValue(final LockingMode locking) throws InterruptedException
    {
        final long ram = 8L << 20;
        try (PhysicalMemory memory = PhysicalMemory.create(ram).attachSwap(SwapArea.inMemory(6 * ram)))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace mm = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final Cpu cpu = mm.attachCpu();
            final long pages = 4 * ram / PAGE;
            assertEquals(BASE, cpu.mmap(BASE, pages * PAGE, RW, ANON, -1, 0));
            write(cpu, BASE, pages);
            verify(cpu, BASE, pages);
            verify(cpu, BASE, pages);
            final Reclaimer reclaimer = machine.reclaimer();
            assertTrue(memory.swap().swapOuts() >= 3 * pages / 2, "swap-outs " + memory.swap().swapOuts());
            assertTrue(memory.swap().swapIns() >= pages, "swap-ins " + memory.swap().swapIns());
            assertEquals(memory.swap().swapIns(), reclaimer.majorFaults());
            assertTrue(reclaimer.stolen() > 0 && reclaimer.scanned() >= reclaimer.stolen());
            assertEquals(0, machine.oomKiller().kills());
            // waiting outside the emulator: offline first, or kswapd's shootdowns would wait for this CPU
            cpu.offline();
            reclaimer.awaitKswapdIdle();
            assertTrue(reclaimer.kswapdWakeups() > 0, "kswapd woke below the low watermark");
            mm.check(true).assertOk();
            assertEquals(0, cpu.munmap(BASE, pages * PAGE));
            assertEquals(memory.swap().totalPages(), freeSlots(memory), "no slot leaked");
            cpu.close();
            mm.close();
            reclaimer.close();
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }

    /** A swap entry naming no slot of the machine's area (or on a machine without swap) is SIGBUS, never a fault loop. */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void aSwapEntryNamingNoSlotIsSigbusNotALoop(final LockingMode locking)
    {
        for (final boolean withSwap : new boolean[] {true, false})
        {
            final PhysicalMemory memory = PhysicalMemory.create(16L << 20);
            if (withSwap)
            {
                memory.attachSwap(SwapArea.inMemory(1L << 20));
            }
            try (memory)
            {
                final AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION);
                final Cpu cpu = mm.attachCpu();
                assertEquals(BASE, cpu.mmap(BASE, 2 * PAGE, RW, ANON, -1, 0));
                write(cpu, BASE, 2);
                final io.mmemu.phys.FrameCache cache = memory.newCache();
                final PageWalker walker = new PageWalker(memory, cache);
                assertEquals(PageWalker.WALK_PTE, walker.walk(mm.cr3(), BASE + PAGE));
                final long present = walker.entry();
                final long bad = io.mmemu.pgtable.SwapEntry.of(0, 1L << 30);
                assertTrue(PageWalker.casEntry(memory.frames(), walker.slot(), present, bad));
                cpu.offline();
                // a CPU with an empty TLB: the first one may still hold the page this test unmapped by hand
                try (Cpu other = mm.attachCpu())
                {
                    assertEquals(Signal.BUS_ADRERR, other.readLong(BASE + PAGE));
                }
                assertTrue(PageWalker.casEntry(memory.frames(), walker.slot(), bad, present));
                memory.retireCache(cache);
                cpu.close();
                mm.close();
            }
        }
    }

    /** The same swap-out and swap-in with the slots in a sparse host file. */
    @org.junit.jupiter.api.Test
    void aSwapFileHoldsTheSlots(@org.junit.jupiter.api.io.TempDir final java.nio.file.Path dir) throws java.io.IOException
    {
        final java.nio.file.Path file = dir.resolve("swap");
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20).attachSwap(SwapArea.inFile(8L << 20, file)))
        {
            assertEquals(file.toString(), memory.swap().where());
            assertEquals(8L << 20, java.nio.file.Files.size(file));
            final AddressSpace mm = AddressSpace.create(memory, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION);
            final Cpu cpu = mm.attachCpu();
            final long pages = 100;
            assertEquals(BASE, cpu.mmap(BASE, pages * PAGE, RW, ANON, -1, 0));
            write(cpu, BASE, pages);
            assertEquals(0, cpu.madvise(BASE, pages * PAGE, MADV_PAGEOUT));
            assertEquals(pages, memory.swap().swapOuts());
            verify(cpu, BASE, pages);
            mm.check(true).assertOk();
            cpu.close();
            mm.close();
        }
    }
}
