package io.mmemu.vm;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many CPUs faulting one address space while another changes it under them; invariants after.
 */
class ConcurrentFaultTest
{
    private static final long BASE = 0x100000000000L;
    private static final long REGION = 8L << 20;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS;

    /**
     * Faulting threads read and write random pages of one region while a mutator mprotects,
     * munmaps, re-maps (MAP_FIXED), DONTNEEDs and mremaps random parts of it. Signals are
     * expected (that is the point); what must hold is: no exception, no hang, and afterwards the
     * tables, frame accounting and VMA/PTE consistency invariants; closing returns every frame.
     */
    static Stream<Arguments> modes()
    {
        return Stream.of(LockingMode.values())
            .flatMap(locking -> Stream.of(Backing.values()).map(backing -> Arguments.of(locking, backing)));
    }

    @ParameterizedTest
    @MethodSource("modes")
    void faultsRaceWithMprotectMunmapAndRemap(final LockingMode locking, final Backing backing) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(512L << 20, backing))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, 64L << 10);
            final Cpu setup = mm.attachCpu();
            assertEquals(BASE, setup.mmap(BASE, REGION, RW, ANON | MAP_FIXED, -1, 0));
            setup.close();
            final AtomicBoolean stop = new AtomicBoolean();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            final List<Thread> threads = new ArrayList<>();
            final long[] signals = new long[4];
            for (int t = 0; t < 4; t++)
            {
                final int id = t;
                threads.add(new Thread(() ->
                {
                    final SplittableRandom random = new SplittableRandom(id);
                    try (Cpu cpu = mm.attachCpu())
                    {
                        for (int i = 0; i < 40_000 && !stop.get(); i++)
                        {
                            final long va = BASE + (random.nextLong(REGION) & ~7L);
                            final int status = random.nextBoolean() ? cpu.writeLong(va, i) : cpu.readLong(va);
                            if (status != Signal.NONE)
                            {
                                signals[id]++;
                            }
                        }
                    }
                    catch (final Throwable ex)
                    {
                        errors.add(ex);
                    }
                }));
            }
            final Thread mutator = new Thread(() ->
            {
                final SplittableRandom random = new SplittableRandom(99);
                try (Cpu cpu = mm.attachCpu())
                {
                    for (int i = 0; i < 3_000; i++)
                    {
                        final long start = BASE + (random.nextLong(REGION) & ~4095L);
                        final long len = Math.min(BASE + REGION - start, (1 + random.nextInt(64)) * 4096L);
                        switch (random.nextInt(6))
                        {
                            case 0 -> cpu.mprotect(start, len, random.nextInt(4) == 0 ? PROT_NONE : PROT_READ);
                            case 1 -> cpu.mprotect(start, len, RW);
                            case 2 -> cpu.munmap(start, len);
                            case 3 -> cpu.mmap(start, len, RW, ANON | MAP_FIXED, -1, 0);
                            case 4 -> cpu.madvise(start, len, MADV_DONTNEED);
                            default ->
                            {
                                final long to = BASE + (random.nextLong(REGION - len) & ~4095L);
                                cpu.mremap(start, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
                            }
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
            });
            threads.add(mutator);
            threads.forEach(Thread::start);
            for (final Thread thread : threads)
            {
                thread.join(120_000);
                assertTrue(!thread.isAlive(), "a thread hung: " + thread);
            }
            assertTrue(errors.isEmpty(), () -> "exceptions: " + errors);
            mm.check(true).assertOk();
            mm.close();
            assertEquals(1, memory.framesInUse(), "only the zero page remains after close");
        }
    }

    /**
     * No lost writes: each writer owns pages it writes and reads back; a mutator splits and merges
     * the VMAs those pages live in (madvise flag changes, mprotect to the same protection via
     * different flags, mprotect and munmap of the mutator's own pages in between). Every read-back
     * must see the thread's last write.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(LockingMode.class)
    void writesSurviveSplitsAndMergesOfTheirVma(final LockingMode locking) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(256L << 20, Backing.FULL))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, 64L << 10);
            final Cpu setup = mm.attachCpu();
            assertEquals(BASE, setup.mmap(BASE, REGION, RW, ANON | MAP_FIXED, -1, 0));
            setup.close();
            final int writers = 3;
            final long slice = REGION / 4;
            final AtomicBoolean stop = new AtomicBoolean();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            final List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < writers; t++)
            {
                final long mine = BASE + t * slice;
                threads.add(new Thread(() ->
                {
                    final SplittableRandom random = new SplittableRandom(mine);
                    final long[] last = new long[(int)(slice / 4096)];
                    try (Cpu cpu = mm.attachCpu())
                    {
                        for (int i = 1; i <= 30_000; i++)
                        {
                            final int page = random.nextInt(last.length);
                            final long va = mine + page * 4096L;
                            if (random.nextBoolean())
                            {
                                assertEquals(Signal.NONE, cpu.writeLong(va, i));
                                last[page] = i;
                            }
                            else
                            {
                                assertEquals(Signal.NONE, cpu.readLong(va));
                                assertEquals(last[page], cpu.value(), "lost write at 0x" + Long.toHexString(va));
                            }
                        }
                    }
                    catch (final Throwable ex)
                    {
                        errors.add(ex);
                    }
                }));
            }
            final Thread mutator = new Thread(() ->
            {
                final SplittableRandom random = new SplittableRandom(7);
                final long chaos = BASE + writers * slice;
                try (Cpu cpu = mm.attachCpu())
                {
                    while (!stop.get())
                    {
                        final long start = BASE + (random.nextLong(writers * slice) & ~4095L);
                        final long len = Math.min(BASE + writers * slice - start, (1 + random.nextInt(32)) * 4096L);
                        switch (random.nextInt(5))
                        {
                            case 0 -> cpu.madvise(start, len, MADV_HUGEPAGE);
                            case 1 -> cpu.madvise(start, len, MADV_NOHUGEPAGE);
                            case 2 -> cpu.madvise(start, len, MADV_RANDOM);
                            case 3 -> cpu.mprotect(start, len, RW);
                            default ->
                            {
                                final long own = chaos + (random.nextLong(slice) & ~4095L);
                                final long ownLen = Math.min(chaos + slice - own, 4096L * (1 + random.nextInt(8)));
                                cpu.mprotect(own, ownLen, PROT_READ);
                                cpu.munmap(own, ownLen);
                                cpu.mmap(own, ownLen, RW, ANON | MAP_FIXED, -1, 0);
                            }
                        }
                    }
                }
                catch (final Throwable ex)
                {
                    errors.add(ex);
                }
            });
            threads.forEach(Thread::start);
            mutator.start();
            for (final Thread thread : threads)
            {
                thread.join(120_000);
                assertTrue(!thread.isAlive(), "a writer hung");
            }
            stop.set(true);
            mutator.join(60_000);
            assertTrue(errors.isEmpty(), () -> "failures: " + errors);
            mm.check(true).assertOk();
            mm.close();
            assertEquals(1, memory.framesInUse());
        }
    }
}
