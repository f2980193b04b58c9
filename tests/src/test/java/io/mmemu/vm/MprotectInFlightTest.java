package io.mmemu.vm;

import java.util.concurrent.ConcurrentLinkedQueue;
import io.mmemu.pgtable.HugePmd;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static io.mmemu.vm.Mman.MADV_HUGEPAGE;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_NONE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An mprotect(PROT_NONE) parked in its page-table change, right after it published the new flags
 * (at the first page-table page it visits, nothing changed there yet), while a racer writes a page
 * the new flags refuse (not populated: the write faults and reads them) and then a page whose
 * writable entry the mprotect has not changed yet. No order gives a refusal followed by a write
 * that goes through: the refusal must wait for the mprotect to be done (on Linux the VMAs it
 * changed stay write-locked until mmap_write_unlock; in mmap-lock mode the fault waits for the mmap
 * lock). The linearizability checker's check/found/mprotect-refusal-before-its-ptes.mm, made
 * deterministic, over a 2 MiB boundary: one VMA of small pages, one whose first block is a huge
 * page (split before the flags are published), and two VMAs changed one after the other (parked
 * in the first's change, the second not yet reached).
 */
final class MprotectInFlightTest
{
    private static final long PAGE = 4096;
    private static final long BASE = 0x7ff0_0000_0000L;
    private static final long BOUNDARY = BASE + HugePmd.SIZE;
    /** The mprotect's range: this much on each side of the boundary. */
    private static final long SIDE = 16 * PAGE;

    /** Where the range lies: in one VMA of small pages, over a huge page split, over two VMAs. */
    enum Layout
    {
        SMALL_PAGES, HUGE_PAGE_SPLIT, TWO_VMAS
    }

    @ParameterizedTest
    @CsvSource({"MMAP_LOCK, SMALL_PAGES", "MMAP_LOCK, HUGE_PAGE_SPLIT", "MMAP_LOCK, TWO_VMAS",
        "PER_VMA, SMALL_PAGES", "PER_VMA, HUGE_PAGE_SPLIT", "PER_VMA, TWO_VMAS"})
    void aRefusalByAnMprotectInFlightWaitsForItsPageTableChange(final LockingMode locking, final Layout layout)
        throws Exception
    {
        final long size = 2 * HugePmd.SIZE;
        final int rw = PROT_READ | PROT_WRITE;
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final long baseline = memory.framesInUse();
            final AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION)
                .thp(layout == Layout.SMALL_PAGES ? ThpMode.NEVER : ThpMode.MADVISE);
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            // refused: not populated, so the write faults and reads the VMA's flags; written:
            // populated and writable, its entry changed by the mprotect after the parking point
            final long refused = layout == Layout.TWO_VMAS ? BOUNDARY - PAGE : BOUNDARY;
            final long written = layout == Layout.TWO_VMAS ? BOUNDARY + PAGE : BOUNDARY - PAGE;
            try (Cpu setup = mm.attachCpu())
            {
                assertEquals(BASE, setup.mmap(BASE, size, rw, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
                if (layout != Layout.SMALL_PAGES)
                {
                    // TWO_VMAS: only the first block, which becomes a VMA of its own
                    assertEquals(0, setup.madvise(BASE, layout == Layout.TWO_VMAS ? HugePmd.SIZE : size, MADV_HUGEPAGE));
                }
                if (layout == Layout.HUGE_PAGE_SPLIT)
                {
                    final long before = setup.stats.thpFaultAlloc;
                    assertEquals(Signal.NONE, setup.writeByte(BASE, 0x11));
                    assertEquals(before + 1, setup.stats.thpFaultAlloc, "the first block is one huge page");
                }
                assertEquals(Signal.NONE, setup.writeByte(written, 0x22));
            }
            final ParkedWriter mprotect = new ParkedWriter(mm, "mprotect", () -> !writable(mm.tree().find(refused)),
                cpu -> cpu.mprotect(BOUNDARY - SIDE, 2 * SIDE, PROT_NONE), errors);
            final int[] signals = {-1, -1};
            final boolean finishedWhileParked = mprotect.race(mm, cpu ->
            {
                signals[0] = cpu.writeByte(refused, 0x33);
                signals[1] = cpu.writeByte(written, 0x44);
            }, errors);
            assertTrue(errors.isEmpty(), () -> "failures: " + errors);
            assertEquals(0, mprotect.result);
            assertFalse(signals[0] == Signal.SEGV_ACCERR && signals[1] == Signal.NONE,
                "the write at the new flags was refused, then the write through the unchanged entry went through"
                    + " (finished while the mprotect was parked: " + finishedWhileParked + ")");
            assertFalse(finishedWhileParked, "the racer's refusal came while the mprotect was parked");
            assertEquals(Signal.SEGV_ACCERR, signals[0]);
            assertEquals(Signal.SEGV_ACCERR, signals[1]);
            try (Cpu after = mm.attachCpu())
            {
                assertEquals(0, after.mprotect(BOUNDARY - SIDE, 2 * SIDE, rw));
                assertEquals(Signal.NONE, after.readByte(written));
                assertEquals(0x22, after.value(), "the refused write left the page as it was");
                assertEquals(0, after.munmap(BASE, size));
            }
            mm.check(true).assertOk();
            mm.close();
            assertEquals(baseline, memory.framesInUse() - memory.hugeZeroPageFrames());
        }
    }

    private static boolean writable(final Vma vma)
    {
        return vma != null && (vma.flags & VmFlags.VM_WRITE) != 0;
    }
}
