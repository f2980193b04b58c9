package io.mmemu.phys;

import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The per-CPU LRU add batch: pages join the lists a batch at a time, and a page freed while its
 * batch still names it is freed by the batch's drain — never twice, never lost, never on a list.
 */
final class LruAddBatchTest
{
    private static final long MIB = 1L << 20;
    private static final long MAPPING = 7;
    /** A stop marker for the freeing thread's queue. */
    private static final Long DONE = -1L;

    @Test
    void pagesJoinTheListsABatchAtATime()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16 * MIB))
        {
            final FrameCache cache = memory.newCache();
            final LruLists lru = memory.lru();
            for (int i = 0; i < LruAddBatch.SIZE - 1; i++)
            {
                assertNotEquals(NO_FRAME, memory.allocateAnon(cache, MAPPING, i));
            }
            assertEquals(0, lru.size(LruLists.INACTIVE_ANON), "waiting in the batch");
            assertEquals(LruAddBatch.SIZE - 1, cache.lruAdds.size());
            assertNotEquals(NO_FRAME, memory.allocateAnon(cache, MAPPING, LruAddBatch.SIZE - 1));
            assertEquals(LruAddBatch.SIZE, lru.size(LruLists.INACTIVE_ANON), "a full batch joins at once");
            assertEquals(0, cache.lruAdds.size());
            memory.retireCache(cache);
        }
    }

    @Test
    void aPageFreedInItsBatchIsFreedByTheDrainAndNeverListed()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16 * MIB))
        {
            final long idle = memory.framesInUse();
            final FrameCache owner = memory.newCache();
            final FrameCache other = memory.newCache();
            final long kept = memory.allocateAnon(owner, MAPPING, 0);
            final long freed = memory.allocateAnon(owner, MAPPING, 1);
            final long batched = memory.allocateAnon(owner, MAPPING, 2);
            memory.releaseData(other, freed, false);
            memory.releaseDataBatch(other, new long[] {batched | PhysicalMemory.CLEAN}, 1);
            assertEquals(idle + 3, memory.framesInUse(), "left to the drain, not freed twice nor yet");
            memory.drainAddBatch(owner);
            assertEquals(1, memory.lru().size(LruLists.INACTIVE_ANON), "only the page still held joined");
            assertEquals(idle + 1, memory.framesInUse(), "the drain freed the other two");
            checkLists(memory, kept);
            memory.releaseData(owner, kept, false);
            assertEquals(0, memory.lru().size(LruLists.INACTIVE_ANON));
            memory.retireCache(owner);
            memory.retireCache(other);
            assertEquals(idle, memory.framesInUse());
        }
    }

    /**
     * The reverse map's words of a page are what its allocation named by the time it is on a list:
     * an anonymous page's, which wait in its batch, after the drain (and a reused frame's are its
     * new owner's, not its old one's); a cache page's at once, as MADV_PAGEOUT reads them through
     * the page tables.
     */
    @Test
    void aListedPageNamesTheMappingAndIndexItWasAllocatedFor()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16 * MIB))
        {
            final FrameCache cache = memory.newCache();
            for (int round = 0; round < 3; round++)
            {
                final long mapping = MAPPING + 2 * round;
                final long[] pfns = new long[2 * LruAddBatch.SIZE + 5];
                for (int i = 0; i < pfns.length; i++)
                {
                    pfns[i] = memory.allocateAnon(cache, mapping, 1000L * round + i);
                    assertNotEquals(NO_FRAME, pfns[i]);
                }
                final long file = memory.allocateCachePage(cache, 2 * round + 2, 77 + round, false);
                assertEquals(2 * round + 2, memory.mapping(file), "a cache page's words are stored at once");
                assertEquals(77 + round, memory.index(file));
                memory.drainAddBatch(cache);
                for (int i = 0; i < pfns.length; i++)
                {
                    assertEquals(mapping, memory.mapping(pfns[i]), "page " + i);
                    assertEquals(1000L * round + i, memory.index(pfns[i]), "page " + i);
                }
                assertEquals(pfns.length, memory.lru().size(LruLists.INACTIVE_ANON));
                memory.releaseDataBatch(cache, pfns, pfns.length);
                memory.releaseData(cache, file, true);
                assertEquals(0, memory.lru().size(LruLists.INACTIVE_ANON));
            }
            memory.retireCache(cache);
        }
    }

    /**
     * One CPU allocates pages (each staged in its batch, which drains whenever it fills) while
     * another frees them as soon as it gets them, singly or in batches: every free races with some
     * drain. Afterwards the lists hold exactly the pages still held, and no frame is lost or
     * freed twice (a double free trips the refcount and buddy checks; a lost one the accounting).
     */
    @Test
    void freesRacingDrainsLoseNothingAndFreeNothingTwice() throws InterruptedException
    {
        for (int round = 0; round < 8; round++)
        {
            try (PhysicalMemory memory = PhysicalMemory.create(16 * MIB))
            {
                final long idle = memory.framesInUse();
                final FrameCache owner = memory.newCache();
                final FrameCache other = memory.newCache();
                final BlockingQueue<Long> queue = new ArrayBlockingQueue<>(256);
                final AtomicReference<Throwable> failure = new AtomicReference<>();
                final SplittableRandom random = new SplittableRandom(round);
                final long heldEvery = 7;
                final Thread freer = new Thread(() ->
                {
                    final long[] batch = new long[16];
                    int n = 0;
                    try
                    {
                        for (Long pfn = queue.take(); !pfn.equals(DONE); pfn = queue.take())
                        {
                            if ((pfn & 1) == 0)
                            {
                                memory.releaseData(other, pfn, false);
                            }
                            else
                            {
                                batch[n++] = pfn;
                                if (n == batch.length)
                                {
                                    memory.releaseDataBatch(other, batch, n);
                                    n = 0;
                                }
                            }
                        }
                        memory.releaseDataBatch(other, batch, n);
                    }
                    catch (final Throwable t)
                    {
                        failure.set(t);
                    }
                });
                freer.start();
                final long[] held = new long[20_000];
                int heldCount = 0;
                for (int i = 0; i < 20_000; i++)
                {
                    final long pfn = memory.allocateAnon(owner, MAPPING, i);
                    assertNotEquals(NO_FRAME, pfn);
                    if (i % heldEvery == 0)
                    {
                        held[heldCount++] = pfn;
                    }
                    else
                    {
                        queue.put(pfn);
                    }
                    if (random.nextInt(500) == 0)
                    {
                        memory.drainAddBatch(owner);
                    }
                }
                queue.put(DONE);
                freer.join();
                assertNull(failure.get());
                memory.drainAddBatch(owner);
                assertEquals(heldCount, memory.lru().size(LruLists.INACTIVE_ANON), "the held pages, and only they");
                assertEquals(idle + heldCount, memory.framesInUse());
                checkLists(memory, java.util.Arrays.copyOf(held, heldCount));
                for (int i = 0; i < heldCount; i++)
                {
                    memory.releaseData(owner, held[i], false);
                }
                memory.retireCache(owner);
                memory.retireCache(other);
                assertEquals(0, memory.lru().size(LruLists.INACTIVE_ANON));
                assertEquals(idle, memory.framesInUse(), "no frame lost");
            }
        }
    }

    private static void checkLists(final PhysicalMemory memory, final long... expected)
    {
        final java.util.Set<Long> listed = new java.util.HashSet<>();
        memory.lru().check((lru, pfn, pages) -> assertTrue(listed.add(pfn), "listed twice: " + pfn));
        for (final long pfn : expected)
        {
            assertTrue(listed.remove(pfn), "held page " + pfn + " not listed");
        }
        assertTrue(listed.isEmpty(), "listed but freed: " + listed);
    }
}
