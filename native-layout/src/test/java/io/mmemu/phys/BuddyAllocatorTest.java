package io.mmemu.phys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static io.mmemu.phys.BuddyAllocator.MAX_ORDER;
import static io.mmemu.phys.BuddyAllocator.NO_FRAME;
import static io.mmemu.phys.FrameDescriptor.FLAGS;
import static io.mmemu.phys.FrameDescriptor.ORDER;
import static io.mmemu.phys.FrameDescriptor.offset;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Split and coalesce over a small, fresh metadata array. After every step the descriptors are
 * scanned independently of the allocator: free block heads must be aligned, disjoint from each
 * other and from what is allocated, counted per order as the allocator says, and together with the
 * allocated blocks and the untouched tail cover every frame exactly once.
 */
final class BuddyAllocatorTest
{
    /** Two order-10 blocks: PFNs 1024..3071. */
    private static final long FIRST = 1024;
    private static final long LIMIT = 3072;

    private final Arena arena = Arena.ofConfined();
    /** The descriptors of the allocator made last. */
    private MemorySegment metadata;

    @AfterEach
    void close()
    {
        arena.close();
    }

    private BuddyAllocator allocator(final long first, final long limit)
    {
        metadata = arena.allocate(limit * FrameDescriptor.SIZE, 4096);
        return new BuddyAllocator(metadata, first, limit);
    }

    @Test
    void firstAllocationSplitsOneTopOrderBlock()
    {
        final BuddyAllocator buddy = allocator(FIRST, LIMIT);
        assertEquals(2048, buddy.freeFrames());
        assertEquals(FIRST, buddy.untouched(), "nothing carved before the first allocation");

        final long pfn = buddy.allocate(0);
        assertTrue(pfn >= FIRST && pfn < FIRST + 1024, "from the first 1024-frame block: " + pfn);
        // the other 1023 frames of that block remain as one free block of each order 9..0
        for (int order = 0; order < MAX_ORDER; order++)
        {
            assertEquals(1, buddy.freeBlocks(order), "order " + order);
        }
        assertEquals(0, buddy.freeBlocks(MAX_ORDER));
        assertEquals(FIRST + 1024, buddy.untouched(), "the second block is still untouched");
        assertEquals(2047, buddy.freeFrames());

        buddy.free(pfn, 0);
        assertFullyCoalesced(buddy, 1);
        assertEquals(2048, buddy.freeFrames());
    }

    @ParameterizedTest(name = "free order {0}")
    @ValueSource(strings = {"ascending", "descending", "evens-then-odds", "odds-descending-then-evens", "shuffle-1",
        "shuffle-2", "shuffle-3"})
    void orderZeroBlocksCoalesceBackWhateverTheFreeOrder(final String freeOrder)
    {
        final BuddyAllocator buddy = allocator(FIRST, LIMIT);
        final Tracker tracker = new Tracker(buddy, metadata, FIRST);
        final List<Long> pfns = new ArrayList<>();
        long pfn;
        while ((pfn = buddy.allocate(0)) != NO_FRAME)
        {
            tracker.allocated(pfn, 0);
            pfns.add(pfn);
        }
        assertEquals(2048, pfns.size());
        assertEquals(0, buddy.freeFrames());
        tracker.assertConsistent();

        switch (freeOrder)
        {
            case "ascending" -> Collections.sort(pfns);
            case "descending" -> pfns.sort(Collections.reverseOrder());
            case "evens-then-odds" -> pfns.sort((a, b) -> a % 2 != b % 2 ? Long.compare(a % 2, b % 2) : Long.compare(a, b));
            case "odds-descending-then-evens" -> pfns.sort((a, b) -> a % 2 != b % 2 ? Long.compare(b % 2, a % 2) : Long.compare(b, a));
            default -> Collections.shuffle(pfns, new Random(Long.parseLong(freeOrder.substring(8))));
        }
        int freed = 0;
        for (final long p : pfns)
        {
            buddy.free(p, 0);
            tracker.freed(p, 0);
            if (++freed % 97 == 0)
            {
                tracker.assertConsistent();
            }
        }
        assertEquals(2048, buddy.freeFrames());
        assertFullyCoalesced(buddy, 2);
        tracker.assertConsistent();
    }

    @Test
    void everyOrderCanBeAllocatedAndIsAligned()
    {
        final BuddyAllocator buddy = allocator(FIRST, LIMIT);
        final Tracker tracker = new Tracker(buddy, metadata, FIRST);
        final long[] heads = new long[MAX_ORDER + 1];
        for (int order = 0; order <= MAX_ORDER; order++)
        {
            heads[order] = buddy.allocate(order);
            assertTrue(heads[order] != NO_FRAME, "order " + order);
            assertEquals(0, heads[order] & ((1L << order) - 1), "aligned to its size");
            tracker.allocated(heads[order], order);
            tracker.assertConsistent();
        }
        // 1 + 2 + ... + 1024 = 2047 frames used: one frame is left
        assertEquals(1, buddy.freeFrames());
        for (int order = 1; order <= MAX_ORDER; order++)
        {
            assertEquals(NO_FRAME, buddy.allocate(order), "order " + order + " cannot fit one frame");
        }
        final long last = buddy.allocate(0);
        assertTrue(last != NO_FRAME);
        tracker.allocated(last, 0);
        assertEquals(NO_FRAME, buddy.allocate(0));
        assertEquals(0, buddy.freeFrames());
        tracker.assertConsistent();

        buddy.free(last, 0);
        tracker.freed(last, 0);
        for (int order = MAX_ORDER; order >= 0; order--)
        {
            buddy.free(heads[order], order);
            tracker.freed(heads[order], order);
            tracker.assertConsistent();
        }
        assertFullyCoalesced(buddy, 2);
    }

    @Test
    void fragmentedMemoryRefusesLargerBlocksWithoutException()
    {
        final BuddyAllocator buddy = allocator(FIRST, LIMIT);
        final long[] pfns = new long[2048];
        for (int i = 0; i < pfns.length; i++)
        {
            pfns[i] = buddy.allocate(0);
        }
        for (final long pfn : pfns)
        {
            if ((pfn & 1) == 0)
            {
                buddy.free(pfn, 0);
            }
        }
        // half the frames are free, but no two of them are buddies
        assertEquals(1024, buddy.freeFrames());
        assertEquals(1024, buddy.freeBlocks(0));
        for (int order = 1; order <= MAX_ORDER; order++)
        {
            assertEquals(NO_FRAME, buddy.allocate(order));
        }
        assertEquals(1024, buddy.freeFrames(), "failed allocations change nothing");
        final long[] out = new long[2000];
        assertEquals(1024, buddy.allocateBatch(out, out.length), "a batch takes what there is");
        assertEquals(0, buddy.allocateBatch(out, 10));
        buddy.freeBatch(out, 0, 1024);
        for (final long pfn : pfns)
        {
            if ((pfn & 1) == 1)
            {
                buddy.free(pfn, 0);
            }
        }
        assertFullyCoalesced(buddy, 2);
    }

    /** PFN 0 is never managed: frames start at 1, so the first blocks are 1, 2..3, 4..7, ... */
    @Test
    void unalignedStartAndEndAreCarvedIntoAlignedBlocks()
    {
        // [1, 2500): 1 (o0) 2 (o1) 4 (o2) ... 512 (o9) 1024 (o10), then 2048 (o8) 2304 (o7) 2432 (o6) 2496 (o2);
        // no two of them are buddies (PFN 0 and the end are missing), so that is also the coalesced state
        final BuddyAllocator buddy = allocator(1, 2500);
        final Tracker tracker = new Tracker(buddy, metadata, 1);
        final List<Long> pfns = new ArrayList<>();
        long pfn;
        while ((pfn = buddy.allocate(0)) != NO_FRAME)
        {
            pfns.add(pfn);
            tracker.allocated(pfn, 0);
        }
        assertEquals(2499, pfns.size());
        assertFalse(pfns.contains(0L));
        Collections.shuffle(pfns, new Random(42));
        for (final long p : pfns)
        {
            buddy.free(p, 0);
            tracker.freed(p, 0);
        }
        tracker.assertConsistent();
        final int[] expected = {1, 1, 2, 1, 1, 1, 2, 2, 2, 1, 1};
        for (int order = 0; order <= MAX_ORDER; order++)
        {
            assertEquals(expected[order], buddy.freeBlocks(order), "order " + order);
        }
    }

    @Test
    void randomAllocationsAndFreesKeepEveryInvariant()
    {
        final BuddyAllocator buddy = allocator(1, 3000);
        final Tracker tracker = new Tracker(buddy, metadata, 1);
        final Random random = new Random(20240611L);
        final List<long[]> live = new ArrayList<>();
        int failures = 0;
        for (int step = 0; step < 4000; step++)
        {
            if (live.isEmpty() || random.nextInt(100) < 55)
            {
                final int order = random.nextInt(100) < 70 ? random.nextInt(3) : random.nextInt(MAX_ORDER + 1);
                final long free = buddy.freeFrames();
                final long pfn = buddy.allocate(order);
                if (pfn == NO_FRAME)
                {
                    failures++;
                    assertEquals(free, buddy.freeFrames());
                }
                else
                {
                    tracker.allocated(pfn, order);
                    live.add(new long[] {pfn, order});
                }
            }
            else
            {
                final long[] block = live.remove(random.nextInt(live.size()));
                buddy.free(block[0], (int)block[1]);
                tracker.freed(block[0], (int)block[1]);
            }
            tracker.assertConsistent();
        }
        assertTrue(failures > 0, "the run should reach exhaustion at some point");
        for (final long[] block : live)
        {
            buddy.free(block[0], (int)block[1]);
            tracker.freed(block[0], (int)block[1]);
        }
        tracker.assertConsistent();
        assertEquals(2999, buddy.freeFrames());
    }

    @Test
    void freshFramesAreZeroedAndDirtinessSpreadsToTheMergedBlock()
    {
        final BuddyAllocator buddy = allocator(FIRST, LIMIT);
        final long a = buddy.allocate(0);
        assertEquals(FrameFlags.ZEROED, flags(a), "never-used frames read as zero");
        // the caller dirtied it: freed without ZEROED, it makes its whole merged block dirty
        FLAGS.set(metadata, offset(a), 0);
        buddy.free(a, 0);
        final long b = buddy.allocate(4);
        assertEquals(0, flags(b) & FrameFlags.ZEROED, "a block split from a dirty block is not zero");
        buddy.free(b, 4);
        // listed blocks go first: the dirty one, then the untouched (zero) second block
        final long c = buddy.allocate(MAX_ORDER);
        final long d = buddy.allocate(MAX_ORDER);
        assertEquals(0, flags(c) & FrameFlags.ZEROED);
        assertEquals(FrameFlags.ZEROED, flags(d));
    }

    @Test
    void aRunHandsOutOneAlignedBlockAsSingleFramesThatCoalesceBack()
    {
        final BuddyAllocator buddy = allocator(FIRST, LIMIT);
        final Tracker tracker = new Tracker(buddy, metadata, FIRST);
        // a single frame first: the run must not come from the half it broke
        final long single = buddy.allocate(0);
        tracker.allocated(single, 0);
        final long[] out = new long[3 + 512];
        assertEquals(512, buddy.allocateRun(out, 3, 9));
        final long head = out[3 + 511];
        assertEquals(0, head & 511, "the run is one aligned order-9 block: " + head);
        for (int i = 0; i < 512; i++)
        {
            assertEquals(head + 511 - i, out[3 + i], "highest first, so a stack pops them in ascending order");
            assertEquals(FrameFlags.ZEROED, flags(out[3 + i]), "each frame keeps the block's ZEROED and is not FREE");
            tracker.allocated(out[3 + i], 0);
        }
        assertEquals(0, out[0] | out[1] | out[2], "nothing written before from");
        assertEquals(2048 - 1 - 512, buddy.freeFrames());
        tracker.assertConsistent();

        // what is left whole: the second top block's two halves
        int runs = 0;
        while (buddy.allocateRun(out, 0, 9) == 512)
        {
            runs++;
            for (int i = 0; i < 512; i++)
            {
                tracker.allocated(out[i], 0);
            }
        }
        assertEquals(2, runs);
        assertTrue(single >> 9 != head >> 9, "the run did not come from the broken half");
        final long freeBefore = buddy.freeFrames();
        assertEquals(0, buddy.allocateRun(out, 0, 9), "no order-9 block: refused");
        assertEquals(freeBefore, buddy.freeFrames(), "a refused run splits nothing");
        tracker.assertConsistent();
        assertThrows(IllegalArgumentException.class, () -> buddy.allocateRun(out, 0, MAX_ORDER + 1));
    }

    @Test
    void badOrdersAndForeignFramesAreRejectedWithAMessage()
    {
        final BuddyAllocator buddy = allocator(FIRST, LIMIT);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> buddy.allocate(-1)).getMessage().contains("order -1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> buddy.allocate(MAX_ORDER + 1)).getMessage().contains("order 11"));
        final long pfn = buddy.allocate(0);
        assertThrows(IllegalArgumentException.class, () -> buddy.free(0, 0));
        assertThrows(IllegalArgumentException.class, () -> buddy.free(buddy.untouched(), 0), "never handed out");
        assertEquals(2047, buddy.freeFrames(), "rejected frees change nothing");
        buddy.free(pfn, 0);
        assertFullyCoalesced(buddy, 1);
    }

    @Test
    void freeingAnOrderOutsideTheRangeIsRejected()
    {
        final BuddyAllocator buddy = allocator(FIRST, LIMIT);
        final long pfn = buddy.allocate(0);
        final IllegalArgumentException ex =
            assertThrows(IllegalArgumentException.class, () -> buddy.free(pfn, MAX_ORDER + 1));
        assertTrue(ex.getMessage().contains("order 11"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> buddy.free(pfn, -1));
        buddy.free(pfn, 0);
        assertFullyCoalesced(buddy, 1);
    }

    /** A second free of a block still listed would make its free list a cycle and hand it out twice. */
    @Test
    void doubleFreeOfAListedBlockIsCaught()
    {
        final BuddyAllocator buddy = allocator(FIRST, LIMIT);
        final long a = buddy.allocate(0);
        final long b = buddy.allocate(0);
        buddy.free(a, 0);
        final IllegalStateException ex = assertThrows(IllegalStateException.class, () -> buddy.free(a, 0));
        assertTrue(ex.getMessage().contains("double free of PFN " + a), ex.getMessage());
        assertEquals(2047, buddy.freeFrames(), "the rejected free changed nothing");
        final long c = buddy.allocate(0);
        final long d = buddy.allocate(0);
        assertTrue(c != d && c != b && d != b, "no frame handed out twice");
        buddy.free(b, 0);
        buddy.free(c, 0);
        buddy.free(d, 0);
        assertFullyCoalesced(buddy, 1);
    }

    private int flags(final long pfn)
    {
        return (int)FLAGS.get(metadata, offset(pfn));
    }

    private static void assertFullyCoalesced(final BuddyAllocator buddy, final long topBlocks)
    {
        for (int order = 0; order < MAX_ORDER; order++)
        {
            assertEquals(0, buddy.freeBlocks(order), "order " + order + " after coalescing");
        }
        assertEquals(topBlocks, buddy.freeBlocks(MAX_ORDER));
    }

    /** What the test handed out, and a scan of the descriptors that must agree with the allocator. */
    private static final class Tracker
    {
        private final BuddyAllocator buddy;
        private final MemorySegment metadata;
        private final long first;
        private final BitSet allocated = new BitSet();

        Tracker(final BuddyAllocator buddy, final MemorySegment metadata, final long first)
        {
            this.buddy = buddy;
            this.metadata = metadata;
            this.first = first;
        }

        void allocated(final long pfn, final int order)
        {
            final int from = (int)(pfn - first);
            final int to = from + (1 << order);
            assertTrue(pfn >= first && pfn + (1L << order) <= buddy.limit(), "block inside memory");
            assertTrue(allocated.get(from, to).isEmpty(), "block " + pfn + " (order " + order + ") handed out twice");
            allocated.set(from, to);
        }

        void freed(final long pfn, final int order)
        {
            allocated.clear((int)(pfn - first), (int)(pfn - first) + (1 << order));
        }

        void assertConsistent()
        {
            final long untouched = buddy.untouched();
            final long[] blocks = new long[MAX_ORDER + 1];
            final BitSet free = new BitSet();
            for (long pfn = first; pfn < untouched; pfn++)
            {
                final int flags = (int)FLAGS.get(metadata, offset(pfn));
                if ((flags & FrameFlags.FREE) == 0)
                {
                    continue;
                }
                final int order = (int)ORDER.get(metadata, offset(pfn));
                assertTrue(order >= 0 && order <= MAX_ORDER, "order of free block " + pfn);
                assertEquals(0, pfn & ((1L << order) - 1), "free block " + pfn + " aligned to order " + order);
                assertTrue(pfn + (1L << order) <= untouched, "free block inside the carved part");
                final int from = (int)(pfn - first);
                final int to = from + (1 << order);
                assertTrue(free.get(from, to).isEmpty(), "free blocks overlap at " + pfn);
                assertTrue(allocated.get(from, to).isEmpty(), "free block " + pfn + " overlaps an allocated block");
                free.set(from, to);
                blocks[order]++;
            }
            for (int order = 0; order <= MAX_ORDER; order++)
            {
                assertEquals(blocks[order], buddy.freeBlocks(order), "free blocks of order " + order);
            }
            assertEquals(untouched - first, free.cardinality() + allocated.stream().filter(i -> i < untouched - first).count(),
                "every carved frame is free or allocated");
            assertTrue(allocated.nextSetBit((int)(untouched - first)) < 0, "nothing allocated in the untouched tail");
            assertEquals(free.cardinality() + buddy.limit() - untouched, buddy.freeFrames(), "freeFrames");
        }
    }
}
