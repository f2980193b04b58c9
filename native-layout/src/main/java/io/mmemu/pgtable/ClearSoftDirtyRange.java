package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import static io.mmemu.pgtable.PageWalker.ENTRY;

/**
 * clear_refs' soft-dirty reset (clear_soft_dirty in fs/proc/task_mmu.c): every present entry loses
 * its soft-dirty bit and is write-protected, so that the next write faults and marks it soft-dirty
 * again; PROT_NONE entries lose the bit only. The caller clears VM_SOFTDIRTY on the VMAs and
 * flushes. A large leaf is refused (clear_soft_dirty_pmd comes with THP).
 */
final class ClearSoftDirtyRange extends RangeVisitor
{
    private final PageTableEditor editor;
    private final MemorySegment frames;

    ClearSoftDirtyRange(final PageTableEditor editor, final MemorySegment frames)
    {
        super(CLEAR_SOFT_DIRTY, false, true);
        this.editor = editor;
        this.frames = frames;
    }

    int large(final long slot, final long entry, final long va, final int level, final long lo, final long hi)
    {
        return PageTableEditor.LARGE_LEAF;
    }

    int ptes(final long slot, final int count)
    {
        assert editor.holdsLock(slot >>> 12) : "soft-dirty clear without the PT lock";
        for (long s = slot, end = slot + ((long)count << 3); s < end; s += 8)
        {
            long e = (long)ENTRY.getOpaque(frames, s);
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
                    done++;
                    break;
                }
                e = witness;
            }
        }
        return PageTableEditor.OK;
    }
}
