package io.mmemu.vm;

import java.util.SplittableRandom;

import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reclaim and swap beside faults, munmap and MAP_FIXED: worker threads each keep a region whose
 * every page holds the last value the thread wrote there (or zero after a MAP_FIXED replacement),
 * checking it before each write, while one thread pages out random ranges of every region
 * (MADV_PAGEOUT, MADV_COLD) and memory is small enough that kswapd and direct reclaim run. A stale
 * or freed page read, or a lost write, fails the check of the next read; at the end the tables are
 * checked (swap counts, no slot or frame leaked). Both locking modes.
 */
class SwapRaceTest
{
    private static final long BASE = 0x100000000000L;
    private static final long PAGE = 4096;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    private static final int WORKERS = 3;
    private static final long REGION_PAGES = 768;
    private static final long REGION = REGION_PAGES * PAGE;
    private static final long RAM = 6L << 20;

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void noStaleReadNoLostWriteNoLeakUnderPageoutAndKswapd(final LockingMode locking) throws InterruptedException
    {
        try (PhysicalMemory memory = PhysicalMemory.create(RAM).attachSwap(SwapArea.inMemory(4 * RAM)))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace mm = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final int rounds = 6;
            final long[][] finals = new long[WORKERS][];
            CpuThreads.run(mm, WORKERS + 1, (index, cpu) ->
            {
                final SplittableRandom random = new SplittableRandom(index * 7919L + locking.ordinal());
                if (index == WORKERS)
                {
                    // the pager: random ranges of every region, out or cold, while the workers run
                    for (int i = 0; i < 400; i++)
                    {
                        final long start = BASE + random.nextLong(WORKERS) * REGION + random.nextLong(REGION_PAGES) * PAGE;
                        final long length = (1 + random.nextLong(64)) * PAGE;
                        final long rc = cpu.madvise(start, length, random.nextInt(4) == 0 ? MADV_COLD : MADV_PAGEOUT);
                        assertTrue(rc == 0 || rc == -Errno.ENOMEM, "madvise " + rc);
                    }
                    return;
                }
                final long base = BASE + index * REGION;
                final long[] expected = new long[(int)REGION_PAGES];
                assertEquals(base, cpu.mmap(base, REGION, RW, ANON, -1, 0));
                for (int round = 0; round < rounds; round++)
                {
                    for (int p = 0; p < REGION_PAGES; p++)
                    {
                        final long va = base + p * PAGE + (p % 64) * 8;
                        assertEquals(Signal.NONE, cpu.readLong(va), "read");
                        assertEquals(expected[p], cpu.value(), () -> String.format("stale or lost at 0x%x", va));
                        final long value = (long)index << 56 | (long)round << 32 | p | 1;
                        assertEquals(Signal.NONE, cpu.writeLong(va, value), "write");
                        expected[p] = value;
                    }
                    // MAP_FIXED over a random part of the region: those pages read zero again
                    final int from = random.nextInt((int)REGION_PAGES - 32);
                    final int pages = 1 + random.nextInt(32);
                    assertEquals(base + from * PAGE, cpu.mmap(base + from * PAGE, pages * PAGE, RW, ANON, -1, 0));
                    for (int p = from; p < from + pages; p++)
                    {
                        expected[p] = 0;
                    }
                }
                finals[index] = expected;
            });
            final Cpu cpu = mm.attachCpu();
            cpu.offline();
            machine.reclaimer().awaitKswapdIdle();
            mm.check(true).assertOk();
            // how much went out and came back during the race depends on the interleaving; after
            // it, every page goes out and every value must come back
            assertEquals(0, cpu.madvise(BASE, WORKERS * REGION, MADV_PAGEOUT));
            assertTrue(memory.swap().swapOuts() > 0, "swapped out");
            final long insBefore = memory.swap().swapIns();
            for (int w = 0; w < WORKERS; w++)
            {
                for (int p = 0; p < REGION_PAGES; p++)
                {
                    final long va = BASE + w * REGION + p * PAGE + (p % 64) * 8;
                    assertEquals(Signal.NONE, cpu.readLong(va));
                    assertEquals(finals[w][p], cpu.value(), String.format("value at 0x%x after the race", va));
                }
            }
            assertTrue(memory.swap().swapIns() > insBefore, "swapped back in");
            // the reads pushed memory below the watermarks again: check once kswapd is done
            cpu.offline();
            machine.reclaimer().awaitKswapdIdle();
            mm.check(true).assertOk();
            assertEquals(0, cpu.munmap(BASE, WORKERS * REGION));
            assertEquals(memory.swap().totalPages(), memory.swap().freePages(), "no slot leaked");
            mm.check(true).assertOk();
            cpu.close();
            mm.close();
            machine.reclaimer().close();
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }
}
