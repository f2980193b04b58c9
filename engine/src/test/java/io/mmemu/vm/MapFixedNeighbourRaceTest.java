package io.mmemu.vm;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Writers on both sides of a MAP_FIXED replacement in flight. In per-VMA mode the replacement is
 * published write-locked, merged with its neighbours into one VMA that the replacing writer's span
 * takes in, and its old pages are zapped without the mmap lock; its lock ends, under the mmap write
 * lock, only with the span (vma_end_write_all at mmap_write_unlock). The writers next to it map
 * and unmap a range that merges with that VMA and splits it again: each must find it either locked
 * and wait for its writer, or unlocked and owned by nobody ({@link RangeLock#lockVma} asserts it;
 * so does the replacing writer's release, which must find nothing it owns locked by another).
 * Afterwards the values read back and the tables check.
 */
class MapFixedNeighbourRaceTest
{
    private static final long BASE = 0x100000000000L;
    private static final long PAGE = 4096;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    private static final long REGION_PAGES = 8;
    private static final long REGION = REGION_PAGES * PAGE;
    private static final long SIDE = 2 * PAGE;
    private static final int REPLACERS = 2;
    private static final int ROUNDS = 4000;

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void neighboursOfAReplacementInFlightNeverChangeItsVma(final LockingMode locking) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION);
            // side 0, region 0, side 1, region 1, side 2: more threads than cores, so that a writer
            // is now and then preempted half-way, with its neighbours running
            final long[][] expected = new long[REPLACERS][(int)REGION_PAGES];
            CpuThreads.run(mm, 2 * REPLACERS + 1, (index, cpu) ->
            {
                if (index < REPLACERS)
                {
                    // a replacing writer: one page of its region at a time, written again after
                    final long region = BASE + SIDE + index * (REGION + SIDE);
                    final long[] values = expected[index];
                    assertEquals(region, cpu.mmap(region, REGION, RW, ANON, -1, 0));
                    for (int round = 0; round < ROUNDS; round++)
                    {
                        final int p = round % (int)REGION_PAGES;
                        final long va = region + p * PAGE;
                        assertEquals(Signal.NONE, cpu.readLong(va));
                        assertEquals(values[p], cpu.value(), "stale or lost");
                        assertEquals(va, cpu.mmap(va, PAGE, RW, ANON, -1, 0));
                        assertEquals(Signal.NONE, cpu.readLong(va));
                        assertEquals(0, cpu.value(), "a replaced page reads zero");
                        final long value = (long)round << 16 | p | 1;
                        assertEquals(Signal.NONE, cpu.writeLong(va, value));
                        values[p] = value;
                    }
                    return;
                }
                // a neighbour: the range below, between or above the regions, mapped (merging),
                // written, unmapped (splitting)
                final long side = BASE + (index - REPLACERS) * (REGION + SIDE);
                for (int round = 0; round < ROUNDS; round++)
                {
                    assertEquals(side, cpu.mmap(side, SIDE, RW, ANON, -1, 0));
                    assertEquals(Signal.NONE, cpu.writeLong(side, round));
                    assertEquals(0, cpu.munmap(side, SIDE));
                }
            });
            try (Cpu cpu = mm.attachCpu())
            {
                for (int r = 0; r < REPLACERS; r++)
                {
                    final long region = BASE + SIDE + r * (REGION + SIDE);
                    for (int p = 0; p < REGION_PAGES; p++)
                    {
                        assertEquals(Signal.NONE, cpu.readLong(region + p * PAGE));
                        assertEquals(expected[r][p], cpu.value());
                    }
                }
                cpu.offline();
                mm.check(true).assertOk();
            }
            mm.close();
        }
    }
}
