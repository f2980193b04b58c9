package io.mmemu.vm;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

import io.mmemu.pgtable.HugePmd;
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
 * fork while another thread of the parent writes into its transparent huge pages: each child must
 * see one state of the parent (a consistent cut of the writer's sequence, as {@link ForkRaceTest}
 * asks of 4 KiB pages) although the leaves it got were copied whole and the writer's next write
 * splits the parent's; the child's own writes must not reach the parent. After each fork, with the
 * writer parked, both processes are checked together, and the range is made two 2 MiB leaves again.
 */
final class ForkThpRaceTest
{
    private static final long BASE = 0x300000000000L;
    private static final long HUGE = HugePmd.SIZE;
    private static final int SLOTS = WriteOrder.SLOTS;
    /** Slots 128 KiB apart: sixteen in each of the two blocks. */
    private static final long STRIDE = 2 * HUGE / SLOTS;
    private static final int FORKS = 40;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

    private static long slot(final int p)
    {
        return BASE + p * STRIDE;
    }

    /** The writer thread's pause: requested by the test thread, acknowledged with its CPU offline. */
    private static final class Pause
    {
        volatile boolean requested;
        volatile boolean parked;

        void park(final Cpu cpu)
        {
            if (!requested)
            {
                return;
            }
            // offline: a shootdown of the test thread (munmap, fork's flush) must not wait for this CPU
            cpu.offline();
            parked = true;
            while (requested)
            {
                Thread.onSpinWait();
            }
            parked = false;
        }

        /** Waits until {@code writer} is parked, or has ended (a failure it recorded). */
        void hold(final Thread writer)
        {
            requested = true;
            while (!parked && writer.isAlive())
            {
                Thread.onSpinWait();
            }
        }

        void release()
        {
            requested = false;
            while (parked)
            {
                Thread.onSpinWait();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void eachChildSeesOneStateOfItsParentsHugePages(final LockingMode locking) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(128L << 20))
        {
            final long baseline = memory.framesInUse();
            final AddressSpace parent = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION).thp(ThpMode.ALWAYS);
            final Cpu main = parent.attachCpu();
            final long[] values = new long[SLOTS];
            for (long c = 1; c <= SLOTS; c++)
            {
                values[WriteOrder.slotOf(c)] = c;
            }
            remap(main, values);
            final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            final AtomicLong started = new AtomicLong(SLOTS);
            final AtomicLong completed = new AtomicLong(SLOTS);
            final Pause pause = new Pause();
            final boolean[] stop = {false};
            final Thread writer = new Thread(() ->
            {
                try (Cpu cpu = parent.attachCpu())
                {
                    for (long c = SLOTS + 1; !stopped(stop); c++)
                    {
                        pause.park(cpu);
                        started.set(c);
                        final long va = slot(WriteOrder.slotOf(c));
                        if (cpu.writeLong(va, c) != Signal.NONE || cpu.readLong(va) != Signal.NONE || cpu.value() != c)
                        {
                            failures.add("the parent's writer lost its write " + c + ": read " + cpu.value());
                            return;
                        }
                        completed.set(c);
                    }
                }
            });
            pause.requested = true;
            writer.start();
            int hugeCopies = 0;
            try
            {
                for (int f = 0; f < FORKS && failures.isEmpty(); f++)
                {
                    pause.release();
                    final long mark = completed.get() + 8;
                    while (completed.get() < mark && writer.isAlive())
                    {
                        Thread.onSpinWait();
                    }
                    final long before = completed.get();
                    final AddressSpace child = main.fork();
                    final long after = started.get();
                    assertTrue(child != null, "fork failed");
                    if (MemoryProbe.isHuge(child, BASE) || MemoryProbe.isHuge(child, BASE + HUGE))
                    {
                        hugeCopies++;
                    }
                    main.offline();
                    final Cpu c = child.attachCpu();
                    checkChild(c, before, after, failures);
                    c.offline();
                    pause.hold(writer);
                    AddressSpace.checkAll(true, parent, child).assertOk();
                    final long last = completed.get();
                    for (int p = 0; p < SLOTS; p++)
                    {
                        assertEquals(Signal.NONE, main.readLong(slot(p)));
                        values[p] = main.value();
                        if (values[p] != WriteOrder.lastWriteTo(p, last))
                        {
                            failures.add(String.format("the parent's slot %d holds %d, not the writer's %d", p, values[p],
                                WriteOrder.lastWriteTo(p, last)));
                        }
                    }
                    c.close();
                    child.close();
                    parent.check(true).assertOk();
                    // two 2 MiB leaves again for the next fork, with the writer's state
                    remap(main, values);
                }
            }
            finally
            {
                synchronized (stop)
                {
                    stop[0] = true;
                }
                pause.requested = false;
                main.offline();
                writer.join();
            }
            assertTrue(failures.isEmpty(), String.join("\n", failures));
            assertEquals(FORKS, hugeCopies, "every fork copied 2 MiB leaves");
            parent.check(true).assertOk();
            main.close();
            parent.close();
            assertEquals(baseline, memory.framesInUse() - memory.hugeZeroPageFrames(), "every frame came back");
        }
    }

    private static boolean stopped(final boolean[] stop)
    {
        synchronized (stop)
        {
            return stop[0];
        }
    }

    /** The range mapped afresh (two 2 MiB leaves: the policy is "always") and {@code values} written into its slots. */
    private static void remap(final Cpu main, final long[] values)
    {
        // munmap first: a MAP_FIXED over the old mapping would keep its PT pages (4 KiB faults then)
        assertEquals(0, main.munmap(BASE, 2 * HUGE));
        assertEquals(BASE, main.mmap(BASE, 2 * HUGE, RW, ANON, -1, 0));
        for (int p = 0; p < SLOTS; p++)
        {
            assertEquals(Signal.NONE, main.writeLong(slot(p), values[p]));
        }
        assertTrue(MemoryProbe.isHuge(main.mm, BASE) && MemoryProbe.isHuge(main.mm, BASE + HUGE), "two 2 MiB leaves");
    }

    /**
     * The child's slots are the writer's state after some write {@code cut} between the last one
     * completed before the fork and the first one started after it; then the child overwrites them
     * (its own copies: the parent never sees these values).
     */
    private static void checkChild(final Cpu c, final long before, final long after,
        final ConcurrentLinkedQueue<String> failures)
    {
        final long[] seen = new long[SLOTS];
        long cut = 0;
        for (int p = 0; p < SLOTS; p++)
        {
            if (c.readLong(slot(p)) != Signal.NONE)
            {
                failures.add("the child cannot read its slot " + p);
                return;
            }
            seen[p] = c.value();
            cut = Math.max(cut, seen[p]);
        }
        if (cut < before || cut > after)
        {
            failures.add(String.format("the child's latest write %d is outside [%d, %d]", cut, before, after));
        }
        for (int p = 0; p < SLOTS; p++)
        {
            if (seen[p] != WriteOrder.lastWriteTo(p, cut))
            {
                failures.add(String.format("the child's slot %d holds %d, not %d of cut %d", p, seen[p], WriteOrder.lastWriteTo(p, cut), cut));
            }
            if (c.writeLong(slot(p), -1L - p) != Signal.NONE)
            {
                failures.add("the child cannot write its slot " + p);
            }
        }
    }
}
