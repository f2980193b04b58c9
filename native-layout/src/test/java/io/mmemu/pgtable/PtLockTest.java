package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The split PTE lock: ownership, and mutual exclusion over plain off-heap stores. */
final class PtLockTest
{
    @Test
    void lockRecordsItsOwnerAndExcludesOthers()
    {
        try (Machine m = Machine.full(1L << 24))
        {
            final MemorySegment metadata = m.memory.metadata();
            final long pt = m.newTable(1) >>> 12;
            assertEquals(PtLock.UNLOCKED, PtLock.owner(metadata, pt));
            PtLock.lock(metadata, pt, 7, new BackoffIdleStrategy());
            assertEquals(7, PtLock.owner(metadata, pt));
            assertFalse(PtLock.tryLock(metadata, pt, 8));
            // another table's lock is independent
            final long other = m.newTable(1) >>> 12;
            assertTrue(PtLock.tryLock(metadata, other, 8));
            PtLock.unlock(metadata, pt);
            assertEquals(PtLock.UNLOCKED, PtLock.owner(metadata, pt));
            assertTrue(PtLock.tryLock(metadata, pt, 9));
            assertEquals(9, PtLock.owner(metadata, pt));
        }
    }

    @Test
    void editorRejectsTheUnlockedToken()
    {
        try (Machine m = Machine.full(1L << 24))
        {
            final IllegalArgumentException ex = assertThrows(
                IllegalArgumentException.class, () -> new PageTableEditor(m.memory, m.cache, PtLock.UNLOCKED));
            assertTrue(ex.getMessage().contains("non-zero"));
        }
    }

    /**
     * Threads increment an off-heap counter with plain (non-atomic) loads and stores, guarded only
     * by the lock of one table page: a lost update means two owners at once or missing ordering.
     */
    @Test
    void mutualExclusionUnderContention() throws Exception
    {
        final int threads = 4;
        final int increments = 100_000;
        try (Machine m = Machine.full(1L << 24))
        {
            final MemorySegment metadata = m.memory.metadata();
            final MemorySegment frames = m.memory.frames();
            final long pt = m.newTable(1) >>> 12;
            final long counter = pt << 12;
            final CyclicBarrier start = new CyclicBarrier(threads);
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final Thread[] workers = new Thread[threads];
            for (int t = 0; t < threads; t++)
            {
                final long token = t + 1;
                workers[t] = new Thread(() ->
                {
                    final BackoffIdleStrategy idle = new BackoffIdleStrategy();
                    try
                    {
                        start.await();
                        for (int i = 0; i < increments; i++)
                        {
                            PtLock.lock(metadata, pt, token, idle);
                            if (PtLock.owner(metadata, pt) != token)
                            {
                                throw new AssertionError("lock held by " + PtLock.owner(metadata, pt) + ", not " + token);
                            }
                            frames.set(ValueLayout.JAVA_LONG, counter, frames.get(ValueLayout.JAVA_LONG, counter) + 1);
                            PtLock.unlock(metadata, pt);
                        }
                    }
                    catch (final Throwable ex)
                    {
                        failure.compareAndSet(null, ex);
                    }
                });
                workers[t].start();
            }
            for (final Thread w : workers)
            {
                w.join();
            }
            assertNull(failure.get());
            assertEquals((long)threads * increments, frames.get(ValueLayout.JAVA_LONG, counter));
            assertEquals(PtLock.UNLOCKED, PtLock.owner(metadata, pt));
        }
    }
}
