package io.mmemu.vm;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link RangeLock} on its own: writers acquiring, claiming and releasing random overlapping spans,
 * dropping the mmap lock in between as a sectioned munmap does. Each marks the slots of its spans
 * in a shared array while it owns them: two owners of overlapping spans would find each other's
 * mark. Also the waits happen (writers do meet), and claims that fail leave nothing owned.
 */
class RangeLockExclusionTest
{
    private static final int SLOTS = 64;
    private static final long SLOT = 1L << 20;

    @Test
    void overlappingSpansAreNeverOwnedAtOnceAndDisjointOnesAre() throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION);
            final RangeLock lock = mm.rangeLock();
            final AtomicIntegerArray marks = new AtomicIntegerArray(SLOTS);
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            final AtomicLong failedClaims = new AtomicLong();
            final AtomicLong concurrentOwners = new AtomicLong();
            final AtomicLong owning = new AtomicLong();
            final List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++)
            {
                final int id = t + 1;
                threads.add(new Thread(() ->
                {
                    final SplittableRandom random = new SplittableRandom(id);
                    try (Cpu cpu = mm.attachCpu())
                    {
                        for (int round = 0; round < 3000; round++)
                        {
                            final int from = random.nextInt(SLOTS);
                            final int to = from + 1 + random.nextInt(Math.min(8, SLOTS - from));
                            if (random.nextBoolean())
                            {
                                lock.acquire(cpu, from * SLOT, to * SLOT);
                            }
                            else
                            {
                                // a gap search: the span is found under the lock, then claimed
                                lock.acquire(cpu);
                                while (!lock.claim(cpu, from * SLOT, to * SLOT))
                                {
                                    failedClaims.incrementAndGet();
                                    assertFalse(lock.owns(cpu, from * SLOT, to * SLOT));
                                }
                            }
                            assertTrue(lock.holdsTree() && lock.owns(cpu, from * SLOT, to * SLOT));
                            for (int s = from; s < to; s++)
                            {
                                final int other = marks.compareAndExchange(s, 0, id);
                                assertEquals(0, other, "slot " + s + " owned by writers " + other + " and " + id);
                            }
                            // the lock-free phase: others run, the span stays ours
                            lock.unlockTree(cpu);
                            owning.incrementAndGet();
                            // stay a while, so that other writers get in on disjoint spans
                            for (int k = 0; k < 100 && owning.get() < 2; k++)
                            {
                                Thread.yield();
                            }
                            if (owning.get() > 1)
                            {
                                concurrentOwners.incrementAndGet();
                            }
                            owning.decrementAndGet();
                            for (int s = from; s < to; s++)
                            {
                                assertEquals(id, marks.getAndSet(s, 0));
                            }
                            if (random.nextBoolean())
                            {
                                lock.lockTree(cpu);
                            }
                            lock.release(cpu);
                            assertFalse(lock.holdsTree());
                        }
                    }
                    catch (final Throwable ex)
                    {
                        errors.add(ex);
                    }
                }, "writer-" + id));
            }
            threads.forEach(Thread::start);
            for (final Thread thread : threads)
            {
                thread.join(120_000);
                assertFalse(thread.isAlive(), "hung: " + thread.getName());
            }
            assertTrue(errors.isEmpty(), () -> "failures: " + errors);
            // the test exercised what it is about: owners at once, and claims that had to wait
            assertTrue(concurrentOwners.get() > 0, "no two writers ever owned spans at once");
            assertTrue(failedClaims.get() > 0, "no claim ever met another writer's span");
            mm.close();
        }
    }
}
