package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.pgtable.PageWalker.ENTRY;

/**
 * clear_refs' soft-dirty reset (clear_soft_dirty in fs/proc/task_mmu.c): every present entry loses
 * its soft-dirty bit and is write-protected, so that the next write faults and marks it soft-dirty
 * again; PROT_NONE entries lose the bit only. The caller clears VM_SOFTDIRTY on the VMAs and
 * flushes.
 */
final class ClearSoftDirtyRange extends RangeVisitor implements HugePmd.LeafChange
{
    private final PageTableEditor editor;
    private final MemorySegment frames;
    private final HugePmd huge;

    ClearSoftDirtyRange(final PageTableEditor editor, final MemorySegment frames, final HugePmd huge)
    {
        super(CLEAR_SOFT_DIRTY, false, true);
        this.editor = editor;
        this.huge = huge;
        this.frames = frames;
    }

    /**
     * clear_soft_dirty_pmd: a 2 MiB leaf inside the range loses its soft-dirty bit and write
     * permission whole; one the range cuts is split first. A 1 GiB leaf is refused.
     */
    int large(final long slot, final long entry, final long va, final int level, final long lo, final long hi)
    {
        return rewriteLeaf(huge, this, slot, va, level, lo, hi, false);
    }

    @Override
    public long apply(final long leaf)
    {
        return leaf & ~(PageTableEntry.SOFT_DIRTY | PageTableEntry.WRITABLE);
    }

    int ptes(final long slot, final int count)
    {
        assert editor.holdsLock(slot >>> 12) : "soft-dirty clear without the PT lock";
        // a local count, added once: a field written per entry is stored again after every atomic
        long changed = 0;
        for (long s = slot, end = slot + ((long)count << 3); s < end; s += 8)
        {
            long e = (long)ENTRY.getOpaque(frames, s);
            if (e != 0 && !PageTableEntry.isMapped(e))
            {
                // a swap entry (pte_swp_clear_soft_dirty): no MMU writes a non-present entry, and the lock is ours
                if ((e & SwapEntry.SOFT_DIRTY) != 0)
                {
                    ENTRY.setRelease(frames, s, e & ~SwapEntry.SOFT_DIRTY);
                    changed++;
                }
                continue;
            }
            while (PageTableEntry.isMapped(e))
            {
                final long updated = PageTableEntry.isPresent(e)
                    ? e & ~(PageTableEntry.SOFT_DIRTY | PageTableEntry.WRITABLE)
                    : e & ~PageTableEntry.SOFT_DIRTY;
                if (updated == e)
                {
                    break;
                }
                // CAS: an MMU may set A/D concurrently without the lock
                final long witness = (long)ENTRY.compareAndExchange(frames, s, e, updated);
                if (witness == e)
                {
                    changed++;
                    break;
                }
                e = witness;
            }
        }
        done += changed;
        return PageTableEditor.OK;
    }
}
