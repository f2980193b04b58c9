package io.mmemu.vm;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.ToLongFunction;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 15: every writer goes through one range lock that owns its whole span, holes included.
 * Each race the issue names is made deterministic: a munmap is parked in the middle of its zap (at a
 * page-table boundary, where its CPU answers interrupts; in per-VMA mode that is the phase without
 * the mmap lock) while another thread makes the racing call; the munmap is let go once that call has
 * either finished or blocked. The outcome must be one that some order of the two calls gives on Linux.
 * Every one of these tests fails on e530dd4 (before the range lock) in per-VMA mode.
 */
class RangeLockTest
{
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS;
    private static final long PAGE = 4096;
    /** Small sections, so that the zap of a few MiB has many boundaries. */
    private static final long SECTION = 64L << 10;
    /** Where the fixed layouts go: far from where top-down placement starts. */
    private static final long BASE = 0x100000000000L;

    /** A munmap parked in its zap ({@link ParkedWriter}). */
    private static final class ParkedUnmap
    {
        private final ParkedWriter writer;
        final Thread thread;

        ParkedUnmap(final AddressSpace mm, final long start, final long length, final ConcurrentLinkedQueue<Throwable> errors)
        {
            writer = new ParkedWriter(mm, "munmap", () -> true, cpu -> cpu.munmap(start, length), errors);
            thread = writer.thread;
        }

        void release()
        {
            writer.release();
        }

        /** Lets the munmap go, waits for it and the racer, and checks that both ran without a failure. */
        void finishWith(final Thread racer, final ConcurrentLinkedQueue<Throwable> errors) throws InterruptedException
        {
            release();
            join(thread, racer);
            assertTrue(errors.isEmpty(), () -> "failures: " + errors);
            assertEquals(0, writer.result);
        }
    }

    /**
     * Runs {@code call} on a new thread with its own CPU, and returns once it has finished or
     * blocked (waiting for the parked munmap: without it the race could not be forced).
     */
    private static Thread racer(final AddressSpace mm, final long[] out, final ToLongFunction<Cpu> call,
        final ConcurrentLinkedQueue<Throwable> errors)
    {
        final Thread thread = new Thread(() ->
        {
            try (Cpu cpu = mm.attachCpu())
            {
                out[0] = call.applyAsLong(cpu);
            }
            catch (final Throwable ex)
            {
                errors.add(ex);
            }
        }, "racer");
        thread.start();
        ParkedWriter.awaitFinishedOrWaiting(thread);
        return thread;
    }

    private static void join(final Thread... threads) throws InterruptedException
    {
        for (final Thread thread : threads)
        {
            thread.join(60_000);
            assertTrue(!thread.isAlive(), "hung: " + thread.getName());
        }
    }

    private static void populate(final Cpu cpu, final long start, final long length, final int value)
    {
        for (long va = start; va < start + length; va += PAGE)
        {
            assertEquals(Signal.NONE, cpu.writeByte(va, value));
        }
    }

    /** How every test ends: tables, frames and VMAs agree; once the test's range is unmapped, every frame is back. */
    private static void unmapAndCheck(final AddressSpace mm, final PhysicalMemory memory, final long baseline,
        final long start, final long length)
    {
        mm.check(true).assertOk();
        try (Cpu cleanup = mm.attachCpu())
        {
            assertEquals(0, cleanup.munmap(start, length));
        }
        mm.check(true).assertOk();
        assertEquals(baseline, memory.framesInUse(), "no frame leaked or freed twice");
        mm.close();
    }

    private static VmaInfo vmaAt(final AddressSpace mm, final long va)
    {
        for (final VmaInfo vma : mm.vmas())
        {
            if (va >= vma.start() && va < vma.end())
            {
                return vma;
            }
        }
        return null;
    }

    /**
     * The scenario, small and deterministic: [populated][hole][tail] is unmapped whole;
     * meanwhile one page is put into the hole (MAP_FIXED, MAP_FIXED_NOREPLACE, or mremap's
     * MREMAP_FIXED moving a page there) and written 0x77. Linux serialises the two calls: if the page
     * came first, the munmap removes it (the racer then sees SIGSEGV, never 0); if it came second, it
     * survives with 0x77. On e530dd4 it went in while the munmap ran unlocked, was zapped (reads of 0,
     * the frame freed under it) and dropped with the placeholders.
     */
    @ParameterizedTest
    @CsvSource({
        "PER_VMA,   MAP_FIXED", "MMAP_LOCK, MAP_FIXED",
        "PER_VMA,   MAP_FIXED_NOREPLACE", "MMAP_LOCK, MAP_FIXED_NOREPLACE",
        "PER_VMA,   MREMAP_FIXED", "MMAP_LOCK, MREMAP_FIXED",
    })
    void aPageMappedIntoAHoleOfARangeBeingUnmappedIsNeverZappedUnderIt(final LockingMode locking, final String how)
        throws Exception
    {
        final long populated = 4L << 20;
        final long hole = 8L << 20;
        final long tail = 1L << 20;
        final long span = populated + hole + tail;
        final long page = BASE + populated + hole / 2;
        final long donor = BASE + (1L << 30);
        try (PhysicalMemory memory = PhysicalMemory.create(256L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, SECTION);
            final long baseline = memory.framesInUse();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            try (Cpu setup = mm.attachCpu())
            {
                assertEquals(BASE, setup.mmap(BASE, span, RW, ANON | MAP_FIXED, -1, 0));
                populate(setup, BASE, populated, 0x5a);
                populate(setup, BASE + populated + hole, tail, 0x5a);
                assertEquals(0, setup.munmap(BASE + populated, hole));
                if (how.equals("MREMAP_FIXED"))
                {
                    assertEquals(donor, setup.mmap(donor, PAGE, RW, ANON | MAP_FIXED, -1, 0));
                    assertEquals(Signal.NONE, setup.writeByte(donor, 0x77));
                }
            }
            final ParkedUnmap unmap = new ParkedUnmap(mm, BASE, span, errors);
            final long[] mapped = new long[1];
            final Thread racer = racer(mm, mapped, cpu ->
            {
                final long at = switch (how)
                {
                    case "MAP_FIXED" -> cpu.mmap(page, PAGE, RW, ANON | MAP_FIXED, -1, 0);
                    case "MAP_FIXED_NOREPLACE" -> cpu.mmap(page, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0);
                    default -> cpu.mremap(donor, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, page);
                };
                assertEquals(page, at);
                assertEquals(Signal.NONE, cpu.writeByte(page, 0x77));
                assertEquals(Signal.NONE, cpu.readByte(page));
                assertEquals(0x77, cpu.value());
                return at;
            }, errors);
            unmap.finishWith(racer, errors);
            try (Cpu after = mm.attachCpu())
            {
                // the racer's call returned the page and wrote it: whichever order, the page was
                // mapped over the hole after the munmap had emptied it, so it is still there
                assertNotNull(vmaAt(mm, page), () -> "the page mapped into the hole was unmapped under it: " + mm.vmas());
                assertEquals(Signal.NONE, after.readByte(page));
                assertEquals(0x77, after.value(), "the page reads what was written to it");
            }
            unmapAndCheck(mm, memory, baseline, BASE, 2L << 30);
        }
    }

    /**
     * A non-fixed mmap whose top-down search finds a hole of a range being unmapped: on e530dd4 it
     * was placed there, then zapped and dropped by the munmap. Now it waits for the munmap and
     * searches again, which is Linux's answer after the munmap (placing it outside the range would
     * be nobody's answer, so it does not "look elsewhere").
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void aGapSearchThatFindsAHoleOfARangeBeingUnmappedWaitsForIt(final LockingMode locking) throws Exception
    {
        final long cap = AddressSpace.MMAP_BASE - (1L << 20);
        final long populated = 4L << 20;
        final long hole = 2L << 20;
        final long start = cap - populated - hole;
        try (PhysicalMemory memory = PhysicalMemory.create(256L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, SECTION);
            final long baseline = memory.framesInUse();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            try (Cpu setup = mm.attachCpu())
            {
                // the cap fills everything above the range up to where top-down placement starts,
                // so the highest gap is the range's hole
                assertEquals(cap, setup.mmap(cap, AddressSpace.MMAP_BASE - cap, PROT_READ, ANON | MAP_FIXED, -1, 0));
                assertEquals(start, setup.mmap(start, populated + hole, RW, ANON | MAP_FIXED, -1, 0));
                populate(setup, start, populated, 0x5a);
                assertEquals(0, setup.munmap(start + populated, hole));
                assertEquals(cap - PAGE, setup.mmap(0, PAGE, RW, ANON, -1, 0), "the search lands in the hole");
                assertEquals(0, setup.munmap(cap - PAGE, PAGE));
            }
            final ParkedUnmap unmap = new ParkedUnmap(mm, start, populated + hole, errors);
            final long[] placed = new long[1];
            final Thread racer = racer(mm, placed, cpu ->
            {
                final long at = cpu.mmap(0, PAGE, RW, ANON, -1, 0);
                assertEquals(Signal.NONE, cpu.writeByte(at, 0x77));
                return at;
            }, errors);
            unmap.finishWith(racer, errors);
            try (Cpu after = mm.attachCpu())
            {
                assertNotNull(vmaAt(mm, placed[0]), () -> "the new mapping at 0x" + Long.toHexString(placed[0]) +
                    " was unmapped under it: " + mm.vmas());
                assertEquals(Signal.NONE, after.readByte(placed[0]));
                assertEquals(0x77, after.value());
            }
            unmapAndCheck(mm, memory, baseline, start - (1L << 30), AddressSpace.MMAP_BASE - start + (1L << 30));
        }
    }

    /**
     * A fault below a stack that is being unmapped: on e530dd4 stack growth took the mmap lock
     * unchecked and replaced the munmap's placeholder by an unlocked, grown VMA, which the munmap
     * then dropped whole (grown part included). Linux gives either growth first (then the part
     * below the unmapped range stays, holding what was written) or the munmap first (SIGSEGV).
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void stackGrowthNeverReplacesAPlaceholderOfARangeBeingUnmapped(final LockingMode locking) throws Exception
    {
        final long size = 2L << 20;
        final long stack = BASE + (64L << 20);
        final long below = stack - PAGE;
        try (PhysicalMemory memory = PhysicalMemory.create(256L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, SECTION);
            final long baseline = memory.framesInUse();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            try (Cpu setup = mm.attachCpu())
            {
                assertEquals(stack, setup.mmap(stack, size, RW, ANON | MAP_FIXED | MAP_GROWSDOWN, -1, 0));
                populate(setup, stack, size, 0x5a);
            }
            final ParkedUnmap unmap = new ParkedUnmap(mm, stack, size, errors);
            final long[] status = new long[1];
            final Thread racer = racer(mm, status, cpu -> cpu.writeByte(below, 0x77), errors);
            unmap.finishWith(racer, errors);
            try (Cpu after = mm.attachCpu())
            {
                final VmaInfo left = vmaAt(mm, below);
                if (status[0] == Signal.NONE)
                {
                    // growth came first: the grown page lies below the unmapped range and stays
                    assertNotNull(left, () -> "the stack grew, then lost the page below the unmapped range: " + mm.vmas());
                    assertEquals(below + PAGE, left.end());
                    assertEquals(Signal.NONE, after.readByte(below));
                    assertEquals(0x77, after.value());
                }
                else
                {
                    assertEquals(Signal.SEGV_MAPERR, status[0], Signal.codeName((int)status[0]));
                    assertTrue(left == null, () -> "no growth, yet a VMA below: " + mm.vmas());
                }
            }
            unmapAndCheck(mm, memory, baseline, BASE, 1L << 30);
        }
    }

    /**
     * fork's layout copy owns the whole user range of the parent (dup_mmap write-locks the parent's
     * mmap lock): a munmap in flight in the parent finishes first, so the child gets one state of
     * the parent — here the one after the munmap — never a placeholder copied as a mapping.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void forkCopiesTheParentsLayoutAfterAMunmapInFlight(final LockingMode locking) throws Exception
    {
        final long kept = BASE + (1L << 30);
        try (PhysicalMemory memory = PhysicalMemory.create(256L << 20))
        {
            final AddressSpace parent = AddressSpace.create(memory, locking, SECTION);
            final AddressSpace child = AddressSpace.create(memory, locking, SECTION);
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            try (Cpu setup = parent.attachCpu())
            {
                assertEquals(BASE, setup.mmap(BASE, 4L << 20, RW, ANON | MAP_FIXED, -1, 0));
                populate(setup, BASE, 4L << 20, 0x5a);
                assertEquals(kept, setup.mmap(kept, PAGE, PROT_READ, ANON | MAP_FIXED, -1, 0));
            }
            final ParkedUnmap unmap = new ParkedUnmap(parent, BASE, 4L << 20, errors);
            final Thread fork = racer(parent, new long[1], cpu ->
            {
                assertTrue(child.forkFrom(cpu));
                return 0;
            }, errors);
            final boolean forkWaited = fork.isAlive();
            unmap.finishWith(fork, errors);
            assertTrue(forkWaited, "the layout copy ran while the parent's munmap was in flight");
            assertEquals(parent.vmas(), child.vmas(), "the child's layout is the parent's after the munmap");
            assertEquals(1, child.vmas().size());
            child.close();
            parent.close();
            assertEquals(1, memory.framesInUse(), "both address spaces gave everything back");
        }
    }

    /**
     * Writers of every kind (munmap, MAP_FIXED of plain and stack mappings, non-fixed mmap, mprotect,
     * madvise, mremap, brk, stack growth) on overlapping random ranges of one small region, with small sections
     * so that munmap and MAP_FIXED spend most of their time unlocked: every lock precondition is an
     * assertion (-ea), so a writer that changes what another one owns fails here; afterwards the
     * tables and frame accounting are consistent and everything comes back. A private non-fixed
     * mapping, which no other thread can reach, always reads back what its thread wrote.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void writersOfEveryKindOnOverlappingRangesKeepTheAddressSpaceConsistent(final LockingMode locking) throws Exception
    {
        final long region = 16L << 20;
        final int threads = 4;
        final int rounds = 1500;
        try (PhysicalMemory memory = PhysicalMemory.create(512L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, 16L << 10);
            // the heap starts in the middle of the region, so brk meets every other writer there
            mm.setBrk(BASE + region / 2, BASE + region / 2);
            final long baseline = memory.framesInUse();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            final List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                final int id = t;
                workers.add(new Thread(() ->
                {
                    final SplittableRandom random = new SplittableRandom(id * 7919L + 1);
                    try (Cpu cpu = mm.attachCpu())
                    {
                        for (int round = 0; round < rounds; round++)
                        {
                            final long start = BASE + random.nextLong(region / PAGE) * PAGE;
                            final long length = (1 + random.nextLong(Math.min(256, (BASE + region - start) / PAGE))) * PAGE;
                            final int tag = 0x10 + id;
                            switch (random.nextInt(10))
                            {
                                case 0, 1 -> assertEquals(0, cpu.munmap(start, length));
                                case 2 ->
                                {
                                    // some of them stacks, which the writes of the last case below them grow
                                    final int grows = random.nextInt(4) == 0 ? MAP_GROWSDOWN : 0;
                                    assertEquals(start, cpu.mmap(start, length, RW, ANON | MAP_FIXED | grows, -1, 0));
                                    final int status = cpu.writeByte(start, tag);
                                    assertTrue(status == Signal.NONE || status == Signal.SEGV_MAPERR ||
                                        status == Signal.SEGV_ACCERR, Signal.codeName(status));
                                }
                                case 3 ->
                                {
                                    final long at = cpu.mmap(0, length, RW, ANON, -1, 0);
                                    assertTrue(at > 0, "mmap: " + at);
                                    assertEquals(Signal.NONE, cpu.writeByte(at, tag));
                                    assertEquals(Signal.NONE, cpu.readByte(at));
                                    assertEquals(tag, cpu.value(), "a private non-fixed mapping is nobody else's");
                                    assertEquals(0, cpu.munmap(at, length));
                                }
                                case 4 ->
                                {
                                    final long r = cpu.mprotect(start, length, random.nextBoolean() ? PROT_READ : RW);
                                    assertTrue(r == 0 || r == -Errno.ENOMEM, "mprotect: " + r);
                                }
                                case 5 ->
                                {
                                    final long r = cpu.madvise(start, length, random.nextBoolean() ? MADV_DONTNEED : MADV_DONTFORK);
                                    assertTrue(r == 0 || r == -Errno.ENOMEM || r == -Errno.EAGAIN, "madvise: " + r);
                                }
                                case 6 ->
                                {
                                    final long target = BASE + random.nextLong(region / PAGE) * PAGE;
                                    final long r = cpu.mremap(start, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target);
                                    assertTrue(r == target || r == -Errno.EFAULT || r == -Errno.EINVAL, "mremap: " + r);
                                }
                                case 7 ->
                                {
                                    final long requested = BASE + region / 2 + random.nextLong(region / 2 / PAGE) * PAGE;
                                    final long r = cpu.brk(requested);
                                    assertTrue(r == requested || r >= BASE + region / 2, "brk: " + r);
                                }
                                default ->
                                {
                                    final int status = cpu.writeByte(start, tag);
                                    assertTrue(status == Signal.NONE || status == Signal.SEGV_MAPERR ||
                                        status == Signal.SEGV_ACCERR, Signal.codeName(status));
                                }
                            }
                        }
                    }
                    catch (final Throwable ex)
                    {
                        errors.add(ex);
                    }
                }, "writer-" + t));
            }
            workers.forEach(Thread::start);
            join(workers.toArray(Thread[]::new));
            assertTrue(errors.isEmpty(), () -> "failures: " + errors);
            unmapAndCheck(mm, memory, baseline, BASE, 1L << 30);
        }
    }

    @Test
    void aMunmapWaitsForNothingOutsideItsSpan() throws Exception
    {
        // the seed's gain stays: a writer on a disjoint range, and a fault on another VMA, run
        // while a sectioned munmap is parked in its zap
        try (PhysicalMemory memory = PhysicalMemory.create(256L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, LockingMode.PER_VMA, SECTION);
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            final long elsewhere = BASE + (256L << 20);
            try (Cpu setup = mm.attachCpu())
            {
                assertEquals(BASE, setup.mmap(BASE, 4L << 20, RW, ANON | MAP_FIXED, -1, 0));
                populate(setup, BASE, 4L << 20, 0x5a);
                assertEquals(elsewhere, setup.mmap(elsewhere, 1L << 20, RW, ANON | MAP_FIXED, -1, 0));
            }
            final ParkedUnmap unmap = new ParkedUnmap(mm, BASE, 4L << 20, errors);
            final Thread other = new Thread(() ->
            {
                try (Cpu cpu = mm.attachCpu())
                {
                    assertEquals(Signal.NONE, cpu.writeByte(elsewhere, 1));
                    assertEquals(0, cpu.mprotect(elsewhere, 1L << 20, PROT_READ));
                    // right next to the span, and a non-fixed mapping somewhere else
                    assertEquals(BASE + (4L << 20), cpu.mmap(BASE + (4L << 20), PAGE, RW, ANON | MAP_FIXED, -1, 0));
                    final long at = cpu.mmap(0, PAGE, RW, ANON, -1, 0);
                    assertTrue(at > 0);
                    assertEquals(0, cpu.munmap(at, PAGE));
                    assertEquals(0, cpu.munmap(elsewhere, 1L << 20));
                    assertEquals(0, cpu.munmap(BASE + (4L << 20), PAGE));
                }
                catch (final Throwable ex)
                {
                    errors.add(ex);
                }
            }, "disjoint");
            other.start();
            other.join(30_000);
            final boolean waited = other.isAlive();
            unmap.release();
            join(other, unmap.thread);
            assertTrue(!waited, "a writer outside the span waited for the parked munmap");
            assertTrue(errors.isEmpty(), () -> "failures: " + errors);
            mm.check(true).assertOk();
            mm.close();
        }
    }
}
