package io.mmemu.phys;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;
import static io.mmemu.phys.PhysicalMemory.HUGE_FRAMES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link PhysicalMemory#releaseHugeData} while somebody else holds part of the huge page: reclaim's
 * isolation reference on the head (folio_try_get), or the other side of a fork whose PMD was split.
 * Each frame is freed once, by the put that took its count to zero: never twice (the accounting
 * shows -1), never not at all.
 */
final class HugeReleaseRaceTest
{
    private static final long MIB = 1L << 20;
    private static final long MAPPING = 7;

    /**
     * The interleaving the linearizability checker found (mremap-move-half-visible.mm, with kswapd
     * running): the zap drops the PMD leaf's references while reclaim holds the head isolated, and
     * reclaim puts the head back and drops its reference before the zap has finished. The LRU lock,
     * held here, stops the zap at its LRU split until reclaim's put is done; a zap that re-read the
     * head's count after its own put found it zero and freed the head a second time.
     */
    @Test
    void aHeadReclaimDropsDuringTheZapIsFreedOnce() throws InterruptedException
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16 * MIB))
        {
            final long idle = memory.framesInUse();
            final FrameCache zapCache = memory.newCache();
            final FrameCache reclaimCache = memory.newCache();
            final long head = memory.allocateHugeData(zapCache, MAPPING, 0);
            assertNotEquals(NO_FRAME, head);
            final long[] isolated = new long[1];
            assertEquals(1, memory.lru().isolate(LruLists.INACTIVE_ANON, 1, 1, isolated));
            assertEquals(head, isolated[0]);
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final Thread zap = Thread.ofPlatform().unstarted(() ->
            {
                try
                {
                    unmap(memory, head);
                    memory.releaseHugeData(zapCache, head, true);
                }
                catch (final Throwable t)
                {
                    failure.set(t);
                }
            });
            synchronized (memory.lru())
            {
                zap.start();
                // the zap's puts are done when the last tail's count is zero; it cannot pass the LRU
                // lock until this block ends
                while (memory.refcount(head + HUGE_FRAMES - 1) != 0 && zap.isAlive())
                {
                    Thread.onSpinWait();
                }
                // shrink_folio_list's end: folio_putback_lru, then folio_put (the lock is reentrant)
                memory.lru().putback(head, false);
                memory.releaseData(reclaimCache, head, false);
            }
            zap.join();
            assertNull(failure.get());
            memory.retireCache(zapCache);
            memory.retireCache(reclaimCache);
            assertEquals(idle, memory.framesInUse(), "every frame of the huge page freed once");
            assertListsEmpty(memory);
        }
    }

    /**
     * Many rounds of a zap of a huge page racing the other holder's puts, in two shapes:
     * reclaim's reference on the head (put back and dropped), and a fork's other side, whose
     * PMD leaf was split (the folio split on the LRU with it), unmapping its 512 PTEs in one
     * release_pages batch. Both sides start from one spin gate, the other side after a random
     * delay of up to {@link #MAX_DELAY_NANOS} (about the zap's length), so that its puts land
     * anywhere in the zap's. After each round every frame is free again and the lists are empty.
     */
    @Test
    void zapsRacingOtherHoldersFreeEveryFrameOnce() throws Exception
    {
        final int rounds = 1_000;
        try (PhysicalMemory memory = PhysicalMemory.create(64 * MIB))
        {
            final long idle = memory.framesInUse();
            final FrameCache zapCache = memory.newCache();
            final FrameCache otherCache = memory.newCache();
            // the round each side may start, and the last round the other side finished (volatile:
            // each hands the round's page and shape over, and back)
            final AtomicInteger go = new AtomicInteger();
            final AtomicInteger done = new AtomicInteger();
            final long[] round = new long[3];
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final Thread other = Thread.ofPlatform().start(() ->
            {
                try
                {
                    for (int r = 1; r <= rounds; r++)
                    {
                        while (go.get() != r)
                        {
                            if (Thread.interrupted())
                            {
                                return;
                            }
                            Thread.onSpinWait();
                        }
                        final long head = round[0];
                        delay(round[2]);
                        if (round[1] != 0)
                        {
                            unmap(memory, head);
                            final long[] entries = new long[HUGE_FRAMES];
                            for (int i = 0; i < HUGE_FRAMES; i++)
                            {
                                entries[i] = head + i;
                            }
                            memory.releaseDataBatch(otherCache, entries, HUGE_FRAMES);
                        }
                        else
                        {
                            memory.lru().putback(head, false);
                            memory.releaseData(otherCache, head, false);
                        }
                        done.set(r);
                    }
                }
                catch (final Throwable t)
                {
                    failure.set(t);
                }
            });
            final SplittableRandom random = new SplittableRandom(20261207L);
            try
            {
                for (int r = 1; r <= rounds; r++)
                {
                    final long head = memory.allocateHugeData(zapCache, MAPPING, 0);
                    assertNotEquals(NO_FRAME, head);
                    final boolean forked = random.nextBoolean();
                    if (forked)
                    {
                        // copy_huge_pmd: a second mapping of every subpage; then the child's split
                        for (long pfn = head; pfn < head + HUGE_FRAMES; pfn++)
                        {
                            memory.mapData(pfn);
                        }
                        memory.lru().splitFolio(head, HUGE_FRAMES);
                    }
                    else
                    {
                        final long[] isolated = new long[1];
                        assertEquals(1, memory.lru().isolate(LruLists.INACTIVE_ANON, 1, 1, isolated));
                        assertEquals(head, isolated[0]);
                    }
                    round[0] = head;
                    round[1] = forked ? 1 : 0;
                    round[2] = random.nextLong(MAX_DELAY_NANOS);
                    go.set(r);
                    unmap(memory, head);
                    memory.releaseHugeData(zapCache, head, true);
                    while (done.get() != r)
                    {
                        assertTrue(other.isAlive(), "the other side died: " + failure.get());
                        Thread.onSpinWait();
                    }
                    // both sides quiescent
                    assertEquals(idle, memory.framesInUse(), "round " + r + " (" + (forked ? "fork" : "reclaim") + "): every frame freed once");
                    assertListsEmpty(memory);
                }
            }
            finally
            {
                // a failed round leaves the other side at the gate
                other.interrupt();
                other.join();
            }
            assertNull(failure.get());
            memory.retireCache(zapCache);
            memory.retireCache(otherCache);
            assertEquals(idle, memory.framesInUse());
        }
    }

    /** The other side's longest delay before its puts: about the length of a zap's 1,024 atomics, on a slow machine. */
    private static final long MAX_DELAY_NANOS = 40_000;

    private static void delay(final long nanos)
    {
        final long until = System.nanoTime() + nanos;
        while (System.nanoTime() - until < 0)
        {
            Thread.onSpinWait();
        }
    }

    /** zap_huge_pmd's or zap_pte_range's part before the gather's flush: every subpage's mapping goes. */
    private static void unmap(final PhysicalMemory memory, final long head)
    {
        for (long pfn = head; pfn < head + HUGE_FRAMES; pfn++)
        {
            memory.unmapData(pfn);
        }
    }

    private static void assertListsEmpty(final PhysicalMemory memory)
    {
        memory.lru().check((lru, pfn, pages) ->
        {
            throw new AssertionError("PFN " + pfn + " still on LRU list " + lru);
        });
        for (int lru = 0; lru < LruLists.LISTS; lru++)
        {
            assertEquals(0, memory.lru().size(lru), "pages on list " + lru);
        }
    }
}
