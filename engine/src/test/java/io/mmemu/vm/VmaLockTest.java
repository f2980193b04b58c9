package io.mmemu.vm;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The per-VMA lock word and its completion under racing threads, many thousands of episodes:
 * no fault is inside a VMA while a writer holds it, a writer's drain waits for every fault that
 * got in, and no fault is left waiting after the writer unlocks or retires the VMA (a lost
 * wake-up would hang the join below).
 */
class VmaLockTest
{
    private static final int EPISODES = 20_000;

    /** One VMA under test, with the number of faults inside it and whether a writer holds it. */
    private record Cell(Vma vma, AtomicInteger inside, AtomicBoolean held)
    {
    }

    @Test
    void writersExcludeFaultsAndWakeEveryWaiter() throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory);
            final AtomicReference<Cell> current = new AtomicReference<>(fresh(0));
            final AtomicBoolean stop = new AtomicBoolean();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            final AtomicInteger waits = new AtomicInteger();
            final List<Thread> faults = new ArrayList<>();
            for (int t = 0; t < 2; t++)
            {
                faults.add(new Thread(() ->
                {
                    try (Cpu cpu = mm.attachCpu())
                    {
                        while (!stop.get())
                        {
                            final Cell cell = current.get();
                            if (cell.vma.tryReadLock())
                            {
                                cell.inside.incrementAndGet();
                                if (cell.held.get())
                                {
                                    throw new AssertionError("a fault got in while a writer held the VMA");
                                }
                                Thread.onSpinWait();
                                cell.inside.decrementAndGet();
                                cell.vma.readUnlock();
                            }
                            else
                            {
                                waits.incrementAndGet();
                                cell.vma.await(cpu);
                            }
                        }
                    }
                    catch (final Throwable ex)
                    {
                        errors.add(ex);
                    }
                }, "fault-" + t));
            }
            faults.forEach(Thread::start);
            try (Cpu writer = mm.attachCpu())
            {
                for (int episode = 1; episode <= EPISODES && errors.isEmpty(); episode++)
                {
                    final Cell cell = current.get();
                    cell.vma.writeLock(writer);
                    cell.held.set(true);
                    assertEquals(0, cell.inside.get(), "the drain let a fault stay inside");
                    cell.held.set(false);
                    if ((episode & 1) == 0)
                    {
                        // the VMA stays: unlocked, the same cell is locked again next episode
                        cell.vma.unlock();
                    }
                    else
                    {
                        // the VMA leaves: its waiters must wake and find the replacement
                        current.set(fresh(episode));
                        cell.vma.retire();
                        assertTrue(cell.vma.isLocked(), "a retired VMA stays locked for late lookups");
                        assertFalse(cell.vma.tryReadLock());
                    }
                }
            }
            stop.set(true);
            for (final Thread thread : faults)
            {
                thread.join(60_000);
                assertFalse(thread.isAlive(), "a fault was left waiting: lost wake-up");
            }
            assertTrue(errors.isEmpty(), () -> "failures: " + errors);
            assertTrue(waits.get() > 0, "the race was exercised");
            mm.check(true).assertOk();
            mm.close();
        }
    }

    @Test
    void bornLockedVmaWakesItsWaitersWhenUnlocked() throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory);
            for (int i = 0; i < 2_000; i++)
            {
                final Vma vma = fresh(i).vma.lockedCopy();
                assertFalse(vma.tryReadLock());
                final Thread waiter = new Thread(() ->
                {
                    try (Cpu cpu = mm.attachCpu())
                    {
                        vma.await(cpu);
                        assertTrue(vma.tryReadLock(), "woken after unlock, the VMA must be free");
                        vma.readUnlock();
                    }
                });
                waiter.start();
                Thread.onSpinWait();
                vma.unlock();
                waiter.join(60_000);
                assertFalse(waiter.isAlive(), "waiter left blocked after unlock");
            }
            mm.close();
        }
    }

    private static Cell fresh(final int n)
    {
        final long start = 0x100000000000L + (long)n * 4096;
        return new Cell(new Vma(start, start + 4096, VmFlags.VM_READ | VmFlags.VM_WRITE, start >>> 12, null, null, null),
            new AtomicInteger(), new AtomicBoolean());
    }
}
