package io.mmemu.vm;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MAP_SHARED;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Frames come back zero however their last owner wrote them: the written-lines record that lets
 * a freed page clear only what stores reached must miss no store, even when several CPUs write
 * different lines of one page at the same time (a shared mapping), and however many lines a page
 * took (few: cleared at free; many: cleared at reuse).
 */
final class FrameReuseTest
{
    private static final long BASE = 0x300000000000L;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int PAGES = 64;
    private static final int THREADS = 4;
    private static final int ROUNDS = 400;

    @Test
    void everyReusedFrameReadsZeroAfterConcurrentWritesToSharedPages() throws Exception
    {
        // small enough that frames are reused round after round; unpoisoned, so that the
        // written-lines record decides what is cleared (Kasan's poison would clear whole frames)
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20).disablePoisoning();
             AddressSpace mm = AddressSpace.create(memory))
        {
            final CyclicBarrier barrier = new CyclicBarrier(THREADS);
            final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            final List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++)
            {
                final int id = t;
                threads.add(new Thread(() ->
                {
                    final SplittableRandom random = new SplittableRandom(id * 7919L);
                    try (Cpu cpu = mm.attachCpu())
                    {
                        for (int round = 0; round < ROUNDS; round++)
                        {
                            if (id == 0)
                            {
                                // a shared mapping all threads write, and a private one per thread below
                                check(failures, BASE == cpu.mmap(BASE, PAGES * 4096L, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
                                    "shared mmap");
                            }
                            final long own = cpu.mmap(0, PAGES * 4096L, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                            cpu.offline(); // a CPU waiting outside the emulator takes no shootdowns: it goes offline
                            barrier.await();
                            // every fresh frame reads zero everywhere but where it was just written (a first
                            // write: a read would map the shared zero page instead of a frame)
                            for (int p = 0; p < PAGES; p++)
                            {
                                check(failures, cpu.writeLong(own + p * 4096L, 1) == Signal.NONE, "first write");
                                for (long off = 8; off < 4096; off += 8)
                                {
                                    expectZero(cpu, own + p * 4096L + off, failures);
                                }
                            }
                            // each thread writes its own lines of every shared page (one to many lines:
                            // below and above the clear-at-free threshold), and random lines of its own pages
                            // mostly few lines in all (cleared at free from the record), sometimes many (cleared at reuse)
                            final int lines = round % 8 == 7 ? 1 + random.nextInt(16) : 1 + random.nextInt(2);
                            for (int p = 0; p < PAGES; p++)
                            {
                                for (int l = 0; l < lines; l++)
                                {
                                    final long line = (l * THREADS + id) % 64;
                                    check(failures, cpu.writeLong(BASE + p * 4096L + line * 64 + 8 * (l & 7), -1L) == Signal.NONE,
                                        "shared write");
                                    check(failures, cpu.writeLong(own + p * 4096L + random.nextInt(512) * 8L, round + 1) == Signal.NONE,
                                        "own write");
                                }
                            }
                            cpu.offline();
                            barrier.await();
                            check(failures, cpu.munmap(own, PAGES * 4096L) == 0, "munmap own");
                            if (id == 0)
                            {
                                check(failures, cpu.munmap(BASE, PAGES * 4096L) == 0, "munmap shared");
                            }
                            cpu.offline();
                            barrier.await();
                        }
                    }
                    catch (final Exception ex)
                    {
                        failures.add(ex.toString());
                        barrier.reset();
                    }
                }));
            }
            threads.forEach(Thread::start);
            for (final Thread thread : threads)
            {
                thread.join();
            }
            assertTrue(failures.isEmpty(), () -> failures.size() + " failures, first: " + failures.peek());
            mm.check(true).assertOk();
        }
    }

    private static void expectZero(final Cpu cpu, final long va, final ConcurrentLinkedQueue<String> failures)
    {
        if (cpu.readLong(va) != Signal.NONE || cpu.value() != 0)
        {
            failures.add(String.format("0x%x reads 0x%x in a fresh page", va, cpu.value()));
        }
    }

    private static void check(final ConcurrentLinkedQueue<String> failures, final boolean ok, final String what)
    {
        if (!ok)
        {
            failures.add(what + " failed");
        }
    }
}
