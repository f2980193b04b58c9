package io.mmemu.vm;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;
import static io.mmemu.vm.Mman.MADV_DONTNEED;
import static io.mmemu.vm.Mman.MADV_REMOVE;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MAP_SHARED;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults racing what changes their page under them: hole punches (MADV_REMOVE) of the shared
 * memory they fault in, and each other on one zero-page-mapped address.
 */
final class FaultRaceTest
{
    private static final long BASE = 0x300000000000L;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int PAGES = 32;
    private static final int FAULTERS = 3;
    private static final int ROUNDS = 150;
    private static final int PUNCHES = 10;

    /**
     * Threads write and read back their own word of every page of a shared mapping while another
     * punches the whole range again and again. A read sees the thread's word or zero (punched
     * since), never anything else; after each round every mapped entry maps the page the cache
     * holds for its offset (no stale page survives a punch), each cached page's references are
     * the cache's plus one per entry; at the end every frame has come back.
     */
    @Test
    void holePunchesRacingSharedFaultsLeaveNoStalePageAndLoseNoFrame() throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final long baseline = memory.framesInUse();
            try (AddressSpace mm = AddressSpace.create(memory))
            {
                final Cpu main = mm.attachCpu();
                assertEquals(BASE, main.mmap(BASE, PAGES * 4096L, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
                final MappedFile inode = mm.tree().find(BASE).file.inode();
                final CyclicBarrier barrier = new CyclicBarrier(FAULTERS + 2);
                final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
                final boolean[] stop = new boolean[1];
                final List<Thread> threads = new ArrayList<>();
                final Thread puncher = new Thread(() ->
                {
                    try (Cpu cpu = mm.attachCpu())
                    {
                        for (int round = 0; round < ROUNDS; round++)
                        {
                            cpu.offline();
                            barrier.await();
                            for (int i = 0; i < PUNCHES; i++)
                            {
                                if (cpu.madvise(BASE, PAGES * 4096L, MADV_REMOVE) != 0)
                                {
                                    failures.add("MADV_REMOVE failed");
                                }
                            }
                            synchronized (stop)
                            {
                                stop[0] = true;
                            }
                            cpu.offline();
                            barrier.await();
                        }
                        // the last round's check runs before this CPU retires its frame cache
                        barrier.await();
                    }
                    catch (final Throwable ex)
                    {
                        failures.add("puncher: " + ex);
                        barrier.reset();
                    }
                });
                threads.add(puncher);
                for (int t = 0; t < FAULTERS; t++)
                {
                    final int id = t;
                    threads.add(new Thread(() ->
                    {
                        try (Cpu cpu = mm.attachCpu())
                        {
                            for (int round = 0; round < ROUNDS; round++)
                            {
                                cpu.offline();
                                barrier.await();
                                long pass = 0;
                                while (!stopped(stop))
                                {
                                    pass++;
                                    for (int p = 0; p < PAGES; p++)
                                    {
                                        final long va = BASE + p * 4096L + id * 8L;
                                        final long word = ((long)(id + 1) << 48) | ((long)p << 32) | pass;
                                        if (cpu.writeLong(va, word) != Signal.NONE || cpu.readLong(va) != Signal.NONE)
                                        {
                                            failures.add("signal at " + Long.toHexString(va));
                                        }
                                        else if (cpu.value() != word && cpu.value() != 0)
                                        {
                                            failures.add(String.format("page %d read 0x%x after writing 0x%x", p, cpu.value(), word));
                                        }
                                    }
                                }
                                cpu.offline();
                                barrier.await();
                            }
                            barrier.await();
                        }
                        catch (final Throwable ex)
                        {
                            failures.add("faulter: " + ex);
                            barrier.reset();
                        }
                    }));
                }
                threads.forEach(Thread::start);
                for (int round = 0; round < ROUNDS && failures.isEmpty(); round++)
                {
                    synchronized (stop)
                    {
                        stop[0] = false;
                    }
                    main.offline();
                    barrier.await();
                    barrier.await();
                    checkAgainstCache(main, memory, inode, failures);
                    mm.check(true).violations().forEach(failures::add);
                }
                if (failures.isEmpty())
                {
                    // the check counts every CPU's cached frames: the others retire theirs (moving
                    // them to the buddy allocator) only once the last round's check is done
                    main.offline();
                    barrier.await();
                }
                else
                {
                    synchronized (stop)
                    {
                        stop[0] = true;
                    }
                    barrier.reset();
                }
                for (final Thread thread : threads)
                {
                    thread.join();
                }
                assertTrue(failures.isEmpty(), () -> failures.size() + " failures, first: " + failures.peek());
                main.close();
            }
            assertEquals(baseline, memory.framesInUse(), "every frame back after the address space is gone");
        }
    }

    private static boolean stopped(final boolean[] stop)
    {
        synchronized (stop)
        {
            return stop[0];
        }
    }

    /** Every mapped entry maps the cache's page for its offset; every cached page has one reference per entry besides the cache's. */
    private static void checkAgainstCache(final Cpu cpu, final PhysicalMemory memory, final MappedFile inode,
        final ConcurrentLinkedQueue<String> failures)
    {
        final PageWalker walker = new PageWalker(memory, cpu.cache);
        for (int p = 0; p < PAGES; p++)
        {
            final long cached = inode.find(p);
            final int status = walker.walk(cpu.mm.cr3(), BASE + p * 4096L);
            final long e = status == PageWalker.WALK_PTE ? walker.entry() : 0;
            final long mapped = PageTableEntry.isMapped(e) ? PageTableEntry.pfn(e) : NO_FRAME;
            if (mapped != NO_FRAME && mapped != cached)
            {
                failures.add(String.format("page %d maps frame %d, the cache holds %d", p, mapped, cached));
            }
            if (cached != NO_FRAME && memory.refcount(cached) != 1 + (mapped == cached ? 1 : 0))
            {
                failures.add(String.format("cached page %d (frame %d): refcount %d, mapped %b", p, cached,
                    memory.refcount(cached), mapped == cached));
            }
        }
    }

    /**
     * Threads write one zero-page-mapped address at once, round after round: one copy-on-write
     * break wins each round, and only the winner counts (and flushes); the losers' pages go back.
     */
    @Test
    void onlyTheZeroPageCowThatInstalledCounts() throws Exception
    {
        final int threads = 3;
        final int rounds = 3000;
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20);
             AddressSpace mm = AddressSpace.create(memory))
        {
            final Cpu main = mm.attachCpu();
            assertEquals(BASE, main.mmap(BASE, 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
            final CyclicBarrier barrier = new CyclicBarrier(threads + 1);
            final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            final List<Thread> writers = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                final int id = t;
                writers.add(new Thread(() ->
                {
                    try (Cpu cpu = mm.attachCpu())
                    {
                        for (int round = 0; round < rounds; round++)
                        {
                            cpu.offline();
                            barrier.await();
                            if (cpu.writeByte(BASE + id, 1) != Signal.NONE)
                            {
                                failures.add("write failed");
                            }
                            cpu.offline();
                            barrier.await();
                        }
                    }
                    catch (final Throwable ex)
                    {
                        failures.add(ex.toString());
                        barrier.reset();
                    }
                }));
            }
            writers.forEach(Thread::start);
            final long before = mm.stats().zeroPageCow();
            for (int round = 0; round < rounds; round++)
            {
                // the page back to the zero page: dropped, then read
                assertEquals(0, main.madvise(BASE, 4096, MADV_DONTNEED));
                assertEquals(Signal.NONE, main.readByte(BASE));
                main.offline();
                barrier.await();
                barrier.await();
            }
            for (final Thread writer : writers)
            {
                writer.join();
            }
            assertTrue(failures.isEmpty(), () -> "first failure: " + failures.peek());
            assertEquals(rounds, mm.stats().zeroPageCow() - before, "one counted COW break per round");
            mm.check(true).assertOk();
            main.close();
        }
    }
}
