package io.mmemu.vm;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.mmemu.pgtable.HugePmd;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Threads touching both ends of a region while another thread moves it back and forth with
 * mremap(MREMAP_MAYMOVE|MREMAP_FIXED): whole PT pages (aligned ends), 4 KiB entries one by one
 * (one end a page off), and THP leaves with PT pages between them. Each toucher writes its own
 * pages at one end and reads one of them back at either end. Checked for every pair:
 * <ul>
 *   <li>a read that succeeds returns the last value this thread wrote there (never stale, never a
 *       fresh zero page over a moving entry);</li>
 *   <li>a write that succeeds at one end followed by a read that succeeds at the other needs a
 *       move from the first end to the second that may lie between them: one whose call started
 *       before the read returned and which had not returned when the write was called. Without the
 *       move's freeze an access through an entry already at the destination and then one through an
 *       entry not yet moved both succeed within one mremap, and no such move exists.</li>
 * </ul>
 * Afterwards the invariant checker (no frozen entry left, counts, deposits) and every frame back.
 */
final class MoveRaceTest
{
    private static final long PAGE = 4096;
    private static final long BLOCK = HugePmd.SIZE;
    private static final long A = 0x100000000000L;
    private static final long B = 0x200000000000L;
    private static final int BLOCKS = 4;
    private static final long LENGTH = BLOCKS * BLOCK;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int TOUCHERS = 2;
    /** Pages each toucher owns, spread over the blocks. */
    private static final int OWN = 16;
    private static final int MOVES = 120;

    enum Layout
    {
        PT_PAGES, PTES, THP
    }

    @ParameterizedTest
    @CsvSource({
        "PER_VMA, PT_PAGES", "MMAP_LOCK, PT_PAGES",
        "PER_VMA, PTES", "MMAP_LOCK, PTES",
        "PER_VMA, THP", "MMAP_LOCK, THP"})
    void accessesAtBothEndsNeverSeeAMoveHalfDone(final LockingMode locking, final Layout layout) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final long baseline = memory.framesInUse();
            final AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION).thp(ThpMode.NEVER);
            final long[] ends = {A, layout == Layout.PTES ? B + PAGE : B};
            final long[][] pages = new long[TOUCHERS][OWN];
            final int[][] last = new int[TOUCHERS][OWN];
            try (Cpu setup = mm.attachCpu())
            {
                assertEquals(A, setup.mmap(A, LENGTH, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
                // THP: blocks 1 and 3 in 4 KiB pages (PT pages), blocks 0 and 2 huge leaves
                for (int pass = 0; pass < 2; pass++)
                {
                    mm.thp(pass == 1 && layout == Layout.THP ? ThpMode.ALWAYS : ThpMode.NEVER);
                    for (int t = 0; t < TOUCHERS; t++)
                    {
                        for (int k = 0; k < OWN; k++)
                        {
                            // page k*43+t of 512 in block k % 4
                            final long block = k % BLOCKS;
                            final long page = block * BLOCK + (((k * 43L + t) % 512) << 12);
                            if ((block % 2 == 0) == (pass == 1))
                            {
                                pages[t][k] = page;
                                last[t][k] = 1 + t;
                                assertEquals(Signal.NONE, setup.writeByte(A + page + t, last[t][k]));
                            }
                        }
                    }
                }
            }
            final boolean huge = layout == Layout.THP;
            assertEquals(huge, leaf(memory, mm, A), "block 0's leaf");
            final AtomicLong started = new AtomicLong();
            final AtomicLong completed = new AtomicLong();
            final AtomicBoolean done = new AtomicBoolean();
            final AtomicLong steps = new AtomicLong();
            final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            final long[] pairs = new long[TOUCHERS];
            final List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < TOUCHERS; t++)
            {
                final int id = t;
                threads.add(new Thread(() ->
                {
                    final SplittableRandom random = new SplittableRandom(4242 + id);
                    try (Cpu cpu = mm.attachCpu())
                    {
                        int value = 1 + id;
                        while (!done.get() && failures.isEmpty())
                        {
                            final int k1 = random.nextInt(OWN);
                            final int side1 = random.nextInt(2);
                            value = value % 250 + 1;
                            final long c1 = completed.get();
                            final int wrote = cpu.writeByte(ends[side1] + pages[id][k1] + id, value);
                            if (wrote == Signal.NONE)
                            {
                                last[id][k1] = value;
                            }
                            else if (wrote != Signal.SEGV_MAPERR)
                            {
                                failures.add("write signal " + wrote);
                            }
                            final int k2 = random.nextInt(OWN);
                            final int side2 = random.nextInt(2);
                            final int read = cpu.readByte(ends[side2] + pages[id][k2] + id);
                            final long s2 = started.get();
                            if (read == Signal.NONE)
                            {
                                if (cpu.value() != last[id][k2])
                                {
                                    failures.add(String.format("toucher %d read %d at end %d page 0x%x, last wrote %d",
                                        id, cpu.value(), side2, pages[id][k2], last[id][k2]));
                                }
                            }
                            else if (read != Signal.SEGV_MAPERR)
                            {
                                failures.add("read signal " + read);
                            }
                            if (wrote == Signal.NONE && read == Signal.NONE && side1 != side2)
                            {
                                pairs[id]++;
                                // move i goes from end i % 2 to the other: one from side1 in [c1, s2 - 1]
                                final long first = c1 + ((c1 & 1) == side1 ? 0 : 1);
                                if (first > s2 - 1)
                                {
                                    failures.add(String.format("toucher %d wrote at end %d and then read at end %d with no move "
                                        + "between them (moves done before: %d, started after: %d)", id, side1, side2, c1, s2));
                                }
                            }
                            steps.incrementAndGet();
                        }
                    }
                    catch (final Throwable ex)
                    {
                        errors.add(ex);
                    }
                }, "toucher-" + t));
            }
            final Thread mover = new Thread(() ->
            {
                try (Cpu cpu = mm.attachCpu())
                {
                    for (int i = 0; i < MOVES && failures.isEmpty(); i++)
                    {
                        // pace the moves: a few touches between each two, so touches meet every layout's moves
                        final long seen = steps.get();
                        while (steps.get() < seen + TOUCHERS && failures.isEmpty() && errors.isEmpty())
                        {
                            cpu.pollWhileWaiting();
                            Thread.onSpinWait();
                        }
                        final long from = ends[i & 1];
                        final long to = ends[(i + 1) & 1];
                        started.incrementAndGet();
                        final long result = cpu.mremap(from, LENGTH, LENGTH, MREMAP_MAYMOVE | MREMAP_FIXED, to);
                        completed.incrementAndGet();
                        if (result != to)
                        {
                            failures.add("mremap " + i + " = " + result);
                        }
                    }
                }
                catch (final Throwable ex)
                {
                    errors.add(ex);
                }
                finally
                {
                    done.set(true);
                }
            }, "mover");
            threads.forEach(Thread::start);
            mover.start();
            mover.join();
            for (final Thread t : threads)
            {
                t.join();
            }
            assertTrue(errors.isEmpty(), () -> "errors: " + errors);
            assertTrue(failures.isEmpty(), () -> failures.size() + " failures, the first: " + failures.peek());
            assertEquals(MOVES, completed.get());
            final long at = ends[MOVES & 1];
            assertEquals(huge, leaf(memory, mm, at), "block 0's leaf moved whole every time");
            assertEquals(huge, leaf(memory, mm, at + 2 * BLOCK), "block 2's leaf too");
            try (Cpu after = mm.attachCpu())
            {
                for (int t = 0; t < TOUCHERS; t++)
                {
                    for (int k = 0; k < OWN; k++)
                    {
                        assertEquals(Signal.NONE, after.readByte(at + pages[t][k] + t));
                        assertEquals(last[t][k], after.value());
                    }
                }
                mm.check(true).assertOk();
                assertEquals(0, after.munmap(at, LENGTH));
            }
            mm.check(true).assertOk();
            mm.close();
            assertEquals(baseline, memory.framesInUse());
            // the pairs the check above judged: touchers did reach both ends between moves
            assertTrue(pairs[0] + pairs[1] > 0, "no write and read succeeded at opposite ends");
        }
    }

    private static boolean leaf(final PhysicalMemory memory, final AddressSpace mm, final long va)
    {
        return new PageWalker(memory, null).walk(mm.cr3(), va) == PageWalker.WALK_LARGE;
    }
}
