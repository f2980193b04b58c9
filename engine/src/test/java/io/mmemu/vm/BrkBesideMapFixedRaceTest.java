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
 * A brk whose answer depends on a MAP_FIXED in flight above the break: the MAP_FIXED(PROT_NONE)
 * replaces a populated read-write mapping a stack guard gap above the heap, and turns the VMA there
 * into a stack (MAP_GROWSDOWN: the growth no longer leaves the gap free, so brk refuses) or a stack
 * into a plain VMA (the growth now fits). An answer the new VMA gave orders the brk after the
 * MAP_FIXED, so the same thread's next read of the replaced range must be refused (SEGV_ACCERR) —
 * however far the MAP_FIXED has got with zapping the old pages. (Linux: both take the mmap write
 * lock, so brk never sees a MAP_FIXED half done.) The reader waits until the new VMA is published,
 * then calls brk and reads the page the zap reaches last: the window between the publication and
 * that page's zap is where brk used to answer from the new VMA while the read still went through
 * the old entry (check/found/brk-refused-by-a-half-done-map-fixed.mm). The brk is called once the
 * new VMA is in the tree, so it must give the new VMA's answer.
 * <p>
 * Whether a round's calls land in the window depends on the scheduler (a many-round stress test).
 * Every 20 rounds and at the end: the invariant checker; at the end every frame came back.
 */
final class BrkBesideMapFixedRaceTest
{
    private static final long HEAP = 0x7f00_0000_0000L;
    /** The replaced range: a stack guard gap and a page above the break the brk asks for. */
    private static final long REPLACED = HEAP + 2 * AddressSpace.STACK_GUARD_GAP;
    private static final long LENGTH = 2L << 20;
    /** The brk's request: it leaves a page free below a plain VMA at REPLACED, not the guard gap below a stack there. */
    private static final long REQUESTED = REPLACED - AddressSpace.STACK_GUARD_GAP;
    /** The last page the MAP_FIXED's zap reaches. */
    private static final long READ = REPLACED + LENGTH - 8;
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

        /** Whether brk's result is the one only the new VMA gives. */
        boolean sawNewVma(final long result)
        {
            return this == BECOMES_A_STACK ? result == HEAP : result == REQUESTED;
        }
    }

    static Stream<Arguments> cases()
    {
        return Stream.of(LockingMode.values()).flatMap(locking -> Stream.of(Change.values()).map(change -> Arguments.of(locking, change)));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void aBrkAnsweredByAMapFixedInFlightIsFollowedByItsProtection(final LockingMode locking, final Change change) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final long baseline = memory.framesInUse();
            try (AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION).thp(ThpMode.NEVER))
            {
                mm.setBrk(HEAP, HEAP);
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
                            final long result = cpu.brk(REQUESTED);
                            final int read = cpu.readLong(READ);
                            if (result != HEAP && result != REQUESTED)
                            {
                                failures.add(String.format("round %d: brk(0x%x) = 0x%x", round, REQUESTED, result));
                            }
                            else if (!change.sawNewVma(result))
                            {
                                // called once the new VMA was in the tree, which only moves on from there
                                failures.add(String.format("round %d: brk(0x%x) = 0x%x, as only the VMA the MAP_FIXED replaced gives",
                                    round, REQUESTED, result));
                            }
                            else if (read != Signal.SEGV_ACCERR)
                            {
                                failures.add(String.format("round %d: brk(0x%x) = 0x%x, as only the MAP_FIXED's new VMA gives, then the read at 0x%x gave signal %d",
                                    round, REQUESTED, result, READ, read));
                            }
                        }
                        cpu.offline();
                        done.await();
                        if (index == 0 && round % 20 == 19)
                        {
                            mm.check(true).assertOk();
                        }
                    }
                });
                assertTrue(failures.isEmpty(), () -> failures.size() + " failures, the first: " + failures.peek());
                mm.check(true).assertOk();
                try (Cpu main = mm.attachCpu())
                {
                    assertEquals(HEAP, main.brk(HEAP));
                    assertEquals(0, main.munmap(REPLACED, LENGTH));
                }
                mm.check(true).assertOk();
            }
            assertEquals(baseline, memory.framesInUse() - memory.hugeZeroPageFrames(), "every frame came back");
        }
    }

    /** The heap empty again, the replaced range the old kind of VMA, read-write, every page written (present). */
    private static void reset(final Cpu cpu, final Change change, final ConcurrentLinkedQueue<String> failures)
    {
        if (cpu.brk(HEAP) != HEAP)
        {
            failures.add("brk back to the heap's start failed");
        }
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
