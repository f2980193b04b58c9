package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.pgtable.PageWalker.ENTRY;

/**
 * change_pte_range: rewrites the protection of every mapped entry (the bits in
 * {@link PageTableEntry#PROTECTION_MASK}), keeping frame, A and D; write permission only to
 * exclusive anonymous pages when {@link #writeOnlyIfExclusive} (a private mapping:
 * can_change_pte_writable; page-cache pages and pages fork shares must fault once, to be copied or
 * reused), never to the zero page.
 */
final class ProtectRange extends RangeVisitor implements HugePmd.LeafChange
{
    private final PageTableEditor editor;
    private final MemorySegment frames;
    private final long zeroPagePfn;
    private final HugePmd huge;
    private final PhysicalMemory memory;
    /** The operation's new protection bits (set by the editor before each walk). */
    long protection;
    /** Grant WRITABLE only to exclusive anonymous pages (set by the editor before each walk). */
    boolean writeOnlyIfExclusive;

    ProtectRange(final PageTableEditor editor, final PhysicalMemory memory, final HugePmd huge)
    {
        super(PROTECT, false, true);
        this.editor = editor;
        this.memory = memory;
        this.huge = huge;
        this.frames = memory.frames();
        this.zeroPagePfn = memory.zeroPagePfn();
    }

    /**
     * change_huge_pmd: a 2 MiB leaf inside the range is re-protected whole, PROT_NONE included (a
     * non-present leaf that keeps its page, AnonHugePages and all); one the range cuts is split
     * first. A hugetlb leaf (2 MiB or 1 GiB) is re-protected whole too (hugetlb_change_protection).
     */
    int large(final long slot, final long entry, final long va, final int level, final long lo, final long hi)
    {
        return rewriteAnyLeaf(editor, memory, huge, this, slot, entry, va, level, lo, hi);
    }

    /**
     * The huge leaf with the operation's protection (no write permission to the huge zero page, nor
     * to a block that is not exclusively this mapping's when {@link #writeOnlyIfExclusive}).
     */
    @Override
    public long apply(final long leaf)
    {
        long prot = protection;
        final long head = PageTableEntry.leafAddress(leaf, PageTableEntry.LEVEL_PMD) >>> 12;
        if (memory.isHugeZeroPage(head) || (writeOnlyIfExclusive && !memory.isAnonExclusive(head)))
        {
            prot &= ~PageTableEntry.WRITABLE;
        }
        return PageTableEntry.withProtection(leaf, prot);
    }

    int ptes(final long slot, final int count)
    {
        assert editor.holdsLock(slot >>> 12) : "change of protection without the PT lock";
        // locals, not fields, in the loop: a field is read again after every CAS, and written back
        final long prot = protection;
        final boolean exclusiveOnly = writeOnlyIfExclusive;
        long changed = 0;
        for (long s = slot, end = slot + ((long)count << 3); s < end; s += 8)
        {
            if (protect(s, prot, exclusiveOnly))
            {
                changed++;
            }
        }
        done += changed;
        return PageTableEditor.OK;
    }

    /** Re-protects one mapped entry; true if it changed. */
    private boolean protect(final long slot, final long protection, final boolean writeOnlyIfExclusive)
    {
        long e = (long)ENTRY.getOpaque(frames, slot);
        while (PageTableEntry.isMapped(e))
        {
            long prot = protection;
            if (PageTableEntry.pfn(e) == zeroPagePfn ||
                ((prot & PageTableEntry.WRITABLE) != 0 && writeOnlyIfExclusive && !memory.isAnonExclusive(PageTableEntry.pfn(e))))
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
