package io.mmemu.vm;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.pgtable.SwapEntry;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reverse map of anonymous pages ({@link Rmap}): reclaim unmaps a page fork shares from every
 * process at once (one swap slot, its count the number of entries), harvesting A bits across all
 * mappings first; each process reads its data back; racing fork, COW, munmap and exit loses
 * nothing and leaks nothing. Both locking modes.
 */
class RmapTest
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
            final long va = start + i * PAGE + (i % 64) * 8;
            assertEquals(Signal.NONE, cpu.writeLong(va, pattern(va)));
        }
    }

    private static void verify(final Cpu cpu, final long start, final long pages)
    {
        for (long i = 0; i < pages; i++)
        {
            final long va = start + i * PAGE + (i % 64) * 8;
            assertEquals(Signal.NONE, cpu.readLong(va));
            assertEquals(pattern(va), cpu.value(), () -> String.format("value at 0x%x", va));
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
    void aPageThreeProcessesShareIsSwappedOutOfAllAndEachReadsItBack(final LockingMode locking)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20).attachSwap(SwapArea.inMemory(16L << 20)))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace parent = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final Cpu p = parent.attachCpu();
            final long pages = 48;
            assertEquals(BASE, p.mmap(BASE, pages * PAGE, RW, ANON, -1, 0));
            write(p, BASE, pages);
            final AddressSpace first = p.fork();
            final AddressSpace second = p.fork();
            final Cpu c1 = first.attachCpu();
            final Cpu c2 = second.attachCpu();
            final long shared = memory.framesInUse();
            assertEquals(3, memory.mapcount(PageTableEntry.pfn(entryAt(first, BASE))), "three entries map the page");
            // the reclaim's shootdowns wait for online CPUs: these threads are outside the emulator now
            p.offline();
            c1.offline();
            c2.offline();
            final Reclaimer reclaimer = machine.reclaimer();
            final long taken = reclaimer.reclaim(pages);
            assertEquals(pages, taken, "every shared page taken (the first pass only clears A bits)");
            assertEquals(pages, reclaimer.sharedStolen());
            assertEquals(pages, memory.swap().swapOuts(), "one write per page, not one per process");
            assertEquals(shared - pages, memory.framesInUse(), "the pages went back to the allocator");
            for (long i = 0; i < pages; i++)
            {
                final long va = BASE + i * PAGE;
                final long e = entryAt(parent, va);
                assertTrue(SwapEntry.isSwap(e), "swapped in the parent");
                assertEquals(e & ~SwapEntry.SOFT_DIRTY, entryAt(first, va) & ~SwapEntry.SOFT_DIRTY, "the same slot");
                assertEquals(e & ~SwapEntry.SOFT_DIRTY, entryAt(second, va) & ~SwapEntry.SOFT_DIRTY, "the same slot");
                assertEquals(3, memory.swap().count(SwapEntry.offset(e)), "the slot's count is the mapcount");
            }
            AddressSpace.checkAll(true, parent, first, second).assertOk();
            // each process reads its own copy back; a write in one is not seen by the others
            verify(c1, BASE, pages);
            assertEquals(Signal.NONE, c1.writeLong(BASE, 42));
            verify(p, BASE, pages);
            verify(c2, BASE, pages);
            assertEquals(Signal.NONE, c1.readLong(BASE));
            assertEquals(42, c1.value());
            assertEquals(memory.swap().totalPages(), memory.swap().freePages(), "every slot freed by its last swap-in");
            AddressSpace.checkAll(true, parent, first, second).assertOk();
            final AnonVma family = parent.tree().find(BASE).anonVma();
            assertEquals(3, family.members().length, "the parent and its two children");
            c1.close();
            c2.close();
            p.close();
            first.close();
            second.close();
            assertEquals(1, family.members().length, "children leave the family at exit");
            assertEquals(parent, family.members()[0]);
            parent.close();
            assertEquals(0, family.members().length);
            machine.reclaimer().close();
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }

    /**
     * A parent's workers write, fork children that check their snapshot, write (COW), munmap and
     * exit, while another thread reclaims over and over through the rmap: no stale or lost value,
     * swap counts and mapcounts right, no frame or slot leaked.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void forkCowMunmapAndExitRacingRmapReclaimLoseNothing(final LockingMode locking) throws InterruptedException
    {
        final int workers = 2;
        final long regionPages = 192;
        final long region = regionPages * PAGE;
        try (PhysicalMemory memory = PhysicalMemory.create(8L << 20).attachSwap(SwapArea.inMemory(32L << 20)))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace parent = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final AtomicBoolean done = new AtomicBoolean();
            final int[] finished = new int[1];
            CpuThreads.run(parent, workers + 1, (index, cpu) ->
            {
                if (index == workers)
                {
                    cpu.offline();
                    while (!done.get())
                    {
                        machine.reclaimer().reclaim(64);
                    }
                    return;
                }
                try
                {
                    final SplittableRandom random = new SplittableRandom(index * 31L + locking.ordinal());
                    final long base = BASE + index * region;
                    final long[] expected = new long[(int)regionPages];
                    assertEquals(base, cpu.mmap(base, region, RW, ANON, -1, 0));
                    for (int round = 0; round < 20; round++)
                    {
                        for (int i = 0; i < regionPages; i++)
                        {
                            final long va = base + i * PAGE + (i % 64) * 8;
                            assertEquals(Signal.NONE, cpu.readLong(va));
                            assertEquals(expected[i], cpu.value(), () -> String.format("parent: stale or lost at 0x%x", va));
                            if (random.nextInt(3) == 0)
                            {
                                final long value = (long)index << 56 | (long)round << 32 | i | 1;
                                assertEquals(Signal.NONE, cpu.writeLong(va, value));
                                expected[i] = value;
                            }
                        }
                        final AddressSpace child = cpu.fork();
                        // this thread leaves the parent while it runs the child (one CPU online per thread)
                        cpu.offline();
                        final Cpu c = child.attachCpu();
                        final long[] seen = expected.clone();
                        final int cut = random.nextInt((int)regionPages - 16);
                        for (int pass = 0; pass < 2; pass++)
                        {
                            for (int i = 0; i < regionPages; i++)
                            {
                                if (i >= cut && i < cut + 16 && pass == 1)
                                {
                                    continue;
                                }
                                final long va = base + i * PAGE + (i % 64) * 8;
                                assertEquals(Signal.NONE, c.readLong(va));
                                assertEquals(seen[i], c.value(), () -> String.format("child: stale or lost at 0x%x", va));
                                if (pass == 0 && random.nextInt(4) == 0)
                                {
                                    assertEquals(Signal.NONE, c.writeLong(va, ~seen[i]));
                                    seen[i] = ~seen[i];
                                }
                            }
                            if (pass == 0)
                            {
                                assertEquals(0, c.munmap(base + cut * PAGE, 16 * PAGE));
                            }
                        }
                        c.close();
                        child.close();
                    }
                    assertEquals(0, cpu.munmap(base, region));
                }
                finally
                {
                    synchronized (finished)
                    {
                        if (++finished[0] == workers)
                        {
                            done.set(true);
                        }
                    }
                }
            });
            final Cpu cpu = parent.attachCpu();
            cpu.offline();
            machine.reclaimer().awaitKswapdIdle();
            // how much the reclaimer took depends on the interleaving: the values and the invariants are the test
            parent.check(true).assertOk();
            assertEquals(memory.swap().totalPages(), memory.swap().freePages(), "no slot leaked");
            cpu.close();
            parent.close();
            machine.reclaimer().close();
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }

    /**
     * Four processes (a parent and three children forked after it wrote) run at once, each reading
     * its own view, writing (COW), replacing ranges (MAP_FIXED) and, for the children, exiting,
     * while a reclaimer unmaps the pages they share through the rmap: each process always reads what
     * it last wrote, or the value at fork; counts right and nothing leaked after.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void fourProcessesSharingPagesReadTheirOwnValuesWhileTheRmapReclaims(final LockingMode locking)
        throws InterruptedException
    {
        final int children = 3;
        final long pages = 256;
        try (PhysicalMemory memory = PhysicalMemory.create(8L << 20).attachSwap(SwapArea.inMemory(32L << 20)))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace parent = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final AddressSpace[] spaces = new AddressSpace[children + 1];
            spaces[0] = parent;
            try (Cpu p = parent.attachCpu())
            {
                assertEquals(BASE, p.mmap(BASE, pages * PAGE, RW, ANON, -1, 0));
                write(p, BASE, pages);
                for (int c = 1; c <= children; c++)
                {
                    spaces[c] = p.fork();
                }
                p.offline();
            }
            final AtomicBoolean done = new AtomicBoolean();
            final int[] finished = new int[1];
            CpuThreads.run(parent, children + 2, (index, own) ->
            {
                if (index == children + 1)
                {
                    while (!done.get())
                    {
                        machine.reclaimer().reclaim(64);
                    }
                    return;
                }
                final AddressSpace mm = spaces[index];
                final Cpu cpu = index == 0 ? own : mm.attachCpu();
                try
                {
                    final SplittableRandom random = new SplittableRandom(index * 131L + locking.ordinal());
                    final long[] expected = new long[(int)pages];
                    for (int i = 0; i < pages; i++)
                    {
                        expected[i] = pattern(BASE + i * PAGE + (i % 64) * 8);
                    }
                    for (int round = 0; round < 16; round++)
                    {
                        for (int i = 0; i < pages; i++)
                        {
                            final long va = BASE + i * PAGE + (i % 64) * 8;
                            assertEquals(Signal.NONE, cpu.readLong(va));
                            assertEquals(expected[i], cpu.value(),
                                () -> String.format("process %d: stale or lost at 0x%x", index, va));
                            if (random.nextInt(8) == 0)
                            {
                                final long value = (long)index << 56 | (long)round << 32 | i | 1;
                                assertEquals(Signal.NONE, cpu.writeLong(va, value));
                                expected[i] = value;
                            }
                        }
                        final int from = random.nextInt((int)pages - 8);
                        assertEquals(BASE + from * PAGE, cpu.mmap(BASE + from * PAGE, 8 * PAGE, RW, ANON, -1, 0));
                        for (int i = from; i < from + 8; i++)
                        {
                            expected[i] = 0;
                        }
                    }
                }
                finally
                {
                    if (index != 0)
                    {
                        // a child exits while the others and the reclaimer run
                        cpu.close();
                        mm.close();
                    }
                    synchronized (finished)
                    {
                        if (++finished[0] == children + 1)
                        {
                            done.set(true);
                        }
                    }
                }
            });
            final Cpu cpu = parent.attachCpu();
            cpu.offline();
            machine.reclaimer().awaitKswapdIdle();
            parent.check(true).assertOk();
            assertEquals(0, cpu.munmap(BASE, pages * PAGE));
            assertEquals(memory.swap().totalPages(), memory.swap().freePages(), "no slot leaked");
            cpu.close();
            parent.close();
            machine.reclaimer().close();
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }

    /**
     * Memory runs out while the only reclaimable pages are ones fork shares (the rest is locked):
     * faults reclaim them (direct reclaim through the faulting process's own rmap walk, and
     * kswapd), no process is killed, and parent and child read every value back.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void pressureWithOnlySharedPagesReclaimableGoesThroughTheRmap(final LockingMode locking) throws InterruptedException
    {
        final long ram = 8L << 20;
        try (PhysicalMemory memory = PhysicalMemory.create(ram).attachSwap(SwapArea.inMemory(4 * ram)))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace parent = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final Cpu p = parent.attachCpu();
            final long shared = ram / 2 / PAGE;
            assertEquals(BASE, p.mmap(BASE, shared * PAGE, RW, ANON, -1, 0));
            write(p, BASE, shared);
            final AddressSpace child = p.fork();
            p.offline();
            final Cpu c = child.attachCpu();
            // locked memory for more than what is left: only the shared pages can make room
            final long locked = ram / 2 / PAGE;
            final long lockedBase = BASE + (1L << 30);
            assertEquals(lockedBase, c.mmap(lockedBase, locked * PAGE, RW, ANON | MAP_LOCKED, -1, 0));
            for (long i = 0; i < locked; i++)
            {
                assertEquals(Signal.NONE, c.writeLong(lockedBase + i * PAGE, i + 1));
            }
            final Reclaimer reclaimer = machine.reclaimer();
            assertEquals(0, machine.oomKiller().kills(), "no process killed");
            assertTrue(reclaimer.sharedStolen() > 0, "shared pages reclaimed: " + reclaimer.sharedStolen());
            verify(c, BASE, shared);
            c.offline();
            verify(p, BASE, shared);
            p.offline();
            reclaimer.awaitKswapdIdle();
            AddressSpace.checkAll(true, parent, child).assertOk();
            c.close();
            child.close();
            assertEquals(0, p.munmap(BASE, shared * PAGE));
            p.close();
            parent.close();
            reclaimer.close();
            assertEquals(memory.swap().totalPages(), memory.swap().freePages(), "no slot leaked");
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }
}
