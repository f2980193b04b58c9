package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.pgtable.PageWalker.ENTRY;

/**
 * madvise_free_pte_range: every mapped entry made old and clean (pte_mkold + pte_mkclean), and a
 * frame that was dirty marked as written, so it is cleared before reuse.
 */
final class CleanRange extends RangeVisitor implements HugePmd.LeafChange
{
    private final PageTableEditor editor;
    private final PhysicalMemory memory;
    private final MemorySegment frames;
    private final HugePmd huge;

    CleanRange(final PageTableEditor editor, final PhysicalMemory memory, final HugePmd huge)
    {
        super(CLEAN, false, true);
        this.editor = editor;
        this.huge = huge;
        this.memory = memory;
        this.frames = memory.frames();
    }

    /**
     * madvise_free_huge_pmd: a 2 MiB leaf inside the range is made old and clean whole (its
     * subpages marked dirty if it was); one the range cuts is split first. A 1 GiB leaf is refused.
     */
    int large(final long slot, final long entry, final long va, final int level, final long lo, final long hi)
    {
        final int verdict = rewriteLeaf(huge, this, slot, va, level, lo, hi, false);
        if (PageTableEntry.isDirty(rewritten))
        {
            final long head = PageTableEntry.leafAddress(rewritten, PageTableEntry.LEVEL_PMD) >>> 12;
            if (!memory.isHugeZeroPage(head))
            {
                for (long pfn = head; pfn < head + PhysicalMemory.HUGE_FRAMES; pfn++)
                {
                    memory.markDirty(pfn);
                }
            }
        }
        return verdict;
    }

    @Override
    public long apply(final long leaf)
    {
        return leaf & ~(PageTableEntry.DIRTY | PageTableEntry.ACCESSED);
    }

    int ptes(final long slot, final int count)
    {
        assert editor.holdsLock(slot >>> 12) : "clean without the PT lock";
        // a local count, added once: a field written per entry is stored again after every atomic
        long changed = 0;
        for (long s = slot, end = slot + ((long)count << 3); s < end; s += 8)
        {
            if (clean(s))
            {
                changed++;
            }
        }
        done += changed;
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
