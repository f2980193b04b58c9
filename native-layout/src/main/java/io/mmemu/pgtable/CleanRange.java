package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.pgtable.PageWalker.ENTRY;

/**
 * madvise_free_pte_range: every mapped entry made old and clean (pte_mkold + pte_mkclean), and a
 * frame that was dirty marked as written, so it is cleared before reuse. A large leaf is refused.
 */
final class CleanRange extends RangeVisitor
{
    private final PageTableEditor editor;
    private final PhysicalMemory memory;
    private final MemorySegment frames;

    CleanRange(final PageTableEditor editor, final PhysicalMemory memory)
    {
        super(CLEAN, false, true);
        this.editor = editor;
        this.memory = memory;
        this.frames = memory.frames();
    }

    int large(final long slot, final long entry, final long va, final int level, final long lo, final long hi)
    {
        return PageTableEditor.LARGE_LEAF;
    }

    int ptes(final long slot, final int count)
    {
        assert editor.holdsLock(slot >>> 12) : "clean without the PT lock";
        for (long s = slot, end = slot + ((long)count << 3); s < end; s += 8)
        {
            if (clean(s))
            {
                done++;
            }
        }
        return PageTableEditor.OK;
    }

    /** Clears A and D of one mapped entry; true if either was set. */
    private boolean clean(final long slot)
    {
        long e = (long)ENTRY.getOpaque(frames, slot);
        while (PageTableEntry.isMapped(e) && (e & (PageTableEntry.DIRTY | PageTableEntry.ACCESSED)) != 0)
        {
            // CAS: an MMU may set A/D concurrently without the lock
            final long witness = (long)ENTRY.compareAndExchange(frames, slot, e,
                e & ~(PageTableEntry.DIRTY | PageTableEntry.ACCESSED));
            if (witness == e)
            {
                if (PageTableEntry.isDirty(e))
                {
                    memory.markDirty(PageTableEntry.pfn(e));
                }
                return true;
            }
            e = witness;
        }
        return false;
    }
}
