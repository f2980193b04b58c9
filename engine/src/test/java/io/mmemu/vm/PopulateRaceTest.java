package io.mmemu.vm;

import static io.mmemu.vm.Mman.MADV_POPULATE_WRITE;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A populate racing writers over its range returns only what some sequential order gives, in both
 * locking modes: it holds the mmap lock for reading across its range (and waits out a per-VMA
 * writer half-way through it before it starts), so no writer comes between two of its faults.
 */
final class PopulateRaceTest
{
    private static final int PAGES = 64;
    private static final int ROUNDS = 4000;
    /** Populates of a race whose writer starts with the populate (a narrow window each time). */
    private static final int RACE_ROUNDS = 1000;
    /**
     * At most this many populates of a race whose writer starts once the populate is past its first
     * page (a wide window, which the writer misses when it is not scheduled in time) ...
     */
    private static final int GATED_ROUNDS = 300;
    /** ... and no more once the writer has begun during this many of them. */
    private static final int GATED_OPENINGS = 5;
    private static final long PAGE = 4096;
    /** Pages from one end of a range to the other: a populate's walk over them outlasts a writer's half cycle. */
    private static final int ENDS_APART = 8192;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int FIXED = MAP_PRIVATE | MAP_ANONYMOUS | Mman.MAP_FIXED;

    /** One change of the writer's cycle, asserting its own result. */
    @FunctionalInterface
    private interface Step
    {
        void run(Cpu cpu);
    }

    /**
     * The test thread populates {@code [from, from + length)} with {@code advice}, then drops the
     * range's pages (so the next populate faults every page again), up to {@code rounds} times; a
     * writer thread runs {@code during} once a populate has begun and {@code after} once it has
     * returned, so that the populate's walk (from one end of the range to the other) and the
     * writer's first half run together. With a {@code gate} (not 0) the two take turns (each
     * round starts with the writer done and waiting), the writer's first half waits until a PTE
     * maps {@code gate} (the populate is past it) or the populate returned, and the rounds end once
     * {@link #GATED_OPENINGS} of them had the writer begin during the populate. Every state the
     * writer passes through refuses the populate with {@code expected}, so every sequential order
     * does; a populate that returns anything else (0: it found each end mapped at a different
     * moment) was torn by the writer. Invariants are checked after. Tables-only backing: the long
     * walks cost no frame bytes.
     */
    private static void populateAlwaysRefused(final LockingMode locking, final Step setup, final long from,
        final long length, final int advice, final int expected, final long gate, final int rounds,
        final Step[] during, final Step[] after) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(1L << 30, Backing.TABLES_ONLY))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION);
            try (Cpu cpu = mm.attachCpu())
            {
                setup.run(cpu);
            }
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicLong started = new AtomicLong();
            final AtomicLong returned = new AtomicLong();
            final AtomicLong ready = new AtomicLong();
            // rounds whose populate the writer's first half began during
            final AtomicLong opened = new AtomicLong();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            final Thread writer = new Thread(() ->
            {
                try (Cpu cpu = mm.attachCpu())
                {
                    // a lockless walk of the tables, as the MMU's: the range's tables are never freed here
                    final PageWalker walker = new PageWalker(mm.memory(), null);
                    long seen = 0;
                    while (!stop.get())
                    {
                        // waiting outside the emulator: offline, so the populate's shootdowns go on
                        cpu.offline();
                        ready.set(seen);
                        while (started.get() == seen && !stop.get())
                        {
                            Thread.onSpinWait();
                        }
                        seen = started.get();
                        while (gate != 0 && returned.get() < seen && !stop.get()
                            && !(walker.walk(mm.cr3(), gate) == PageWalker.WALK_PTE && PageTableEntry.isPresent(walker.entry())))
                        {
                            Thread.onSpinWait();
                        }
                        if (gate != 0 && returned.get() < seen)
                        {
                            opened.incrementAndGet();
                        }
                        for (final Step step : during)
                        {
                            step.run(cpu);
                        }
                        cpu.offline();
                        while (returned.get() < seen && !stop.get())
                        {
                            Thread.onSpinWait();
                        }
                        for (final Step step : after)
                        {
                            step.run(cpu);
                        }
                    }
                }
                catch (final Throwable ex)
                {
                    errors.add(ex);
                }
            }, "writer");
            writer.start();
            try (Cpu cpu = mm.attachCpu())
            {
                for (int round = 0; round < rounds && (gate == 0 || opened.get() < GATED_OPENINGS) && errors.isEmpty(); round++)
                {
                    // gated: the writer is done with the last round and on a CPU, waiting for this one
                    cpu.offline();
                    while (gate != 0 && ready.get() != started.get() && errors.isEmpty())
                    {
                        Thread.onSpinWait();
                    }
                    started.incrementAndGet();
                    final long r = cpu.madvise(from, length, advice);
                    returned.incrementAndGet();
                    assertEquals(-expected, r, "round " + round + ": every order refuses the populate with errno "
                        + expected + ", it returned " + r);
                    // a hole in the range makes it ENOMEM, and it drops the pages mapped around it
                    cpu.madvise(from, length, Mman.MADV_DONTNEED);
                }
            }
            finally
            {
                stop.set(true);
                writer.join();
            }
            assertTrue(gate == 0 || opened.get() > 0, "the writer never began during a populate");
            assertTrue(errors.isEmpty(), () -> errors.peek().toString());
            mm.check(true).assertOk();
            mm.close();
        }
    }

    /**
     * The checker's populate-read-across-mremap.mm as a loop: a mapping moved back and forth by
     * its length with MREMAP_FIXED, and MADV_POPULATE_READ of its last page and the two above it.
     * Either place leaves a hole in the range (ENOMEM); a populate that faulted the page below
     * the boundary before a move and those above it after returned 0.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void populateRacingMremapAcrossItsRangeIsNeverTorn(final LockingMode locking) throws Exception
    {
        final long length = 16 * PAGE;
        final long low = 0x7000_0000_0000L;
        final long high = low + length;
        final int move = Mman.MREMAP_MAYMOVE | Mman.MREMAP_FIXED;
        populateAlwaysRefused(locking,
            cpu -> assertEquals(low, cpu.mmap(low, length, RW, FIXED, -1, 0)),
            high - PAGE, 3 * PAGE, Mman.MADV_POPULATE_READ, Errno.ENOMEM, 0, RACE_ROUNDS,
            new Step[] {cpu -> assertEquals(high, cpu.mremap(low, length, length, move, high))},
            new Step[] {cpu -> assertEquals(low, cpu.mremap(high, length, length, move, low))});
    }

    /**
     * munmap and MAP_FIXED into a hole at both ends of the range, in the order that never has both
     * ends mapped: first mapped; both holes, last mapped while a populate walks; both holes, first
     * mapped after it. MADV_POPULATE_WRITE of the whole range meets a hole in every state (ENOMEM);
     * a torn one faulted the first page while it was mapped and the last once it was (per-VMA
     * munmaps zap without the mmap lock, behind born-locked placeholders).
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void populateRacingMunmapOfItsEndsIsNeverTorn(final LockingMode locking) throws Exception
    {
        final long a = 0x7000_0000_0000L;
        final long last = a + (ENDS_APART - 1) * PAGE;
        populateAlwaysRefused(locking,
            cpu -> assertEquals(a, cpu.mmap(a, (ENDS_APART - 1) * PAGE, RW, FIXED, -1, 0)),
            a, ENDS_APART * PAGE, MADV_POPULATE_WRITE, Errno.ENOMEM, a + PAGE, GATED_ROUNDS,
            new Step[] {
                cpu -> assertEquals(0, cpu.munmap(a, PAGE)),
                cpu -> assertEquals(last, cpu.mmap(last, PAGE, RW, FIXED, -1, 0))},
            new Step[] {
                cpu -> assertEquals(0, cpu.munmap(last, PAGE)),
                cpu -> assertEquals(a, cpu.mmap(a, PAGE, RW, FIXED, -1, 0))});
    }

    /**
     * The same with MAP_FIXED over mapped pages (PROT_NONE in, writable back): the replacement is
     * published born locked and the old pages are zapped without the mmap lock in per-VMA mode.
     * Each state has an inaccessible end, so MADV_POPULATE_WRITE is refused with EINVAL.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void populateRacingMapFixedOverItsEndsIsNeverTorn(final LockingMode locking) throws Exception
    {
        final long a = 0x7000_0000_0000L;
        final long last = a + (ENDS_APART - 1) * PAGE;
        populateAlwaysRefused(locking,
            cpu ->
            {
                assertEquals(a, cpu.mmap(a, (ENDS_APART - 1) * PAGE, RW, FIXED, -1, 0));
                assertEquals(last, cpu.mmap(last, PAGE, Mman.PROT_NONE, FIXED, -1, 0));
            },
            a, ENDS_APART * PAGE, MADV_POPULATE_WRITE, Errno.EINVAL, a + PAGE, GATED_ROUNDS,
            new Step[] {
                cpu -> assertEquals(a, cpu.mmap(a, PAGE, Mman.PROT_NONE, FIXED, -1, 0)),
                cpu -> assertEquals(last, cpu.mmap(last, PAGE, RW, FIXED, -1, 0))},
            new Step[] {
                cpu -> assertEquals(last, cpu.mmap(last, PAGE, Mman.PROT_NONE, FIXED, -1, 0)),
                cpu -> assertEquals(a, cpu.mmap(a, PAGE, RW, FIXED, -1, 0))});
    }

    /**
     * Populates (MADV_POPULATE_READ/WRITE, MAP_POPULATE) and writers (munmap, MAP_FIXED, mremap
     * moves, mprotect) on four threads over one small window, with one-page sections so that every
     * per-VMA munmap and MAP_FIXED zaps with the mmap lock dropped: no deadlock between a
     * populate's read hold and a writer that needs the lock to finish (the timeout), only results
     * some order gives, and the invariants whole after.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    @Timeout(120)
    void populatesAndWritersOnManyThreadsNeitherDeadlockNorBreakInvariants(final LockingMode locking) throws Exception
    {
        final long window = 0x7000_0000_0000L;
        final int pages = 48;
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, PAGE);
            final AtomicLong populated = new AtomicLong();
            CpuThreads.run(mm, 4, (index, cpu) ->
            {
                final SplittableRandom random = new SplittableRandom(index * 7919L + locking.ordinal());
                for (int op = 0; op < 3000; op++)
                {
                    final long at = window + random.nextInt(pages) * PAGE;
                    final long length = (1 + random.nextInt(8)) * PAGE;
                    final String what;
                    final long r;
                    final boolean ok;
                    switch (random.nextInt(index < 2 ? 3 : 7))
                    {
                        case 0, 1 ->
                        {
                            what = "populate";
                            r = cpu.madvise(at, length, random.nextBoolean() ? MADV_POPULATE_WRITE : Mman.MADV_POPULATE_READ);
                            ok = r == 0 || r == -Errno.ENOMEM || r == -Errno.EINVAL;
                            populated.addAndGet(r == 0 ? 1 : 0);
                        }
                        case 2 ->
                        {
                            what = "mmap MAP_POPULATE";
                            r = cpu.mmap(at, length, RW, FIXED | Mman.MAP_POPULATE, -1, 0);
                            ok = r == at;
                        }
                        case 3 ->
                        {
                            what = "munmap";
                            r = cpu.munmap(at, length);
                            ok = r == 0;
                        }
                        case 4 ->
                        {
                            what = "mmap MAP_FIXED";
                            r = cpu.mmap(at, length, random.nextBoolean() ? RW : Mman.PROT_NONE, FIXED, -1, 0);
                            ok = r == at;
                        }
                        case 5 ->
                        {
                            what = "mprotect";
                            r = cpu.mprotect(at, length, random.nextBoolean() ? RW : PROT_READ);
                            ok = r == 0 || r == -Errno.ENOMEM;
                        }
                        default ->
                        {
                            what = "mremap";
                            final long to = window + random.nextInt(pages) * PAGE;
                            final boolean apart = to + length <= at || at + length <= to;
                            r = apart ? cpu.mremap(at, length, length, Mman.MREMAP_MAYMOVE | Mman.MREMAP_FIXED, to) : to;
                            ok = r == to || r == -Errno.EFAULT || r == -Errno.ENOMEM || r == -Errno.EINVAL;
                        }
                    }
                    assertTrue(ok, () -> "thread " + index + ": " + what + " at 0x" + Long.toHexString(at) + " returned " + r);
                }
            });
            assertTrue(populated.get() > 0, "some populates found their range mapped");
            mm.check(true).assertOk();
            mm.close();
        }
    }

    /**
     * MADV_POPULATE_WRITE racing an mprotect that takes write permission away and gives it back:
     * every sequential order gives 0 (populate before, or after the write permission came back) or
     * EINVAL (after it went), never ENOMEM, which is for holes (found by the linearizability
     * checker when populate held no lock across its range: a fault's SEGV_ACCERR was reported as
     * ENOMEM).
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void populateRacingMprotectReturnsOnlyWhatSomeOrderGives(final LockingMode locking) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION);
            final long length = PAGES * 4096L;
            final long a;
            try (Cpu cpu = mm.attachCpu())
            {
                a = cpu.mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                assertTrue(a > 0, "mmap: " + a);
            }
            final AtomicBoolean stop = new AtomicBoolean();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            final Thread protector = new Thread(() ->
            {
                try (Cpu cpu = mm.attachCpu())
                {
                    while (!stop.get())
                    {
                        // the back half flips, so a populate meets it after faulting the front half
                        assertEquals(0, cpu.mprotect(a + length / 2, length / 2, PROT_READ));
                        assertEquals(0, cpu.mprotect(a + length / 2, length / 2, PROT_READ | PROT_WRITE));
                    }
                }
                catch (final Throwable ex)
                {
                    errors.add(ex);
                }
            }, "protector");
            protector.start();
            int succeeded = 0;
            int refused = 0;
            try (Cpu cpu = mm.attachCpu())
            {
                for (int round = 0; round < ROUNDS && errors.isEmpty(); round++)
                {
                    final long r = cpu.madvise(a, length, MADV_POPULATE_WRITE);
                    if (r == 0)
                    {
                        succeeded++;
                    }
                    else
                    {
                        assertEquals(-Errno.EINVAL, r, "round " + round + ": populate returned " + r);
                        refused++;
                    }
                    assertEquals(0, cpu.madvise(a, length, Mman.MADV_DONTNEED));
                }
            }
            finally
            {
                stop.set(true);
                protector.join();
            }
            assertTrue(errors.isEmpty(), () -> errors.peek().toString());
            // both orders happened, so the race was there to be lost
            assertTrue(succeeded > 0 && refused > 0, "succeeded " + succeeded + ", refused " + refused);
            mm.check(true).assertOk();
            mm.close();
        }
    }

    /**
     * get_user_pages never grows a stack: an address below a VM_GROWSDOWN VMA is a hole to a
     * populate, while the same address written by the process grows the stack down to it.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void populateDoesNotGrowAStack(final LockingMode locking)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION);
            try (Cpu cpu = mm.attachCpu())
            {
                final long stack = 0x7000_0000_0000L;
                assertEquals(stack, cpu.mmap(stack, 2 * 4096, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | Mman.MAP_FIXED | Mman.MAP_GROWSDOWN, -1, 0));
                final long below = stack - 3 * 4096;
                // a get_user_pages fault runs under the mmap lock its populate holds
                mm.rangeLock().lockShared(cpu);
                try
                {
                    assertEquals(Signal.SEGV_MAPERR, cpu.faultIn(below, true));
                    assertEquals(Signal.SEGV_MAPERR, cpu.faultIn(below, false));
                }
                finally
                {
                    mm.rangeLock().unlockShared();
                }
                assertEquals(-Errno.ENOMEM, cpu.madvise(below, 4096, MADV_POPULATE_WRITE));
                assertEquals(-Errno.ENOMEM, cpu.madvise(below, 4096, Mman.MADV_POPULATE_READ));
                assertEquals(stack, mm.tree().lookup(stack).start, "a populate grew the stack");
                assertEquals(Signal.NONE, cpu.writeByte(below, 7));
                assertEquals(below, mm.tree().lookup(stack).start, "a user write below the stack grows it");
            }
            mm.check(true).assertOk();
            mm.close();
        }
    }

    /**
     * MAP_POPULATE of the range just below a stack racing its munmap (the soak's violation: the
     * populate went on faulting after the munmap, each fault grew the stack, and a later mremap
     * found the grown stack where every order gives EFAULT). The stack must never move.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void populateRacingMunmapBelowAStackNeverGrowsIt(final LockingMode locking) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION);
            final long stack = 0x7000_0000_0000L;
            final long length = PAGES * 4096L;
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(stack, cpu.mmap(stack, 4096, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | Mman.MAP_FIXED | Mman.MAP_GROWSDOWN, -1, 0));
            }
            final AtomicBoolean stop = new AtomicBoolean();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            final Thread unmapper = new Thread(() ->
            {
                try (Cpu cpu = mm.attachCpu())
                {
                    while (!stop.get())
                    {
                        assertEquals(0, cpu.munmap(stack - length, length));
                        Thread.onSpinWait();
                    }
                }
                catch (final Throwable ex)
                {
                    errors.add(ex);
                }
            }, "unmapper");
            unmapper.start();
            try (Cpu cpu = mm.attachCpu())
            {
                for (int round = 0; round < ROUNDS / 4 && errors.isEmpty(); round++)
                {
                    final long r = cpu.mmap(stack - length, length, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | Mman.MAP_FIXED | Mman.MAP_POPULATE, -1, 0);
                    assertEquals(stack - length, r);
                    final Vma top = mm.tree().find(stack);
                    assertEquals(stack, top.start, "round " + round + ": the stack grew to 0x" + Long.toHexString(top.start));
                }
            }
            finally
            {
                stop.set(true);
                unmapper.join();
            }
            assertTrue(errors.isEmpty(), () -> errors.peek().toString());
            mm.check(true).assertOk();
            mm.close();
        }
    }
}
