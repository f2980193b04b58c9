package io.mmemu.vm;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.FrameFlags;
import io.mmemu.phys.LruFlags;
import io.mmemu.phys.LruLists;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The LRU lists ({@link LruLists}) and reclaim through them ({@link Reclaimer}): pages join the
 * inactive anonymous list when faulted and leave when freed; a huge page is one entry until its leaf
 * splits; referenced pages are activated and the cold ones go first; and under faults, COW, fork,
 * munmap, MAP_FIXED, THP splits and exit racing the reclaimer, every mapped page stays on exactly one
 * list (the invariant {@link AddressSpace#checkAll} checks), values read back, nothing leaks.
 */
class LruTest
{
    private static final long BASE = 0x100000000000L;
    private static final long PAGE = 4096;
    private static final long HUGE = 2L << 20;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

    private static long anonPages(final PhysicalMemory memory)
    {
        // between steps every CPU is idle: what waits in their add batches joins the lists first
        memory.drainAddBatches();
        return memory.lru().size(LruLists.INACTIVE_ANON) + memory.lru().size(LruLists.ACTIVE_ANON);
    }

    @Test
    void faultedPagesJoinTheInactiveAnonListAndLeaveWhenFreed() throws InterruptedException
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace mm = AddressSpace.create(LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, 100 * PAGE, RW, ANON, -1, 0));
                for (int i = 0; i < 100; i++)
                {
                    assertEquals(Signal.NONE, cpu.writeLong(BASE + i * PAGE, i + 1));
                }
                // reads of untouched memory map the zero page, which belongs to no list
                assertEquals(BASE + 100 * PAGE, cpu.mmap(BASE + 100 * PAGE, 10 * PAGE, RW, ANON, -1, 0));
                for (int i = 100; i < 110; i++)
                {
                    assertEquals(Signal.NONE, cpu.readLong(BASE + i * PAGE));
                }
                // the faults' pages wait in the CPU's add batch (folio_batch) until it fills or drains
                assertTrue(memory.lru().size(LruLists.INACTIVE_ANON) < 100);
                memory.drainAddBatches();
                assertEquals(100, memory.lru().size(LruLists.INACTIVE_ANON));
                assertEquals(0, memory.lru().size(LruLists.ACTIVE_ANON));
                assertEquals(0, memory.lru().size(LruLists.INACTIVE_FILE) + memory.lru().size(LruLists.ACTIVE_FILE));
                mm.check(true).assertOk();
                // the zero page's copy on write brings a page of its own
                assertEquals(Signal.NONE, cpu.writeLong(BASE + 100 * PAGE, 7));
                assertEquals(101, anonPages(memory));
                // fork shares the pages: still one entry each; a COW copy is one more
                final AddressSpace child = cpu.fork();
                try (Cpu c = child.attachCpu())
                {
                    cpu.offline();
                    assertEquals(101, anonPages(memory));
                    assertEquals(Signal.NONE, c.writeLong(BASE, 99));
                    assertEquals(102, anonPages(memory));
                    AddressSpace.checkAll(true, mm, child).assertOk();
                }
                child.close();
                assertEquals(101, anonPages(memory));
                assertEquals(0, cpu.munmap(BASE, 50 * PAGE));
                assertEquals(51, anonPages(memory));
                mm.check(true).assertOk();
            }
            mm.close();
            assertEquals(0, anonPages(memory), "exit freed every page, off the lists");
            machine.reclaimer().close();
        }
    }

    @Test
    void aHugePageIsOneEntryOfItsPagesUntilItsLeafSplits()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace mm = AddressSpace.create(LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine)
                .thp(ThpMode.ALWAYS);
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, HUGE, RW, ANON, -1, 0));
                assertEquals(Signal.NONE, cpu.writeLong(BASE, 1));
                assertEquals(1, mm.stats().thpFaultAlloc(), "a huge page was faulted");
                assertEquals(512, anonPages(memory));
                final PageWalker walker = new PageWalker(memory, null);
                assertEquals(PageWalker.WALK_LARGE, walker.walk(mm.cr3(), BASE));
                final long head = PageTableEntry.leafAddress(walker.entry(), walker.level()) >>> 12;
                assertTrue((memory.lruFlags(head) & LruFlags.LARGE_FOLIO) != 0);
                assertEquals(0, memory.lruFlags(head + 1) & LruFlags.LRU, "a tail is no entry of its own");
                mm.check(true).assertOk();
                // mprotect of one page splits the leaf: 512 entries of one page, the count unchanged
                assertEquals(0, cpu.mprotect(BASE + PAGE, PAGE, PROT_READ));
                assertEquals(0, memory.lruFlags(head) & LruFlags.LARGE_FOLIO);
                assertTrue((memory.lruFlags(head + 1) & LruFlags.LRU) != 0);
                assertEquals(512, anonPages(memory));
                mm.check(true).assertOk();
                assertEquals(0, cpu.munmap(BASE, HUGE / 2));
                assertEquals(256, anonPages(memory));
                mm.check(true).assertOk();
            }
            mm.close();
            assertEquals(0, anonPages(memory));
            machine.reclaimer().close();
        }
    }

    /**
     * folio_referenced through the rmap: cold pages, faulted first, and hot pages touched again
     * after the first reclaim cleared their A bits. The reclaim activates everything it finds
     * referenced, deactivates the oldest active pages, and swaps out only those left unreferenced:
     * every cold page goes, no hot one does.
     */
    @Test
    void referencedPagesAreActivatedAndTheColdOnesGoFirst() throws InterruptedException
    {
        final long pages = 64;
        final long cold = BASE;
        final long hot = BASE + pages * PAGE;
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20).attachSwap(SwapArea.inMemory(8L << 20)))
        {
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final Reclaimer reclaimer = machine.reclaimer();
            final AddressSpace mm = AddressSpace.create(LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, 2 * pages * PAGE, RW, ANON, -1, 0));
                for (long i = 0; i < 2 * pages; i++)
                {
                    assertEquals(Signal.NONE, cpu.writeLong(BASE + i * PAGE, i + 1));
                }
                cpu.offline();
                // every page was referenced: activated as met, the oldest deactivated while the inactive
                // list is the shorter (inactive_is_low), and the first batch of them found unreferenced
                // taken; the cold half's rest is inactive by then, the hot half active
                assertEquals(Reclaimer.SWAP_CLUSTER_MAX, reclaimer.reclaim(1));
                assertEquals(pages, memory.lru().size(LruLists.ACTIVE_ANON));
                assertEquals(pages - Reclaimer.SWAP_CLUSTER_MAX, memory.lru().size(LruLists.INACTIVE_ANON));
                touch(cpu, hot, pages);
                cpu.offline();
                assertEquals(Reclaimer.SWAP_CLUSTER_MAX, reclaimer.reclaim(Reclaimer.SWAP_CLUSTER_MAX));
                assertEquals(pages, memory.swap().swapOuts());
                final long before = reclaimer.majorFaults();
                touch(cpu, hot, pages);
                assertEquals(before, reclaimer.majorFaults(), "no hot page was swapped out");
                for (long i = 0; i < pages; i++)
                {
                    assertEquals(Signal.NONE, cpu.readLong(cold + i * PAGE));
                    assertEquals(i + 1, cpu.value());
                }
                assertEquals(before + pages, reclaimer.majorFaults(), "every cold page was");
                cpu.offline();
                mm.check(true).assertOk();
            }
            mm.close();
            reclaimer.close();
        }
    }

    private static void touch(final Cpu cpu, final long start, final long pages)
    {
        for (long i = 0; i < pages; i++)
        {
            assertEquals(Signal.NONE, cpu.readLong(start + i * PAGE));
        }
    }

    /**
     * Workers write regions that start as huge pages, fork children that check their snapshot,
     * write (COW, splitting shared huge leaves), munmap parts and exit, while the parent replaces
     * ranges (MAP_FIXED), splits leaves (mprotect) and a reclaimer runs through the LRU over and
     * over on a machine smaller than what is mapped: no stale or lost value; after, the LRU
     * invariant, swap counts and mapcounts hold, and no frame or slot leaked.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void everyMappedPageStaysOnOneListUnderRacingFaultsForkExitAndReclaim(final LockingMode locking)
        throws InterruptedException
    {
        final int workers = 2;
        final long regionPages = 1024;
        final long region = regionPages * PAGE;
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20).attachSwap(SwapArea.inMemory(48L << 20)))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace parent = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine)
                .thp(ThpMode.ALWAYS);
            final AtomicBoolean done = new AtomicBoolean();
            final int[] finished = new int[1];
            CpuThreads.run(parent, workers + 1, (index, cpu) ->
            {
                if (index == workers)
                {
                    cpu.offline();
                    // until the workers are done; on a loaded machine they may finish before this thread
                    // ran much, so it goes on (a bounded number of passes, over the half the workers left
                    // mapped) until it has swapped something out
                    int after = 0;
                    while (!done.get() || (memory.swap().swapOuts() == 0 && after++ < 10_000))
                    {
                        machine.reclaimer().reclaim(96);
                    }
                    return;
                }
                try
                {
                    final SplittableRandom random = new SplittableRandom(index * 131L + locking.ordinal());
                    final long base = BASE + index * region;
                    final long[] expected = new long[(int)regionPages];
                    assertEquals(base, cpu.mmap(base, region, RW, ANON, -1, 0));
                    for (int round = 0; round < 8; round++)
                    {
                        for (int i = 0; i < regionPages; i++)
                        {
                            final long va = base + i * PAGE + (i % 64) * 8;
                            assertEquals(Signal.NONE, cpu.readLong(va));
                            assertEquals(expected[i], cpu.value(), () -> String.format("parent: stale or lost at 0x%x", va));
                            if (random.nextInt(2) == 0)
                            {
                                final long value = (long)index << 56 | (long)round << 32 | i | 1;
                                assertEquals(Signal.NONE, cpu.writeLong(va, value));
                                expected[i] = value;
                            }
                        }
                        final AddressSpace child = cpu.fork();
                        cpu.offline();
                        final long[] seen = expected.clone();
                        try (Cpu c = child.attachCpu())
                        {
                            final int cut = random.nextInt((int)regionPages - 64);
                            for (int i = 0; i < regionPages; i += 1 + random.nextInt(3))
                            {
                                final long va = base + i * PAGE + (i % 64) * 8;
                                assertEquals(Signal.NONE, c.readLong(va));
                                assertEquals(seen[i], c.value(), () -> String.format("child: stale or lost at 0x%x", va));
                                if (random.nextInt(3) == 0)
                                {
                                    assertEquals(Signal.NONE, c.writeLong(va, ~seen[i]));
                                }
                            }
                            assertEquals(0, c.munmap(base + cut * PAGE, 64 * PAGE));
                        }
                        child.close();
                        // MAP_FIXED over a random part (zero again), and an mprotect that splits a leaf
                        final int from = random.nextInt((int)regionPages - 32);
                        final int n = 1 + random.nextInt(32);
                        assertEquals(base + from * PAGE, cpu.mmap(base + from * PAGE, n * PAGE, RW, ANON, -1, 0));
                        for (int i = from; i < from + n; i++)
                        {
                            expected[i] = 0;
                        }
                        final long split = base + random.nextInt((int)regionPages) * PAGE;
                        assertEquals(0, cpu.mprotect(split, PAGE, PROT_READ));
                        assertEquals(0, cpu.mprotect(split, PAGE, RW));
                    }
                    assertEquals(0, cpu.munmap(base, region / 2));
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
            assertTrue(memory.swap().swapOuts() > 0, "the reclaimer swapped pages out");
            parent.check(true).assertOk();
            assertEquals(0, cpu.munmap(BASE, workers * region));
            assertEquals(0, anonPages(memory), "every page off the lists");
            assertEquals(memory.swap().totalPages(), memory.swap().freePages(), "no slot leaked");
            parent.check(true).assertOk();
            cpu.close();
            parent.close();
            machine.reclaimer().close();
            assertEquals(idle, memory.framesInUse() - memory.hugeZeroPageFrames(), "no frame leaked");
        }
    }
}
