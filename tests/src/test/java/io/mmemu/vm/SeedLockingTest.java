package io.mmemu.vm;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The seed's guarantees (Wilcox, 2018), in both locking modes: a fault on a range being replaced
 * by MAP_FIXED lands in the new mapping and never sees old data after the replacement returned;
 * a fault on a range being unmapped gets SEGV_MAPERR; a second munmap or MAP_FIXED over a range
 * still being unmapped waits, so "munmap returned" means the range is reusable.
 */
class SeedLockingTest
{
    private static final long BASE = 0x100000000000L;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS;
    /** Small sections so a modest range is zapped in many pieces, as 1 GiB sections would a huge one. */
    private static final long SECTION = 64L << 10;

    private static void joinAll(final List<Thread> threads) throws InterruptedException
    {
        joinAll(threads, () -> 0);
    }

    /**
     * Joins the threads, failing as hung once {@code progress} has not moved for two minutes: a
     * deadlock, not slowness (every shootdown waits until each spinning reader is scheduled, so on
     * a machine running many more threads than cores a long test can take minutes and still be
     * making progress).
     */
    private static void joinAll(final List<Thread> threads, final LongSupplier progress) throws InterruptedException
    {
        final long stalledAfter = TimeUnit.MINUTES.toNanos(2);
        for (final Thread thread : threads)
        {
            long seen = progress.getAsLong();
            long movedAt = System.nanoTime();
            while (thread.isAlive() && System.nanoTime() - movedAt < stalledAfter)
            {
                thread.join(1_000);
                final long now = progress.getAsLong();
                if (now != seen)
                {
                    seen = now;
                    movedAt = System.nanoTime();
                }
            }
            assertTrue(!thread.isAlive(), "hung: " + thread.getName());
        }
    }

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void faultsDuringMapFixedReplacementNeverSegvAndNeverSeeOldDataAfterward(final LockingMode locking) throws Exception
    {
        final long pages = 32;
        final long length = pages * 4096;
        try (PhysicalMemory memory = PhysicalMemory.create(256L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, SECTION);
            final AtomicLong returned = new AtomicLong(1);
            final AtomicBoolean stop = new AtomicBoolean();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            try (Cpu setup = mm.attachCpu())
            {
                assertEquals(BASE, setup.mmap(BASE, length, RW, ANON | MAP_FIXED, -1, 0));
                for (long p = 0; p < pages; p++)
                {
                    setup.writeLong(BASE + p * 4096, 1);
                }
            }
            final List<Thread> threads = new ArrayList<>();
            // two readers and a replacer: on this 2-core machine more threads than cores only
            // measure the scheduler (every copy-on-write break waits for each reader's acknowledgement)
            for (int t = 0; t < 2; t++)
            {
                final int id = t;
                threads.add(new Thread(() ->
                {
                    final SplittableRandom random = new SplittableRandom(id);
                    try (Cpu cpu = mm.attachCpu())
                    {
                        while (!stop.get())
                        {
                            final long floor = returned.get();
                            final long va = BASE + random.nextLong(pages) * 4096;
                            final int status = cpu.readLong(va);
                            if (status != Signal.NONE)
                            {
                                throw new AssertionError("signal " + Signal.codeName(status) + " at 0x" + Long.toHexString(va));
                            }
                            final long value = cpu.value();
                            if (value != 0 && value < floor)
                            {
                                throw new AssertionError("generation " + value + " read after generation " + floor +
                                    " replaced it at 0x" + Long.toHexString(va));
                            }
                        }
                    }
                    catch (final Throwable ex)
                    {
                        errors.add(ex);
                        stop.set(true);
                    }
                }, "reader-" + t));
            }
            threads.add(new Thread(() ->
            {
                try (Cpu cpu = mm.attachCpu())
                {
                    for (long generation = 2; generation <= 150 && !stop.get(); generation++)
                    {
                        assertEquals(BASE, cpu.mmap(BASE, length, RW, ANON | MAP_FIXED, -1, 0));
                        returned.set(generation);
                        for (long p = 0; p < pages; p++)
                        {
                            assertEquals(Signal.NONE, cpu.writeLong(BASE + p * 4096, generation));
                        }
                    }
                }
                catch (final Throwable ex)
                {
                    errors.add(ex);
                }
                finally
                {
                    stop.set(true);
                }
            }, "replacer"));
            threads.forEach(Thread::start);
            joinAll(threads, returned::get);
            assertTrue(errors.isEmpty(), () -> "failures: " + errors);
            assertEquals(0, mm.stats().segvMaperr() + mm.stats().segvAccerr(), "no SIGSEGV at all");
            mm.check(true).assertOk();
            mm.close();
            assertEquals(1, memory.framesInUse());
        }
    }

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void faultsDuringMunmapGetMaperrAndFramesReturn(final LockingMode locking) throws Exception
    {
        final long length = 32L << 20;
        try (PhysicalMemory memory = PhysicalMemory.create(1L << 30, Backing.TABLES_ONLY))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, SECTION);
            final long baseline = memory.framesInUse();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            for (int round = 0; round < 20; round++)
            {
                final CyclicBarrier start = new CyclicBarrier(3);
                final AtomicBoolean unmapped = new AtomicBoolean();
                try (Cpu setup = mm.attachCpu())
                {
                    assertEquals(BASE, setup.mmap(BASE, length, RW, ANON | MAP_FIXED | MAP_POPULATE, -1, 0));
                }
                final List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < 2; t++)
                {
                    final int id = t;
                    threads.add(new Thread(() ->
                    {
                        final SplittableRandom random = new SplittableRandom(id);
                        try (Cpu cpu = mm.attachCpu())
                        {
                            cpu.offline();
                            start.await();
                            for (int i = 0; i < 20_000; i++)
                            {
                                final boolean after = unmapped.get();
                                final long va = BASE + (random.nextLong(length) & ~7L);
                                final int status = cpu.writeLong(va, i);
                                if (status != Signal.NONE && status != Signal.SEGV_MAPERR)
                                {
                                    throw new AssertionError("unexpected " + Signal.codeName(status));
                                }
                                if (after && status != Signal.SEGV_MAPERR)
                                {
                                    throw new AssertionError("write succeeded after munmap returned at 0x" + Long.toHexString(va));
                                }
                            }
                        }
                        catch (final Throwable ex)
                        {
                            errors.add(ex);
                        }
                    }, "faulter-" + t));
                }
                threads.add(new Thread(() ->
                {
                    try (Cpu cpu = mm.attachCpu())
                    {
                        cpu.offline();
                        start.await();
                        assertEquals(0, cpu.munmap(BASE, length));
                        unmapped.set(true);
                    }
                    catch (final Throwable ex)
                    {
                        errors.add(ex);
                    }
                }, "unmapper"));
                threads.forEach(Thread::start);
                joinAll(threads);
            }
            assertTrue(errors.isEmpty(), () -> "failures: " + errors);
            mm.check(true).assertOk();
            assertEquals(baseline, memory.framesInUse(), "tables and frames of every round came back");
            mm.close();
        }
    }

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void aSecondMunmapOrMapFixedWaitsForTheFirstMunmap(final LockingMode locking) throws Exception
    {
        final long length = 16L << 20;
        try (PhysicalMemory memory = PhysicalMemory.create(512L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, SECTION);
            final long baseline = memory.framesInUse();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            for (int round = 0; round < 30; round++)
            {
                try (Cpu setup = mm.attachCpu())
                {
                    assertEquals(BASE, setup.mmap(BASE, length, RW, ANON | MAP_FIXED | MAP_POPULATE, -1, 0));
                }
                final boolean secondMaps = round % 2 == 1;
                final CyclicBarrier start = new CyclicBarrier(2);
                final List<Thread> threads = new ArrayList<>();
                threads.add(new Thread(() ->
                {
                    try (Cpu cpu = mm.attachCpu())
                    {
                        cpu.offline();
                        start.await();
                        assertEquals(0, cpu.munmap(BASE, length));
                        if (!secondMaps)
                        {
                            // both threads only unmap: once munmap returned, the range is reusable
                            // at once, even if the other munmap is still zapping it
                            assertEquals(BASE, cpu.mmap(BASE, 4096, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0),
                                "range not reusable after munmap returned");
                            assertEquals(0, cpu.munmap(BASE, 4096));
                        }
                    }
                    catch (final Throwable ex)
                    {
                        errors.add(ex);
                    }
                }, "first"));
                threads.add(new Thread(() ->
                {
                    try (Cpu cpu = mm.attachCpu())
                    {
                        cpu.offline();
                        start.await();
                        if (secondMaps)
                        {
                            assertEquals(BASE, cpu.mmap(BASE, length, RW, ANON | MAP_FIXED, -1, 0));
                            // the first munmap may come after this mapping (then it unmaps it), but
                            // never leaves the old, populated pages visible through it
                            final int status = cpu.readLong(BASE + length - 8);
                            assertTrue(status == Signal.NONE || status == Signal.SEGV_MAPERR, Signal.codeName(status));
                            if (status == Signal.NONE)
                            {
                                assertEquals(0, cpu.value(), "a fresh MAP_FIXED mapping reads zero");
                            }
                        }
                        else
                        {
                            assertEquals(0, cpu.munmap(BASE, length));
                        }
                    }
                    catch (final Throwable ex)
                    {
                        errors.add(ex);
                    }
                }, "second"));
                threads.forEach(Thread::start);
                joinAll(threads);
                mm.check(true).assertOk();
                final List<VmaInfo> left = mm.vmas();
                assertTrue(left.isEmpty() || (secondMaps && left.size() == 1 && left.get(0).start() == BASE &&
                    left.get(0).end() == BASE + length), "either unmapped or wholly replaced: " + left);
                try (Cpu cleanup = mm.attachCpu())
                {
                    assertEquals(0, cleanup.munmap(BASE, length));
                }
                assertEquals(baseline, memory.framesInUse(), "round " + round + ": no leak, no double free");
            }
            assertTrue(errors.isEmpty(), () -> "failures: " + errors);
            mm.close();
        }
    }
}
