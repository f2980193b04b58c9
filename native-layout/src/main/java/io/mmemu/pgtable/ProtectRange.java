package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import static io.mmemu.pgtable.PageWalker.ENTRY;

/**
 * change_pte_range: rewrites the protection of every mapped entry (the bits in
 * {@link PageTableEntry#PROTECTION_MASK}), keeping frame, A and D; write permission only to entries
 * already dirty when {@link #writeOnlyIfDirty}, never to the zero page. A large leaf is refused.
 */
final class ProtectRange extends RangeVisitor
{
    private final PageTableEditor editor;
    private final MemorySegment frames;
    private final long zeroPagePfn;
    /** The operation's new protection bits (set by the editor before each walk). */
    long protection;
    /** Grant WRITABLE only to dirty entries (set by the editor before each walk). */
    boolean writeOnlyIfDirty;

    ProtectRange(final PageTableEditor editor, final MemorySegment frames, final long zeroPagePfn)
    {
        super(PROTECT, false, true);
        this.editor = editor;
        this.frames = frames;
        this.zeroPagePfn = zeroPagePfn;
    }

    int large(final long slot, final long entry, final long va, final int level, final long lo, final long hi)
    {
        return PageTableEditor.LARGE_LEAF;
    }

    int ptes(final long slot, final int count)
    {
        assert editor.holdsLock(slot >>> 12) : "change of protection without the PT lock";
        for (long s = slot, end = slot + ((long)count << 3); s < end; s += 8)
        {
            if (protect(s))
            {
                done++;
            }
        }
        return PageTableEditor.OK;
    }

    /** Re-protects one mapped entry; true if it changed. */
    private boolean protect(final long slot)
    {
        long e = (long)ENTRY.getOpaque(frames, slot);
        while (PageTableEntry.isMapped(e))
        {
            long prot = protection;
            if ((writeOnlyIfDirty && !PageTableEntry.isDirty(e)) || PageTableEntry.pfn(e) == zeroPagePfn)
            {
                prot &= ~PageTableEntry.WRITABLE;
            }
            final long updated = PageTableEntry.withProtection(e, prot);
            if (updated == e)
            {
                return false;
            }
            // CAS, not a store: an MMU may set A/D concurrently without the lock
            final long witness = (long)ENTRY.compareAndExchange(frames, slot, e, updated);
            if (witness == e)
            {
                return true;
            }
            e = witness;
        }
        return false;
    }
}
