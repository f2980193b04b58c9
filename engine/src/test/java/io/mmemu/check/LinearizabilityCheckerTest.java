package io.mmemu.check;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.script.Call;
import io.mmemu.script.Outcome;
import io.mmemu.vm.Errno;
import io.mmemu.vm.LockingMode;
import io.mmemu.vm.Signal;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checker's verdicts on hand-made histories: ones some real-time order explains, and ones
 * none does (a read of a value nobody wrote, an unmap seen before it was called, a stale read
 * after a write that had returned, an mmap address the model does not give).
 */
class LinearizabilityCheckerTest
{
    private static final long A = ScenarioGenerator.WINDOW_START;
    private static final Op MAP_A = Op.syscall(Call.MMAP, A, 4096, PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    private static final Op WRITE_5 = Op.write(A, 5);
    /** The generator's write values cycle through 1..255 from 1, and a scenario has fewer than 255 writes. */
    private static final int NEVER_WRITTEN = 255;
    private static PhysicalMemory model;

    @BeforeAll
    static void machine()
    {
        model = PhysicalMemory.create(64L << 20, Backing.FULL);
    }

    @AfterAll
    static void free()
    {
        model.close();
    }

    /** Builds a history: the setup (A mapped, 5 written at A) at tickets 0-3, then the given events. */
    private static History history(final History.Event... events)
    {
        final List<History.Event> all = new ArrayList<>(List.of(
            new History.Event(-1, 0, MAP_A, 0, 1, Outcome.returned(A)),
            new History.Event(-1, 1, WRITE_5, 2, 3, Outcome.returned(0))));
        final List<List<Op>> threads = new ArrayList<>();
        for (final History.Event e : events)
        {
            while (threads.size() <= e.thread())
            {
                threads.add(new ArrayList<>());
            }
            threads.get(e.thread()).add(e.op());
            all.add(e);
        }
        final Scenario scenario = new Scenario(LockingMode.PER_VMA, Backing.FULL, 4096, 0, List.of(MAP_A, WRITE_5), threads);
        return new History(scenario, all, List.of());
    }

    private static History.Event event(final int thread, final int index, final Op op, final long called, final long returned,
        final Outcome outcome)
    {
        return new History.Event(thread, index, op, called, returned, outcome);
    }

    private static LinearizabilityChecker.Verdict check(final History history)
    {
        final long before = ConcurrentRun.framesHeld(model);
        final LinearizabilityChecker.Verdict verdict = LinearizabilityChecker.check(history, model);
        assertEquals(before, ConcurrentRun.framesHeld(model), "every model address space returns its frames");
        assertFalse(verdict.inconclusive());
        return verdict;
    }

    /**
     * MADV_COLLAPSE's result depends on what is resident, which the model's state leaves out: any
     * of its results (0, EINVAL, EAGAIN, ENOMEM, EBUSY) is explained over a range VMAs cover
     * whole; over a hole EINVAL and ENOMEM explain each other (which one depends on what is
     * resident) and nothing else does, and nothing explains a result it never gives.
     */
    @Test
    void aCollapseMayGiveAnyOfItsResultsOverMappedMemoryOnly()
    {
        final Op overA = Op.syscall(Call.MADVISE, A, 4096, MADV_COLLAPSE);
        final Op overAAndAHole = Op.syscall(Call.MADVISE, A, 2 * 4096, MADV_COLLAPSE);
        for (final long result : new long[] {0, -Errno.EINVAL, -Errno.EAGAIN, -Errno.ENOMEM, -Errno.EBUSY})
        {
            assertTrue(check(history(event(0, 0, overA, 10, 11, Outcome.returned(result)))).linearizable(), "result " + result);
        }
        assertFalse(check(history(event(0, 0, overA, 10, 11, Outcome.returned(-Errno.EPERM)))).linearizable());
        // over a hole: EINVAL (a block without a PT page ends the scan) or ENOMEM (the hole), never 0
        assertTrue(check(history(event(0, 0, overAAndAHole, 10, 11, Outcome.returned(-Errno.EINVAL)))).linearizable());
        assertTrue(check(history(event(0, 0, overAAndAHole, 10, 11, Outcome.returned(-Errno.ENOMEM)))).linearizable());
        assertFalse(check(history(event(0, 0, overAAndAHole, 10, 11, Outcome.returned(0)))).linearizable());
        assertFalse(check(history(event(0, 0, overAAndAHole, 10, 11, Outcome.returned(-Errno.EAGAIN)))).linearizable());
    }

    @Test
    void concurrentWriteAndReadOfItsValueIsLinearizable()
    {
        final LinearizabilityChecker.Verdict verdict = check(history(
            event(0, 0, Op.write(A, 7), 10, 13, Outcome.returned(0)),
            event(1, 0, Op.read(A), 11, 12, Outcome.returned(7))));
        assertTrue(verdict.linearizable());
        assertEquals(4, verdict.order().size());
    }

    @Test
    void concurrentReadMaySeeTheOldValueToo()
    {
        assertTrue(check(history(
            event(0, 0, Op.write(A, 7), 10, 13, Outcome.returned(0)),
            event(1, 0, Op.read(A), 11, 12, Outcome.returned(5)))).linearizable());
    }

    @Test
    void readOfAValueNobodyWroteIsNot()
    {
        final LinearizabilityChecker.Verdict verdict = check(history(
            event(0, 0, Op.write(A, 7), 10, 13, Outcome.returned(0)),
            event(1, 0, Op.read(A), 11, 12, Outcome.returned(0))));
        assertFalse(verdict.linearizable());
        assertTrue(verdict.stuck().stream().anyMatch(s -> s.startsWith("t1 op 0: touch(") && s.contains("read 0x00")),
            () -> "stuck: " + verdict.stuck());
    }

    @Test
    void staleReadAfterAWriteReturnedIsNot()
    {
        assertFalse(check(history(
            event(0, 0, Op.write(A, 7), 10, 11, Outcome.returned(0)),
            event(1, 0, Op.read(A), 12, 13, Outcome.returned(5)))).linearizable());
    }

    @Test
    void unmapSeenBeforeItWasCalledIsNot()
    {
        final Op munmap = Op.syscall(Call.MUNMAP, A, 4096);
        final Outcome segv = Outcome.raised(Signal.SEGV_MAPERR, A);
        assertFalse(check(history(
            event(0, 0, munmap, 12, 13, Outcome.returned(0)),
            event(1, 0, Op.read(A), 10, 11, segv))).linearizable());
        // the same outcome while the munmap runs is fine
        assertTrue(check(history(
            event(0, 0, munmap, 10, 13, Outcome.returned(0)),
            event(1, 0, Op.read(A), 11, 12, segv))).linearizable());
    }

    @Test
    void readAfterAnUnmapReturnedMustFault()
    {
        assertFalse(check(history(
            event(0, 0, Op.syscall(Call.MUNMAP, A, 4096), 10, 11, Outcome.returned(0)),
            event(1, 0, Op.read(A), 12, 13, Outcome.returned(5)))).linearizable());
    }

    @Test
    void mmapAddressMustBeTheModels()
    {
        final Op anywhere = Op.syscall(Call.MMAP, 0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        final long top = ScenarioGenerator.WINDOW_END - 4096;
        assertTrue(check(history(event(0, 0, anywhere, 10, 11, Outcome.returned(top)))).linearizable());
        assertFalse(check(history(event(0, 0, anywhere, 10, 11, Outcome.returned(top - 4096)))).linearizable());
    }

    /**
     * Real runs of random scenarios pass; the same histories with one successful read's byte
     * changed to one no write stores (or, for a read that saw a write, to 0 where that cannot be
     * explained) must not.
     */
    @Test
    void realHistoriesPassAndCorruptedOnesFail()
    {
        final SplittableRandom random = new SplittableRandom(5);
        int corrupted = 0;
        try (CheckMachine machine = new CheckMachine(Backing.FULL))
        {
            for (int k = 0; k < 200 && corrupted < 20; k++)
            {
                final Scenario scenario = new ScenarioGenerator(1, 2, 3, 6, Set.of()).next(random, LockingMode.MMAP_LOCK, Backing.FULL);
                final CheckMachine.Result result = machine.run(scenario, random);
                if (result.failed())
                {
                    continue; // a bug of the engine, not of the checker: LinearizabilityTest reports those
                }
                final List<History.Event> events = new ArrayList<>(result.history().events());
                for (int i = 0; i < events.size(); i++)
                {
                    final History.Event e = events.get(i);
                    if (e.op().isRead() && e.outcome().signal() == Signal.NONE)
                    {
                        events.set(i, new History.Event(e.thread(), e.index(), e.op(), e.called(), e.returned(),
                            Outcome.returned(NEVER_WRITTEN)));
                        final History bad = new History(scenario, events, List.of());
                        final LinearizabilityChecker.Verdict verdict = check(bad);
                        assertFalse(verdict.linearizable(), () -> ProgramText.program(scenario, bad));
                        corrupted++;
                        break;
                    }
                }
            }
        }
        assertTrue(corrupted >= 10, "histories with a successful read: " + corrupted);
    }

    @Test
    void ordersAcrossThreadsAreSearched()
    {
        // t0 writes 7 then 8; t1 reads 8 then 7 (overlapping both): no order gives 8 before 7
        final List<History.Event> events = List.of(
            event(0, 0, Op.write(A, 7), 10, 11, Outcome.returned(0)),
            event(0, 1, Op.write(A, 8), 12, 20, Outcome.returned(0)),
            event(1, 0, Op.read(A), 9, 15, Outcome.returned(8)),
            event(1, 1, Op.read(A), 16, 19, Outcome.returned(7)));
        assertFalse(check(history(events.toArray(History.Event[]::new))).linearizable());
        // reading 7 then 8 is one
        assertTrue(check(history(
            event(0, 0, Op.write(A, 7), 10, 11, Outcome.returned(0)),
            event(0, 1, Op.write(A, 8), 12, 20, Outcome.returned(0)),
            event(1, 0, Op.read(A), 9, 15, Outcome.returned(7)),
            event(1, 1, Op.read(A), 16, 19, Outcome.returned(8)))).linearizable());
    }

    /**
     * A write below a stack grows it in its fault and stores later, when the access is retried;
     * other operations may come in between (found by the soak). Here t0's growth must come
     * before t1's mmap inside the guard gap (which refuses any growth after it), while t0's store
     * must come after t1's write of 6, since t0 then reads its own 3. Linearizable only with the
     * growth as a step of its own: without the touch's {@code grewStack}, no order explains it.
     */
    @Test
    void aStackGrowthMayTakeEffectBeforeItsAccess()
    {
        final long stack = A + (512 << 12);
        final Op mapStack = Op.syscall(Call.MMAP, stack, 8192, PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, -1, 0);
        final long below = stack - 0x800;
        final long inGap = stack - (16 << 12);
        final Op mapInGap = Op.syscall(Call.MMAP, inGap, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        for (final boolean grewStack : new boolean[] {true, false})
        {
            final List<History.Event> events = List.of(
                new History.Event(-1, 0, mapStack, 0, 1, Outcome.returned(stack)),
                new History.Event(0, 0, Op.write(below, 3), 10, 20, Outcome.returned(0), grewStack),
                new History.Event(1, 0, mapInGap, 11, 12, Outcome.returned(inGap)),
                new History.Event(1, 1, Op.write(below, 6), 13, 14, Outcome.returned(0)),
                new History.Event(0, 1, Op.read(below), 21, 22, Outcome.returned(3)));
            final Scenario scenario = new Scenario(LockingMode.PER_VMA, Backing.FULL, 4096, 0, List.of(mapStack),
                List.of(List.of(events.get(1).op(), events.get(4).op()), List.of(events.get(2).op(), events.get(3).op())));
            final LinearizabilityChecker.Verdict verdict = check(new History(scenario, events, List.of()));
            assertEquals(grewStack, verdict.linearizable(), "grewStack " + grewStack + ": " + verdict.order());
            if (grewStack)
            {
                assertEquals(5, verdict.order().size());
            }
        }
    }

    /**
     * A MAP_POPULATE mmap maps under the mmap lock and faults its range in after letting go of it
     * (found by the soak: tests/.../check/found/mremap-after-populate-merge.mm). Here t0's MADV_NOHUGEPAGE
     * comes between the two steps: it makes the new page's flags those of the next page (cut from
     * the setup's VMA, which has an anon_vma) and merges them, as the new page has none yet; the
     * populate then faults into the merged VMA, and t1's mremap finds its two pages in one VMA.
     * Taken whole, the mmap gives its VMA an anon_vma of its own either before the madvise (no
     * merge: two anon_vmas) or after it (its MAP_FIXED cuts the madvised piece apart again), and
     * the mremap gives EFAULT. When the mmap returned before the madvise was called, its populate
     * did too, and no order explains the mremap's success.
     */
    @Test
    void aPopulatingMmapMayPopulateAfterAnotherCallChangedItsVma()
    {
        final long base = A + (512 << 12);
        final long page = base + (4 << 12);
        final long target = base + (64 << 12);
        final Op mapBase = Op.syscall(Call.MMAP, base, 8 << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        final Op huge = Op.syscall(Call.MADVISE, base, 8 << 12, MADV_HUGEPAGE);
        final Op write = Op.write(base, 1);
        final Op noHuge = Op.syscall(Call.MADVISE, page, 2 << 12, MADV_NOHUGEPAGE);
        final Op move = Op.syscall(Call.MREMAP, page, 3 << 12, 2 << 12, MREMAP_MAYMOVE | MREMAP_FIXED, target);
        final Op populate = Op.syscall(Call.MMAP, page, 4096, PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0);
        final Scenario scenario = new Scenario(LockingMode.PER_VMA, Backing.FULL, 4096, 0, List.of(mapBase, huge, write),
            List.of(List.of(noHuge), List.of(move), List.of(populate)));
        for (final boolean overlapping : new boolean[] {true, false})
        {
            final List<History.Event> events = List.of(
                new History.Event(-1, 0, mapBase, 0, 1, Outcome.returned(base)),
                new History.Event(-1, 1, huge, 2, 3, Outcome.returned(0)),
                new History.Event(-1, 2, write, 4, 5, Outcome.returned(0)),
                new History.Event(0, 0, noHuge, overlapping ? 7 : 8, overlapping ? 8 : 9, Outcome.returned(0)),
                new History.Event(1, 0, move, 10, 11, Outcome.returned(target)),
                new History.Event(2, 0, populate, 6, overlapping ? 9 : 7, Outcome.returned(page)));
            final LinearizabilityChecker.Verdict verdict = check(new History(scenario, events, List.of()));
            assertEquals(overlapping, verdict.linearizable(), "overlapping " + overlapping + ": " + verdict.order()
                + " " + verdict.stuck());
            if (overlapping)
            {
                // the mmap is listed where its populate was taken: after the madvise
                assertEquals(List.of(events.get(3), events.get(5), events.get(4)), verdict.order().subList(3, 6));
            }
            else
            {
                assertTrue(verdict.stuck().getFirst().contains("EFAULT"), verdict.stuck().toString());
            }
        }
    }

    /**
     * The first step of a populating mmap must give its recorded result: a result the model's
     * mapping does not give is no more explained split than whole.
     */
    @Test
    void aPopulatingMmapsResultIsItsMappingsResult()
    {
        final long next = A + 4096;
        final Op populate = Op.syscall(Call.MMAP, next, 4096, PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0);
        assertTrue(check(history(event(0, 0, populate, 10, 11, Outcome.returned(next)))).linearizable());
        final LinearizabilityChecker.Verdict verdict = check(history(event(0, 0, populate, 10, 11,
            Outcome.returned(next + 4096))));
        assertFalse(verdict.linearizable());
        assertEquals(1, verdict.stuck().size(), verdict.stuck().toString());
    }
}
