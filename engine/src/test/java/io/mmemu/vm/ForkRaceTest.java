package io.mmemu.vm;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * fork while other threads of the parent write (through TLB entries fork write-protects) and
 * mmap/write/munmap a second range: each child must see one state of the parent — a consistent cut
 * of the writer's sequence, and the other range either unmapped or mapped with a prefix of its
 * round's writes — and its own writes must not reach the parent, whose writer reads back every
 * value it wrote. Afterwards the tables and frame counts are consistent and every frame comes back.
 */
final class ForkRaceTest
{
    private static final long WRITTEN = 0x300000000000L;
    private static final long CHURNED = 0x300100000000L;
    private static final long PAGE = 4096;
    /** The written pages lie 2 MiB apart, each in its own page table: fork copies them one PT lock at a time. */
    private static final long STRIDE = 2L << 20;
    private static final int PAGES = WriteOrder.SLOTS;
    private static final int CHURN_PAGES = 8;
    private static final int FORKS = 150;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

    private static long pageOf(final long c)
    {
        return WRITTEN + WriteOrder.slotOf(c) * STRIDE;
    }

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void eachChildSeesOneStateOfItsParent(final LockingMode locking) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(128L << 20))
        {
            final long baseline = memory.framesInUse();
            final AddressSpace parent = AddressSpace.create(memory, locking, 64 * PAGE);
            final Cpu main = parent.attachCpu();
            assertEquals(WRITTEN, main.mmap(WRITTEN, PAGES * STRIDE, RW, ANON, -1, 0));
            for (long c = 1; c <= PAGES; c++)
            {
                assertEquals(Signal.NONE, main.writeLong(pageOf(c), c));
            }
            final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            final AtomicLong started = new AtomicLong(PAGES);
            final AtomicLong completed = new AtomicLong(PAGES);
            final AtomicLong churnRound = new AtomicLong();
            final boolean[] stop = {false};
            final Thread writer = new Thread(() ->
            {
                try (Cpu cpu = parent.attachCpu())
                {
                    for (long c = PAGES + 1; !stopped(stop); c++)
                    {
                        started.set(c);
                        if (cpu.writeLong(pageOf(c), c) != Signal.NONE || cpu.readLong(pageOf(c)) != Signal.NONE ||
                            cpu.value() != c)
                        {
                            failures.add("the parent's writer lost its write " + c + ": read " + cpu.value());
                            return;
                        }
                        completed.set(c);
                    }
                }
            });
            final Thread churner = new Thread(() ->
            {
                try (Cpu cpu = parent.attachCpu())
                {
                    for (long k = 1; !stopped(stop); k++)
                    {
                        churnRound.set(k);
                        if (cpu.mmap(CHURNED, CHURN_PAGES * PAGE, RW, ANON, -1, 0) != CHURNED)
                        {
                            failures.add("mmap of the churned range failed");
                            return;
                        }
                        for (int i = 0; i < CHURN_PAGES; i++)
                        {
                            if (cpu.writeLong(CHURNED + i * PAGE, k) != Signal.NONE)
                            {
                                failures.add("write to the churned range failed");
                                return;
                            }
                        }
                        if (cpu.munmap(CHURNED, CHURN_PAGES * PAGE) != 0)
                        {
                            failures.add("munmap of the churned range failed");
                            return;
                        }
                    }
                }
            });
            writer.start();
            churner.start();
            try
            {
                for (int f = 0; f < FORKS && failures.isEmpty(); f++)
                {
                    final long before = completed.get();
                    final long roundBefore = churnRound.get();
                    final AddressSpace child = main.fork();
                    final long after = started.get();
                    final long roundAfter = churnRound.get();
                    // the child's CPU runs on this thread: the parent's must not hold up shootdowns meanwhile
                    main.offline();
                    try (Cpu c = child.attachCpu())
                    {
                        checkChild(c, before, after, roundBefore, roundAfter, failures);
                    }
                    child.close();
                }
            }
            finally
            {
                synchronized (stop)
                {
                    stop[0] = true;
                }
                main.offline();
                writer.join();
                churner.join();
            }
            assertTrue(failures.isEmpty(), String.join("\n", failures));
            parent.check(true).assertOk();
            assertTrue(parent.stats().cowBreaks() + parent.stats().cowReuses() > 0, "the writer broke copy-on-write");
            main.close();
            parent.close();
            assertEquals(baseline, memory.framesInUse(), "every frame came back");
        }
    }

    private static boolean stopped(final boolean[] stop)
    {
        synchronized (stop)
        {
            return stop[0];
        }
    }

    /**
     * The child's written range is the writer's state after some write {@code cut} between the
     * last one completed before the fork and the first one started after it: page p holds the
     * latest value c ≤ cut written to p. Its churned range is unmapped, or mapped with a prefix of
     * one round's writes. Then the child overwrites its pages (a copy each: the parent keeps its own).
     */
    private static void checkChild(final Cpu c, final long before, final long after, final long roundBefore,
        final long roundAfter, final ConcurrentLinkedQueue<String> failures)
    {
        final long[] seen = new long[PAGES];
        long cut = 0;
        for (int p = 0; p < PAGES; p++)
        {
            if (c.readLong(WRITTEN + p * STRIDE) != Signal.NONE)
            {
                failures.add("the child cannot read its page " + p);
                return;
            }
            seen[p] = c.value();
            cut = Math.max(cut, seen[p]);
        }
        if (cut < before || cut > after)
        {
            failures.add(String.format("the child's latest write %d is outside [%d, %d]", cut, before, after));
        }
        for (int p = 0; p < PAGES; p++)
        {
            final long expected = WriteOrder.lastWriteTo(p, cut);
            if (seen[p] != expected)
            {
                failures.add(String.format("page %d holds %d, but the cut at %d says %d", p, seen[p], cut, expected));
            }
        }
        final int first = c.readLong(CHURNED);
        if (first == Signal.SEGV_MAPERR)
        {
            for (int i = 1; i < CHURN_PAGES; i++)
            {
                if (c.readLong(CHURNED + i * PAGE) != Signal.SEGV_MAPERR)
                {
                    failures.add("the churned range is half mapped in the child");
                }
            }
        }
        else if (first == Signal.NONE)
        {
            final long round = c.value();
            boolean zeros = round == 0;
            if (round != 0 && (round < roundBefore || round > roundAfter))
            {
                failures.add(String.format("churn round %d outside [%d, %d]", round, roundBefore, roundAfter));
            }
            for (int i = 1; i < CHURN_PAGES; i++)
            {
                if (c.readLong(CHURNED + i * PAGE) != Signal.NONE)
                {
                    failures.add("the churned range is half mapped in the child");
                    return;
                }
                final long v = c.value();
                if (v != (zeros ? 0 : round) && !(v == 0 && !zeros))
                {
                    failures.add(String.format("churned page %d holds %d after a prefix of round %d", i, v, round));
                }
                zeros |= v == 0;
            }
        }
        else
        {
            failures.add("the child's read of the churned range raised " + first);
        }
        for (int p = 0; p < PAGES; p++)
        {
            if (c.writeLong(WRITTEN + p * STRIDE, -1) != Signal.NONE || c.readLong(WRITTEN + p * STRIDE) != Signal.NONE ||
                c.value() != -1)
            {
                failures.add("the child's own write to page " + p + " did not stay");
            }
        }
    }
}
