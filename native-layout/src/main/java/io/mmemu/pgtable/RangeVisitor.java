package io.mmemu.pgtable;

import io.mmemu.phys.PhysicalMemory;

/**
 * What {@link RangeWalker} does at each part of the tables over a range: the analogue of Linux's
 * {@code mm_walk_ops} and of gVisor's pagetables visitors. The set is closed (every visitor is a
 * final class of this package) and the walker dispatches on {@link #kind} with a switch, so each
 * call site is monomorphic and the per-entry loops inline; visitors are reused from operation to
 * operation by their owner (the editor), so a walk allocates nothing.
 * <p>
 * Each visitor decides three things: what an empty upper entry means ({@link #installsTables}:
 * populate installs a table, the rest skip the hole); what a large leaf (PS at the PMD or PUD
 * level) means (its {@code large} method: act on it whole, split it, skip it, or refuse with
 * {@link PageTableEditor#LARGE_LEAF}); and what to do with the PTEs of one PT page, which it gets
 * as one run of slots, under that page's PT lock when {@link #locksPtPages}.
 */
abstract sealed class RangeVisitor
    permits ZapRange, ProtectRange, CleanRange, ClearSoftDirtyRange, PopulateRange, MoveRange, FreeTablesRange,
    PageTableChecker, ObserveRange, CopyRange, PageoutRange, FreezeRange
{
    static final int ZAP = 0;
    static final int PROTECT = 1;
    static final int CLEAN = 2;
    static final int CLEAR_SOFT_DIRTY = 3;
    static final int POPULATE = 4;
    static final int MOVE = 5;
    static final int FREE_TABLES = 6;
    static final int CHECK = 7;
    static final int OBSERVE = 8;
    static final int COPY = 9;
    static final int PAGEOUT_KIND = 10;
    static final int FREEZE = 11;

    /** A {@code large} verdict: the leaf is done with (acted on whole, or left alone); go on after it. */
    static final int NEXT = 1;
    /** A {@code large} verdict: the leaf was split into a table; the walker re-reads the entry and descends. */
    static final int DESCEND = 2;

    final int kind;
    /** An empty upper entry gets a fresh table (installed by CAS, as a fault would) instead of being skipped. */
    final boolean installsTables;
    /** The walker takes each PT page's lock around {@code ptes}. */
    final boolean locksPtPages;

    /**
     * Where changed ranges go for the flush (null: nothing to flush). Set per operation by the
     * owner; the walker adds the PT page's range after its lock is released when {@link #done}
     * grew, and flushes when {@link #flushWhenFull} and the gather is full.
     */
    MmuGather tlb;
    /** Whether a full gather is flushed between PT pages (zap: its frames are waiting in it). */
    boolean flushWhenFull;
    /** Entries (or leaves) changed by the current operation. */
    long done;

    /** The leaf {@link #rewriteLeaf} last rewrote in place (its value before), 0 when it changed nothing. */
    long rewritten;

    /**
     * The large-leaf rule of the visitors that rewrite a leaf's bits (protect, clean, soft-dirty
     * clear): a hugetlb leaf is left alone, another 1 GiB leaf refused; a 2 MiB leaf the range cuts, or any when {@code split}, is
     * split and taken again; one the range covers is rewritten in place by {@code change}, counted
     * and its range gathered for the flush when that changed it ({@link #rewritten}).
     */
    final int rewriteLeaf(final HugePmd huge, final HugePmd.LeafChange change, final long slot, final long va,
        final int level, final long lo, final long hi, final boolean split)
    {
        rewritten = 0;
        if (huge.isHugetlbLeaf(slot, level))
        {
            // a hugetlb leaf: clear_refs and MADV_FREE have no hugetlb_entry (protect handles its own)
            return NEXT;
        }
        if (level != PageTableEntry.LEVEL_PMD)
        {
            return PageTableEditor.LARGE_LEAF;
        }
        if (split || !whole(va, lo, hi))
        {
            huge.split(slot);
            return DESCEND;
        }
        final long old = huge.update(slot, change);
        if (!PageTableEntry.isHugePmd(old))
        {
            return DESCEND;
        }
        if (change.apply(old) != old)
        {
            rewritten = old;
            done += PhysicalMemory.HUGE_FRAMES;
            tlb.addRange(va, va + HugePmd.SIZE);
        }
        return NEXT;
    }

    /**
     * The large-leaf rule of the visitors that rewrite every leaf's bits, hugetlb leaves included
     * (protect, a move's freeze and thaw): a hugetlb leaf is rewritten whole by {@code change}
     * (its range gathered when changed; a range that cuts it is refused), anything else as
     * {@link #rewriteLeaf} says.
     */
    final int rewriteAnyLeaf(final PageTableEditor editor, final PhysicalMemory memory, final HugePmd huge,
        final HugePmd.LeafChange change, final long slot, final long entry, final long va, final int level, final long lo,
        final long hi)
    {
        if (HugetlbLeaf.is(memory, entry, level))
        {
            final long frames = editor.hugetlb().rewrite(slot, va, level, lo, hi, change, tlb);
            if (frames < 0)
            {
                return (int)frames;
            }
            done += frames;
            return NEXT;
        }
        return rewriteLeaf(huge, change, slot, va, level, lo, hi, false);
    }

    /** Whether the 2 MiB leaf mapping {@code va} lies whole inside {@code [lo, hi)}. */
    static boolean whole(final long va, final long lo, final long hi)
    {
        return va >= lo && va + HugePmd.SIZE <= hi;
    }

    RangeVisitor(final int kind, final boolean installsTables, final boolean locksPtPages)
    {
        this.kind = kind;
        this.installsTables = installsTables;
        this.locksPtPages = locksPtPages;
    }
}
