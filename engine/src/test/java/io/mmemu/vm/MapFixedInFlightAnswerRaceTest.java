package io.mmemu.vm;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_GROWSDOWN;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_NONE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A call whose answer depends on a MAP_FIXED in flight beside it — brk, or mmap with a hint, a
 * stack guard gap below the replaced range, or a stack's growth half a gap above it (refused while
 * the replaced VMA is an accessible one that is not a stack): the MAP_FIXED(PROT_NONE) replaces a populated
 * read-write mapping and turns the VMA there into a stack (MAP_GROWSDOWN: the break's growth, or
 * the hinted page, no longer leaves the gap free, so brk refuses and mmap searches elsewhere) or a
 * stack into a plain VMA (the growth, or the hint, now fits). An answer the new VMA gave orders the
 * call after the MAP_FIXED, so the same thread's next read of the replaced range must be refused
 * (SEGV_ACCERR) — however far the MAP_FIXED has got with zapping the old pages. (Linux: all take
 * the mmap write lock, so none sees a MAP_FIXED half done.) The reader waits until the new VMA is
 * published, then calls and reads the page the zap reaches last: the window between the
 * publication and that page's zap is where the call used to answer from the new VMA while the
 * read still went through the old entry (check/found/brk-refused-by-a-half-done-map-fixed.mm).
 * The call comes once the new VMA is in the tree, so it must give the new VMA's answer.
 * <p>
 * Whether a round's calls land in the window depends on the scheduler (a many-round stress test).
 * Every 20 rounds and at the end: the invariant checker; at the end every frame came back.
 */
final class MapFixedInFlightAnswerRaceTest
{
    private static final long HEAP = 0x7f00_0000_0000L;
    /** The replaced range: a stack guard gap and a page above the break the brk asks for. */
    private static final long REPLACED = HEAP + 2 * AddressSpace.STACK_GUARD_GAP;
    private static final long LENGTH = 2L << 20;
    /** The brk's request: it leaves a page free below a plain VMA at REPLACED, not the guard gap below a stack there. */
    private static final long REQUESTED = REPLACED - AddressSpace.STACK_GUARD_GAP;
    /** The last page the MAP_FIXED's zap reaches. */
    private static final long READ = REPLACED + LENGTH - 8;
    /** A one-page stack half a guard gap above the replaced range (for {@link Answer#STACK_GROWTH}). */
    private static final long STACK = REPLACED + LENGTH + AddressSpace.STACK_GUARD_GAP / 2;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON_FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    private static final int ROUNDS = 200;

    enum Change
    {
        /** A plain VMA replaced by a stack: the brk is refused by the new VMA's guard gap. */
        BECOMES_A_STACK,
        /** A stack replaced by a plain VMA: the brk is granted because the guard gap went with the stack. */
        STOPS_BEING_A_STACK;

        int oldFlags()
        {
            return this == BECOMES_A_STACK ? 0 : MAP_GROWSDOWN;
        }

        int newFlags()
        {
            return this == BECOMES_A_STACK ? MAP_GROWSDOWN : 0;
        }
    }

    /** The call whose answer depends on the VMA at {@link #REPLACED} and the guard gap at its side. */
    enum Answer
    {
        /** brk(REQUESTED): refused (the old break) or granted. */
        BRK,
        /** mmap of a page at the hint REQUESTED, without MAP_FIXED: the hint taken, or a searched address. */
        MMAP_HINT,
        /**
         * A read a page below {@link #STACK}, within the guard gap above the replaced range: the stack
         * grows (0 read) unless an accessible VMA that is not a stack lies within the gap below it
         * (SEGV_MAPERR). Only {@link Change#BECOMES_A_STACK} changes that answer.
         */
        STACK_GROWTH;

        long call(final Cpu cpu)
        {
            return switch (this)
            {
                case BRK -> cpu.brk(REQUESTED);
                case MMAP_HINT -> cpu.mmap(REQUESTED, 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                case STACK_GROWTH -> cpu.readLong(STACK - 8);
            };
        }

        /** Null when {@code result} is an answer the call can give at all, else why not. */
        String invalid(final long result)
        {
            return switch (this)
            {
                case BRK -> result == HEAP || result == REQUESTED ? null : "neither the old break nor the request";
                case MMAP_HINT -> result > 0 && (result & 4095) == 0 ? null : "not a page address";
                case STACK_GROWTH -> result == Signal.NONE || result == Signal.SEGV_MAPERR ? null : "a signal other than SEGV_MAPERR";
            };
        }

        /** The address the call names (for messages). */
        long at()
        {
            return this == STACK_GROWTH ? STACK - 8 : REQUESTED;
        }

        boolean granted(final long result)
        {
            return this == STACK_GROWTH ? result == Signal.NONE : result == REQUESTED;
        }

        /** Whether the VMA after {@code change} grants the call (the one before it gives the other answer). */
        boolean grantedAfter(final Change change)
        {
            // a new stack's guard gap refuses the break and the hint; a stack may grow near one
            return (change == Change.BECOMES_A_STACK) == (this == STACK_GROWTH);
        }

        void undo(final Cpu cpu, final long result, final ConcurrentLinkedQueue<String> failures)
        {
            final boolean undone = switch (this)
            {
                case BRK -> cpu.brk(HEAP) == HEAP;
                case MMAP_HINT -> cpu.munmap(result, 4096) == 0;
                // the stack back to its one page
                case STACK_GROWTH -> cpu.munmap(STACK - 4096, 4096) == 0;
            };
            if (!undone)
            {
                failures.add(this + ": undoing " + result + " failed");
            }
        }
    }

    static Stream<Arguments> cases()
    {
        return Stream.of(LockingMode.values()).flatMap(locking -> Stream.of(Answer.values())
            .flatMap(answer -> Stream.of(Change.values())
                .filter(change -> answer != Answer.STACK_GROWTH || change == Change.BECOMES_A_STACK)
                .map(change -> Arguments.of(locking, answer, change))));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void aCallAnsweredByAMapFixedInFlightIsFollowedByItsProtection(final LockingMode locking, final Answer answer, final Change change)
        throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final long baseline = memory.framesInUse();
            try (AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION).thp(ThpMode.NEVER))
            {
                mm.setBrk(HEAP, HEAP);
                try (Cpu main = mm.attachCpu())
                {
                    assertEquals(STACK, main.mmap(STACK, 4096, RW, ANON_FIXED | MAP_GROWSDOWN, -1, 0));
                }
                final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
                final AtomicBoolean replaced = new AtomicBoolean();
                final AtomicBoolean watching = new AtomicBoolean();
                final CyclicBarrier go = new CyclicBarrier(2);
                final CyclicBarrier done = new CyclicBarrier(2);
                CpuThreads.run(mm, 2, (index, cpu) ->
                {
                    for (int round = 0; round < ROUNDS && failures.isEmpty(); round++)
                    {
                        if (index == 0)
                        {
                            reset(cpu, change, failures);
                            replaced.set(false);
                            watching.set(false);
                            cpu.offline();
                            go.await();
                            // the reader watches the tree before the MAP_FIXED starts
                            while (!watching.get())
                            {
                                Thread.onSpinWait();
                            }
                            final long result = cpu.mmap(REPLACED, LENGTH, PROT_NONE, ANON_FIXED | change.newFlags(), -1, 0);
                            if (result != REPLACED)
                            {
                                failures.add("MAP_FIXED = " + result);
                            }
                            replaced.set(true);
                        }
                        else
                        {
                            cpu.offline();
                            go.await();
                            watching.set(true);
                            // the new VMA published (the MAP_FIXED changed the tree)
                            while (!replaced.get() && !published(mm.tree().find(REPLACED), change))
                            {
                                Thread.onSpinWait();
                            }
                            final long result = answer.call(cpu);
                            final int read = cpu.readLong(READ);
                            if (answer.invalid(result) != null)
                            {
                                failures.add(String.format("round %d: %s = 0x%x: %s", round, answer, result, answer.invalid(result)));
                            }
                            else if (answer.granted(result) != answer.grantedAfter(change))
                            {
                                // called once the new VMA was in the tree, which only moves on from there
                                failures.add(String.format("round %d: %s at 0x%x = 0x%x, as only the VMA the MAP_FIXED replaced gives",
                                    round, answer, answer.at(), result));
                            }
                            else if (read != Signal.SEGV_ACCERR)
                            {
                                failures.add(String.format("round %d: %s at 0x%x = 0x%x, as only the MAP_FIXED's new VMA gives, then the read at 0x%x gave signal %d",
                                    round, answer, answer.at(), result, READ, read));
                            }
                            answer.undo(cpu, result, failures);
                        }
                        cpu.offline();
                        done.await();
                        // not after a failure nor after the last round: the other thread may be leaving, its
                        // CPU's cached frames going back meanwhile (the check after the join covers the end)
                        if (index == 0 && round % 20 == 19 && round + 1 < ROUNDS && failures.isEmpty())
                        {
                            mm.check(true).assertOk();
                        }
                    }
                });
                assertTrue(failures.isEmpty(), () -> failures.size() + " failures, the first: " + failures.peek());
                mm.check(true).assertOk();
                try (Cpu main = mm.attachCpu())
                {
                    assertEquals(HEAP, mm.brk());
                    assertEquals(0, main.munmap(REPLACED, LENGTH));
                    assertEquals(0, main.munmap(STACK, 4096));
                }
                mm.check(true).assertOk();
            }
            assertEquals(baseline, memory.framesInUse() - memory.hugeZeroPageFrames(), "every frame came back");
        }
    }

    /** The replaced range the old kind of VMA, read-write, every page written (present). */
    private static void reset(final Cpu cpu, final Change change, final ConcurrentLinkedQueue<String> failures)
    {
        if (cpu.mmap(REPLACED, LENGTH, RW, ANON_FIXED | change.oldFlags(), -1, 0) != REPLACED)
        {
            failures.add("mmap of the old VMA failed");
        }
        for (long va = REPLACED; va < REPLACED + LENGTH; va += 4096)
        {
            final int signal = cpu.writeLong(va, va);
            if (signal != Signal.NONE)
            {
                failures.add(String.format("populating write at 0x%x: signal %d", va, signal));
                return;
            }
        }
    }

    private static boolean published(final Vma vma, final Change change)
    {
        return vma != null && vma.start == REPLACED && ((vma.flags & VmFlags.VM_GROWSDOWN) != 0) == (change == Change.BECOMES_A_STACK);
    }
}
