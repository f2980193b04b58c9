package io.mmemu.vm;

import io.mmemu.pgtable.SwapEntry;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** pagemap words of swapped pages, as fs/proc/task_mmu.c composes them. */
class PagemapTest
{
    private static final int ANON_RW = VmFlags.VM_READ | VmFlags.VM_WRITE | VmFlags.VM_MAYREAD | VmFlags.VM_MAYWRITE;

    @Test
    void aSwapEntryIsPmSwapWithItsSoftDirtyBitAndNoPfnForAnUnprivilegedReader()
    {
        final long pte = SwapEntry.of(0, 0x1234);
        assertEquals(Pagemap.SWAPPED, Pagemap.word(ANON_RW, true, pte, false, true),
            "not present, not exclusive (PM_MMAP_EXCLUSIVE needs PM_PRESENT), no PFN");
        assertEquals(Pagemap.SWAPPED | Pagemap.SOFT_DIRTY, Pagemap.word(ANON_RW, true, pte | SwapEntry.SOFT_DIRTY, false, true));
        assertEquals(Pagemap.SWAPPED, Pagemap.word(ANON_RW, false, pte | SwapEntry.SOFT_DIRTY, false, true),
            "without CONFIG_MEM_SOFT_DIRTY the bit is not reported");
        assertEquals(Pagemap.SWAPPED | Pagemap.SOFT_DIRTY, Pagemap.word(ANON_RW | VmFlags.VM_SOFTDIRTY, true, pte, false, true),
            "a VM_SOFTDIRTY VMA marks every page");
    }

    @Test
    void thePrivilegedFrameFieldIsTypeThenOffsetAboveFiveBits()
    {
        assertEquals(3 | (0x1234L << 5), Pagemap.swapFrame(SwapEntry.of(3, 0x1234)));
        assertEquals(0, Pagemap.swapFrame(SwapEntry.of(0, 0)));
    }
}
