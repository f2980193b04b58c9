package io.mmemu.vm;

import io.mmemu.pgtable.SwapEntry;

/** Bits of a /proc/PID/pagemap word (Documentation/admin-guide/mm/pagemap.rst). */
public final class Pagemap
{
    public static final long PFN_MASK = (1L << 55) - 1;
    public static final long SOFT_DIRTY = 1L << 55;
    public static final long EXCLUSIVE = 1L << 56;
    public static final long UFFD_WP = 1L << 57;
    public static final long GUARD = 1L << 58;
    public static final long FILE_OR_SHARED_ANON = 1L << 61;
    public static final long SWAPPED = 1L << 62;
    public static final long PRESENT = 1L << 63;

    private Pagemap()
    {
    }

    /** The PFN field of a swapped page's word as a privileged reader sees it: swap type | offset << 5. */
    public static long swapFrame(final long entry)
    {
        return SwapEntry.type(entry) | SwapEntry.offset(entry) << SwapEntry.TYPE_BITS;
    }

    /**
     * The word of one page, as fs/proc/task_mmu.c's pagemap_pte_range composes it for an
     * unprivileged reader (PFN bits zero). The one place the rule is written; live address spaces
     * and dump views both call it.
     *
     * @param vmaFlags   the VMA's flags, or -1 when no VMA covers the page (the word is then 0)
     * @param softDirty  whether the kernel tracks soft-dirty (CONFIG_MEM_SOFT_DIRTY)
     * @param entry      the page's PTE (or large leaf), 0 when none
     * @param zeroPage   the entry maps the shared zero page (not a normal page: no exclusive, no file bit)
     * @param exclusive  the frame is mapped exactly once (or is a phantom frame)
     */
    public static long word(final int vmaFlags, final boolean softDirty, final long entry, final boolean zeroPage,
        final boolean exclusive)
    {
        if (vmaFlags == -1)
        {
            return 0;
        }
        long word = softDirty && (vmaFlags & VmFlags.VM_SOFTDIRTY) != 0 ? SOFT_DIRTY : 0;
        if (SwapEntry.isSwap(entry))
        {
            // PM_SWAP; the swap type and offset (type | offset << MAX_SWAPFILES_SHIFT) only for CAP_SYS_ADMIN
            return word | SWAPPED | (softDirty && (entry & SwapEntry.SOFT_DIRTY) != 0 ? SOFT_DIRTY : 0);
        }
        if (!io.mmemu.pgtable.PageTableEntry.isMapped(entry))
        {
            return word;
        }
        word |= PRESENT;
        if (softDirty && (entry & io.mmemu.pgtable.PageTableEntry.SOFT_DIRTY) != 0)
        {
            word |= SOFT_DIRTY;
        }
        if (!zeroPage)
        {
            if ((vmaFlags & VmFlags.VM_MAYSHARE) != 0)
            {
                word |= FILE_OR_SHARED_ANON;
            }
            if (exclusive)
            {
                word |= EXCLUSIVE;
            }
        }
        return word;
    }

    /**
     * The word of a page of the huge zero page: pagemap_pmd_range takes the leaf's page itself (not
     * vm_normal_page_pmd's answer), which is not anonymous, so it reports PM_FILE, unlike the 4 KiB
     * zero page; never exclusive.
     */
    public static long hugeZeroWord(final int vmaFlags, final boolean softDirty, final long entry)
    {
        return vmaFlags == -1 ? 0 : word(vmaFlags, softDirty, entry, true, false) | FILE_OR_SHARED_ANON;
    }
}
