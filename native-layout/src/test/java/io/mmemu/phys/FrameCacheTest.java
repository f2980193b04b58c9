package io.mmemu.phys;

import java.util.ArrayDeque;
import java.util.Deque;

import org.junit.jupiter.api.Test;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The per-thread stock moves frames to and from the shared allocators in batches of
 * {@link FrameCache#BATCH}, keeping at most {@link FrameCache#HIGH}; accounting sees through it.
 */
final class FrameCacheTest
{
    @Test
    void refillsAndSpillsInBatches()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20))
        {
            final BuddyAllocator buddy = memory.buddy();
            final FrameCache cache = memory.newCache();
            final long initial = buddy.freeFrames();
            final Deque<Long> taken = new ArrayDeque<>();

            taken.push(memory.allocateData(cache));
            assertEquals(initial - FrameCache.BATCH, buddy.freeFrames(), "one batch taken for one frame");
            assertEquals(FrameCache.BATCH - 1, cache.heldFrames());
            for (int i = 1; i < FrameCache.BATCH; i++)
            {
                taken.push(memory.allocateData(cache));
            }
            assertEquals(0, cache.heldFrames());
            assertEquals(initial - FrameCache.BATCH, buddy.freeFrames(), "served from the stock");
            taken.push(memory.allocateData(cache));
            assertEquals(initial - 2L * FrameCache.BATCH, buddy.freeFrames(), "second batch when the stock ran dry");
            while (taken.size() < 5 * FrameCache.BATCH)
            {
                taken.push(memory.allocateData(cache));
            }
            assertEquals(0, cache.heldFrames());
            final long afterAllocation = buddy.freeFrames();
            assertEquals(1 + 5L * FrameCache.BATCH, memory.framesInUse());

            // frees stay in the stock up to HIGH; one more spills a batch to the reserve (16 MiB: room for 64)
            for (int i = 0; i < FrameCache.HIGH; i++)
            {
                release(memory, cache, taken.pop());
            }
            assertEquals(FrameCache.HIGH, cache.heldFrames());
            assertEquals(afterAllocation, buddy.freeFrames());
            release(memory, cache, taken.pop());
            assertEquals(FrameCache.HIGH + 1, cache.heldFrames(), "the spilled batch stays in the thread's reserve");
            assertEquals(FrameCache.BATCH, cache.reservedFrames());
            assertEquals(afterAllocation, buddy.freeFrames());
            assertEquals(1 + taken.size(), memory.framesInUse(), "frames in a stock are not in use");
            // the reserve is full: the next spill goes back to the buddy allocator
            for (int i = 0; i < FrameCache.BATCH; i++)
            {
                release(memory, cache, taken.pop());
            }
            assertEquals(FrameCache.HIGH + 1, cache.heldFrames());
            assertEquals(afterAllocation + FrameCache.BATCH, buddy.freeFrames());

            while (!taken.isEmpty())
            {
                release(memory, cache, taken.pop());
            }
            cache.drain();
            assertEquals(0, cache.heldFrames());
            assertEquals(initial, buddy.freeFrames());
            assertEquals(1, memory.framesInUse());
        }
    }

    /**
     * A batch free (free_unref_folios' way, PhysicalMemory's release_pages) leaves the stock, the
     * reserve and the buddy allocator as the same frees one by one would: the same counts, and the
     * same frames handed out again in the same order.
     */
    @Test
    void aBatchOfFreesSpillsWhereFreesOneByOneWould()
    {
        for (final int n : new int[] {1, FrameCache.HIGH, FrameCache.HIGH + 1, FrameCache.HIGH + FrameCache.BATCH + 5, 3 * FrameCache.HIGH + 2})
        {
            final long[] oneByOne = freeThenReallocate(n, false);
            final long[] batched = freeThenReallocate(n, true);
            assertArrayEquals(oneByOne, batched, n + " frees");
        }
    }

    /** Takes n frames, frees them (as a batch or one by one), then reports the counts and the next n frames handed out. */
    private static long[] freeThenReallocate(final int n, final boolean batch)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20))
        {
            final FrameCache cache = memory.newCache();
            final long[] pfns = new long[n];
            for (int i = 0; i < n; i++)
            {
                pfns[i] = memory.allocateData(cache);
                assertNotEquals(NO_FRAME, pfns[i]);
            }
            if (batch)
            {
                cache.freeReal(pfns.clone(), n);
            }
            else
            {
                for (final long pfn : pfns)
                {
                    cache.freeReal(pfn);
                }
            }
            final long[] state = new long[3 + n];
            state[0] = cache.heldFrames();
            state[1] = cache.reservedFrames();
            state[2] = memory.buddy().freeFrames();
            for (int i = 0; i < n; i++)
            {
                state[3 + i] = memory.allocateData(cache);
            }
            return state;
        }
    }

    @Test
    void refillsTakeWhole2MiBBlocksWhenTheReserveHasRoom()
    {
        // 256 MiB: reserves of up to 1,024 frames, room for a 512-frame block
        try (PhysicalMemory memory = PhysicalMemory.create(256L << 20))
        {
            final BuddyAllocator buddy = memory.buddy();
            final FrameCache a = memory.newCache();
            final FrameCache b = memory.newCache();
            final long initial = buddy.freeFrames();
            final long[] fromA = new long[600];
            final long[] fromB = new long[600];
            // interleaved, as two CPUs faulting at once
            for (int i = 0; i < fromA.length; i++)
            {
                fromA[i] = memory.allocateData(a);
                fromB[i] = memory.allocateData(b);
            }
            assertEquals(initial - 4L * 512, buddy.freeFrames(), "two blocks of 512 each, nothing more");
            assertEquals(2L * 512 - fromA.length, a.heldFrames());
            for (final long[] frames : new long[][] {fromA, fromB})
            {
                for (int i = 1; i < 512; i++)
                {
                    assertEquals(frames[0] + i, frames[i], "one aligned block, handed out in ascending order");
                }
                assertEquals(0, frames[0] & 511);
                assertEquals(0, frames[512] & 511, "the next refill takes the next whole block");
            }
            for (int i = 0; i < fromA.length; i++)
            {
                assertNotEquals(fromA[i] >> 9, fromB[i] >> 9, "no 2 MiB block holds both CPUs' frames");
            }
            for (int i = 0; i < fromA.length; i++)
            {
                release(memory, a, fromA[i]);
                release(memory, b, fromB[i]);
            }
            memory.retireCache(a);
            memory.retireCache(b);
            assertEquals(initial, buddy.freeFrames());
            assertEquals(1, memory.framesInUse());
        }
    }

    @Test
    void twoCachesShareTheLastFrames()
    {
        // 16 frames, 14 free: the first cache's refill takes them all, the second finds none
        try (PhysicalMemory memory = PhysicalMemory.create(16 * PhysicalMemory.PAGE_SIZE))
        {
            final FrameCache a = memory.newCache();
            final FrameCache b = memory.newCache();
            final long pfn = memory.allocateData(a);
            assertNotEquals(NO_FRAME, pfn);
            assertEquals(13, a.heldFrames());
            assertEquals(NO_FRAME, memory.allocateData(b), "frames held by another CPU's stock are not reclaimed");
            assertEquals(2, memory.framesInUse());
            memory.retireCache(a);
            assertNotEquals(NO_FRAME, memory.allocateData(b));
        }
    }

    @Test
    void anAllocatorRunningDryDrainsTheOtherCachesReserves()
    {
        // 16 MiB: 4,095 free frames, reserves of up to 64
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20))
        {
            final FrameCache a = memory.newCache();
            final FrameCache b = memory.newCache();
            final Deque<Long> taken = new ArrayDeque<>();
            for (int i = 0; i < 300; i++)
            {
                taken.push(memory.allocateData(a));
            }
            while (!taken.isEmpty())
            {
                release(memory, a, taken.pop());
            }
            final long reserved = a.reservedFrames();
            assertEquals(FrameCache.BATCH, reserved, "a bulk free parks a batch in the reserve");
            final long free = memory.buddy().freeFrames();

            long got = 0;
            while (memory.allocateData(b) != NO_FRAME)
            {
                got++;
            }
            assertEquals(free + reserved, got, "b got every free frame, the ones in a's reserve too");
            assertEquals(0, a.reservedFrames());
            assertEquals(4094 - got, a.heldFrames(), "only a's first level stays out of reach (4,094 free: the zero page is in use)");
        }
    }

    @Test
    void phantomFramesAreCachedByWholeBitmapWords()
    {
        // 1 MiB of PFN space, 256 KiB backed: 192 phantom frames, three bitmap words
        try (PhysicalMemory memory = PhysicalMemory.create(1L << 20, Backing.TABLES_ONLY, 256 * 1024))
        {
            final PhantomFrames phantom = memory.phantom();
            final FrameCache cache = memory.newCache();
            final long first = memory.allocateData(cache);
            assertEquals(64, phantom.claimed(), "a refill claims one whole word");
            assertEquals(63, cache.heldFrames());
            assertEquals(2, memory.framesInUse());
            release(memory, cache, first);
            cache.drain();
            assertEquals(0, phantom.claimed());
            assertEquals(1, memory.framesInUse());
        }
    }

    private static void release(final PhysicalMemory memory, final FrameCache cache, final long pfn)
    {
        memory.unmapData(pfn);
        memory.releaseData(cache, pfn, false);
    }
}
