package io.mmemu.vm;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import io.mmemu.pgtable.HugePmd;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import static io.mmemu.vm.Mman.MADV_DONTNEED;
import static io.mmemu.vm.Mman.MADV_HUGEPAGE;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_NONE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An mprotect(PROT_NONE) racing a thread that writes two pages of its range, one after the other:
 * once a write is refused, the mprotect has taken effect for that thread, so its next write to the
 * range must be refused too — however far the mprotect has got with the page tables. (Linux: the
 * VMAs mprotect changes stay write-locked until it drops the mmap lock, so a fault that finds the
 * new flags has waited for the page-table change and its TLB flush.) The writer waits until the
 * new flags are published at the page it writes first (not populated, so it faults and reads them),
 * then writes a page whose writable translation the mprotect changes last: the window between the
 * publication and that change is where a refusal used to come before the mprotect was done
 * (check/found/mprotect-refusal-before-its-ptes.mm). Three layouts over a 2 MiB boundary:
 * <ul>
 *   <li>one VMA of small pages, split in three by the mprotect;</li>
 *   <li>one VMA whose first block is a transparent huge page, split by the VMA split before the
 *       new flags are published;</li>
 *   <li>two VMAs (the first MADV_HUGEPAGE), changed one after the other: the refusal read in the
 *       first, the write through the second's unchanged entries.</li>
 * </ul>
 * Whether a round's writes land in the window depends on the scheduler (a many-round stress test;
 * tests' MprotectInFlightTest parks the mprotect there and is deterministic). Every 20 rounds and at
 * the end: the invariant checker; at the end every frame came back.
 */
final class MprotectRefusalRaceTest
{
    private static final long BASE = 0x7ff0_0000_0000L;
    private static final long BOUNDARY = BASE + HugePmd.SIZE;
    private static final long SIZE = 2 * HugePmd.SIZE;
    /** Pages of the range on each side of the 2 MiB boundary. */
    private static final int SIDE = 448;
    private static final long RANGE_START = BOUNDARY - SIDE * 4096L;
    private static final long RANGE_LENGTH = 2 * SIDE * 4096L;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ROUNDS = 60;

    enum Layout
    {
        SMALL_PAGES, HUGE_PAGE_SPLIT, TWO_VMAS
    }

    static Stream<Arguments> cases()
    {
        return Stream.of(LockingMode.values()).flatMap(locking -> Stream.of(Layout.values()).map(layout -> Arguments.of(locking, layout)));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void aWriteRefusedByAnMprotectInFlightIsFollowedOnlyByRefusals(final LockingMode locking, final Layout layout)
        throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final long baseline = memory.framesInUse();
            try (AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION)
                .thp(layout == Layout.SMALL_PAGES ? ThpMode.NEVER : ThpMode.MADVISE))
            {
                final Cpu main = mm.attachCpu();
                assertEquals(BASE, main.mmap(BASE, SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
                if (layout == Layout.HUGE_PAGE_SPLIT)
                {
                    assertEquals(0, main.madvise(BASE, SIZE, MADV_HUGEPAGE));
                }
                else if (layout == Layout.TWO_VMAS)
                {
                    assertEquals(0, main.madvise(BASE, HugePmd.SIZE, MADV_HUGEPAGE));
                }
                main.offline();
                // the page written first (not populated: it faults and reads the flags) and the one
                // written next (populated and writable: its entry is among the last the mprotect changes)
                final long refused = layout == Layout.TWO_VMAS ? BOUNDARY - 4096 : BOUNDARY;
                final long written = layout == Layout.TWO_VMAS ? BOUNDARY + (SIDE - 1) * 4096L : BOUNDARY - 4096;
                final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
                final AtomicBoolean protectedDone = new AtomicBoolean();
                final AtomicBoolean watching = new AtomicBoolean();
                final AtomicLong hugePages = new AtomicLong();
                final CyclicBarrier go = new CyclicBarrier(2);
                final CyclicBarrier done = new CyclicBarrier(2);
                CpuThreads.run(mm, 2, (index, cpu) ->
                {
                    for (int round = 0; round < ROUNDS && failures.isEmpty(); round++)
                    {
                        if (index == 0)
                        {
                            final long hugeBefore = cpu.stats.thpFaultAlloc;
                            reset(cpu, layout, refused, failures);
                            hugePages.addAndGet(cpu.stats.thpFaultAlloc - hugeBefore);
                            protectedDone.set(false);
                            watching.set(false);
                            cpu.offline();
                            go.await();
                            // the writer watches the tree before the mprotect starts
                            while (!watching.get())
                            {
                                Thread.onSpinWait();
                            }
                            final long result = cpu.mprotect(RANGE_START, RANGE_LENGTH, PROT_NONE);
                            if (result != 0)
                            {
                                failures.add("mprotect(PROT_NONE) = " + result);
                            }
                            protectedDone.set(true);
                        }
                        else
                        {
                            cpu.offline();
                            go.await();
                            watching.set(true);
                            // the new flags published at the refused page (the writer changed the tree)
                            while (!protectedDone.get() && writable(mm.tree().find(refused)))
                            {
                                Thread.onSpinWait();
                            }
                            final boolean inFlight = !protectedDone.get();
                            final int first = cpu.writeLong(refused, round);
                            final int second = cpu.writeLong(written, round);
                            if (first != Signal.SEGV_ACCERR)
                            {
                                failures.add(String.format("round %d: the write at 0x%x after the new flags were published: signal %d",
                                    round, refused, first));
                            }
                            else if (second != Signal.SEGV_ACCERR)
                            {
                                failures.add(String.format("round %d: the write at 0x%x was refused, then the write at 0x%x gave signal %d%s",
                                    round, refused, written, second, inFlight ? " (the mprotect in flight)" : ""));
                            }
                        }
                        cpu.offline();
                        done.await();
                        // not after the last round: the other thread's CPU closes then, its cached
                        // frames going back during the check (the check after the run covers it)
                        if (index == 0 && round % 20 == 19 && round < ROUNDS - 1)
                        {
                            mm.check(true).assertOk();
                        }
                    }
                });
                assertTrue(failures.isEmpty(), () -> failures.size() + " failures, the first: " + failures.peek());
                if (layout == Layout.HUGE_PAGE_SPLIT)
                {
                    assertTrue(hugePages.get() >= ROUNDS, "the first block was not a huge page at every round: " + hugePages.get());
                }
                mm.check(true).assertOk();
                assertEquals(0, main.munmap(BASE, SIZE));
                mm.check(true).assertOk();
                main.close();
            }
            assertEquals(baseline, memory.framesInUse() - memory.hugeZeroPageFrames(), "every frame came back");
        }
    }

    /**
     * The range read-write again, the refused page not populated, the written page (and the rest of
     * its side of the range) populated and writable; in {@link Layout#HUGE_PAGE_SPLIT} the first
     * block one huge page again.
     */
    private static void reset(final Cpu cpu, final Layout layout, final long refused,
        final ConcurrentLinkedQueue<String> failures)
    {
        expect(failures, "mprotect(RW)", cpu.mprotect(RANGE_START, RANGE_LENGTH, RW));
        switch (layout)
        {
            case SMALL_PAGES ->
            {
                expect(failures, "MADV_DONTNEED", cpu.madvise(BOUNDARY, SIDE * 4096L, MADV_DONTNEED));
                writeEach(cpu, RANGE_START, BOUNDARY, failures);
            }
            case HUGE_PAGE_SPLIT ->
            {
                expect(failures, "MADV_DONTNEED", cpu.madvise(BASE, SIZE, MADV_DONTNEED));
                // a huge page (the VMA spans the block again: the mprotect(RW) merged it back)
                writeEach(cpu, BASE, BASE + 4096, failures);
            }
            case TWO_VMAS ->
            {
                expect(failures, "MADV_DONTNEED", cpu.madvise(RANGE_START, SIDE * 4096L, MADV_DONTNEED));
                writeEach(cpu, BOUNDARY, BOUNDARY + SIDE * 4096L, failures);
            }
        }
        assertTrue(cpu.mm.tree().find(refused) != null);
    }

    private static void writeEach(final Cpu cpu, final long from, final long to, final ConcurrentLinkedQueue<String> failures)
    {
        for (long va = from; va < to; va += 4096)
        {
            final int signal = cpu.writeLong(va, va);
            if (signal != Signal.NONE)
            {
                failures.add(String.format("populating write at 0x%x: signal %d", va, signal));
                return;
            }
        }
    }

    private static void expect(final ConcurrentLinkedQueue<String> failures, final String what, final long result)
    {
        if (result != 0)
        {
            failures.add(what + " = " + result);
        }
    }

    private static boolean writable(final Vma vma)
    {
        return vma != null && (vma.flags & VmFlags.VM_WRITE) != 0;
    }
}
