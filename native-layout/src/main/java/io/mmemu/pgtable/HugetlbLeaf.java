package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.pgtable.PageTableEntry.ACCESSED;
import static io.mmemu.pgtable.PageTableEntry.WRITABLE;
import static io.mmemu.pgtable.PageWalker.ENTRY;

/**
 * The leaves of hugetlb pages (mm/hugetlb.c's huge_pte side): a 2 MiB page as a PMD leaf, a 1 GiB
 * page as a PUD leaf, on one thread's behalf through its {@link PageTableEditor}. Unlike a
 * transparent huge page's leaf ({@link HugePmd}) a hugetlb leaf is never split and has no PT page
 * deposited: the syscalls keep every range they give a visitor aligned to the VMA's huge page
 * size, so a visitor that finds one cut by its range refuses with {@link PageTableEditor#LARGE_LEAF}.
 * A hugetlb leaf may be PROT_NONE (not present, PROTNONE kept, the page kept), as huge_pte_modify
 * leaves it. Which large leaves are hugetlb: those whose head frame is a pool page
 * ({@link io.mmemu.phys.FrameFlags#HUGETLB}, or a tables-only pool's phantom run); nothing else
 * makes a PUD leaf, and the visitors that change entries refuse one over anything else.
 * <p>
 * Every change of a leaf is made under the PT lock of the table that holds it, by CAS or atomic
 * exchange: an MMU may set A/D without the lock.
 */
public final class HugetlbLeaf
{
    private final PageTableEditor editor;
    private final PhysicalMemory memory;
    private final MemorySegment frames;

    HugetlbLeaf(final PageTableEditor editor, final PhysicalMemory memory)
    {
        this.editor = editor;
        this.memory = memory;
        this.frames = memory.frames();
    }

    /**
     * Whether the large leaf {@code entry} at {@code level} maps a hugetlb page (a pool's page; a
     * 1 GiB leaf over anything else is refused by the visitors that change entries).
     */
    static boolean is(final PhysicalMemory memory, final long entry, final int level)
    {
        return memory.isHugetlb(PageTableEntry.leafAddress(entry, level) >>> 12);
    }

    /** Frames a leaf of {@code level} maps. */
    static long framesOf(final int level)
    {
        return PageTableEntry.coverage(level) >>> 12;
    }

    /** Whether the leaf of {@code level} mapping {@code va} lies whole inside {@code [lo, hi)}. */
    private static boolean whole(final long va, final int level, final long lo, final long hi)
    {
        return va >= lo && va + PageTableEntry.coverage(level) <= hi;
    }

    /**
     * Installs {@code leaf} in the empty entry at {@code slot} (a PMD or PUD slot a walk found).
     * {@link PageTableEditor#OK}, or {@link PageTableEditor#LARGE_LEAF} when the entry was not empty
     * any more (another fault installed first): the caller gives its page back.
     */
    public int install(final long slot, final long leaf)
    {
        final long table = slot >>> 12;
        editor.lockTable(table);
        try
        {
            // volatile CAS: a walker installs tables into empty upper entries by CAS without the
            // lock; the release publishes the page's descriptors to walkers
            return (boolean)ENTRY.compareAndSet(frames, slot, 0L, leaf) ? PageTableEditor.OK : PageTableEditor.LARGE_LEAF;
        }
        finally
        {
            editor.unlockTable(table);
        }
    }

    /**
     * Replaces the leaf at {@code slot} by {@code updated} if it is still {@code expected}
     * (hugetlb_wp's new page, a write fault's reuse); false when it changed meanwhile.
     */
    public boolean replace(final long slot, final long expected, final long updated)
    {
        final long table = slot >>> 12;
        editor.lockTable(table);
        try
        {
            // volatile CAS: an MMU may have set A/D since the caller read the entry: then it retries
            return (boolean)ENTRY.compareAndSet(frames, slot, expected, updated);
        }
        finally
        {
            editor.unlockTable(table);
        }
    }

    /**
     * huge_pmd_unshare's neighbour, __unmap_hugepage_range: clears the leaf at {@code slot}, unmaps
     * each subpage and gathers the page whole (back to its pool after the flush). Returns the frames
     * unmapped (0 when the entry was no longer a leaf), or {@link PageTableEditor#LARGE_LEAF} when
     * the range cuts the leaf.
     */
    long zap(final long slot, final long va, final int level, final long lo, final long hi, final MmuGather gather)
    {
        if (!whole(va, level, lo, hi))
        {
            return PageTableEditor.LARGE_LEAF;
        }
        final long old = exchange(slot, level);
        if (old == 0L)
        {
            return 0;
        }
        final long head = PageTableEntry.leafAddress(old, level) >>> 12;
        final long n = framesOf(level);
        for (long pfn = head; pfn < head + n; pfn++)
        {
            memory.unmapData(pfn);
        }
        gather.addHugePage(head, !PageTableEntry.isDirty(old));
        gather.addRange(va, va + PageTableEntry.coverage(level));
        if (gather.isFull())
        {
            gather.flush();
        }
        return n;
    }

    /** Clears the leaf at {@code slot} under its table's lock; the old leaf, or 0 when there was none. */
    private long exchange(final long slot, final int level)
    {
        final long table = slot >>> 12;
        editor.lockTable(table);
        try
        {
            if (!PageTableEntry.isLargeLeaf((long)ENTRY.getAcquire(frames, slot), level))
            {
                return 0L;
            }
            // atomic exchange: A/D an MMU sets meanwhile travel with the old value
            return (long)ENTRY.getAndSet(frames, slot, 0L);
        }
        finally
        {
            editor.unlockTable(table);
        }
    }

    /**
     * hugetlb_change_protection: rewrites the leaf at {@code slot} by {@code change} (by CAS, again
     * when an MMU set A/D meanwhile), gathering its range for the flush when it changed. Returns the
     * frames changed (0 if none), or {@link PageTableEditor#LARGE_LEAF} when the range cuts the leaf.
     */
    long rewrite(final long slot, final long va, final int level, final long lo, final long hi,
        final HugePmd.LeafChange change, final MmuGather gather)
    {
        if (!whole(va, level, lo, hi))
        {
            return PageTableEditor.LARGE_LEAF;
        }
        final long table = slot >>> 12;
        editor.lockTable(table);
        try
        {
            long e = (long)ENTRY.getAcquire(frames, slot);
            while (PageTableEntry.isLargeLeaf(e, level))
            {
                final long updated = change.apply(e);
                if (updated == e)
                {
                    return 0;
                }
                // CAS: an MMU may set A/D concurrently without the lock
                final long witness = (long)ENTRY.compareAndExchange(frames, slot, e, updated);
                if (witness == e)
                {
                    gather.addRange(va, va + PageTableEntry.coverage(level));
                    return framesOf(level);
                }
                e = witness;
            }
            return 0;
        }
        finally
        {
            editor.unlockTable(table);
        }
    }

    /**
     * move_hugetlb_page_tables: the leaf at {@code slot} (mapping {@code va}) moves whole to the
     * same level's entry for {@code va + delta} under {@code cr3}, which must be empty and aligned
     * (the syscall checked both). Returns the frames moved, or a negative status.
     */
    long move(final long slot, final long va, final int level, final long lo, final long hi, final long cr3,
        final long delta)
    {
        final long dest = va + delta;
        if (!whole(va, level, lo, hi) || (dest & (PageTableEntry.coverage(level) - 1)) != 0)
        {
            return PageTableEditor.LARGE_LEAF;
        }
        final PageWalker walker = editor.walker();
        final int status = walker.walkAllocTo(cr3, dest, level);
        if (status == PageWalker.WALK_NO_MEMORY)
        {
            return PageTableEditor.NO_MEMORY;
        }
        if (status != PageWalker.WALK_ENTRY || walker.entry() != 0L)
        {
            return PageTableEditor.BAD_ENTRY;
        }
        final long destSlot = walker.slot();
        final long leaf = exchange(slot, level);
        if (leaf == 0L)
        {
            return 0;
        }
        // one PT lock at a time: the leaf is out of the source table before it enters the destination's
        if (install(destSlot, leaf) != PageTableEditor.OK)
        {
            throw new IllegalStateException("hugetlb leaf 0x" + Long.toHexString(leaf) + " lost: the destination filled");
        }
        return framesOf(level);
    }

    /**
     * copy_hugetlb_page_range for one leaf: the child gets the same leaf (old: A cleared) at
     * {@code va} under {@code childCr3}, each subpage one more reference and mapping, no longer
     * exclusive; in a copy-on-write mapping a writable leaf is write-protected on both sides, so the
     * first write on either side copies it from the pool (hugetlb_wp). Returns the frames shared,
     * or a negative status (NO_MEMORY: no table for the child).
     */
    long copy(final long slot, final long va, final int level, final long childCr3, final boolean cow,
        final PageWalker target, final long[] writeProtected)
    {
        final int status = target.walkAllocTo(childCr3, va, level);
        if (status == PageWalker.WALK_NO_MEMORY)
        {
            return PageTableEditor.NO_MEMORY;
        }
        if (status != PageWalker.WALK_ENTRY || target.entry() != 0L)
        {
            return PageTableEditor.BAD_ENTRY;
        }
        final long childSlot = target.slot();
        final long table = slot >>> 12;
        final long parent = (long)ENTRY.getAcquire(frames, slot);
        final long parentHead = PageTableEntry.leafAddress(parent, level) >>> 12;
        if (PageTableEntry.isLargeLeaf(parent, level) && !memory.isBacked(parentHead))
        {
            // a tables-only pool's page has no counts to share: the child gets a page of its own,
            // as copy_present_page gives one for a page that cannot be shared
            final long own = memory.hugetlbPoolOf(parentHead).allocate(false, true);
            if (own == io.mmemu.phys.BuddyAllocator.NO_FRAME)
            {
                return PageTableEditor.NO_MEMORY;
            }
            if (install(childSlot, PageTableEntry.largeLeaf(own << 12, parent) & ~ACCESSED) != PageTableEditor.OK)
            {
                throw new IllegalStateException("the child's entry for 0x" + Long.toHexString(va) + " filled during fork");
            }
            return framesOf(level);
        }
        long e;
        editor.lockTable(table);
        try
        {
            e = (long)ENTRY.getAcquire(frames, slot);
            if (!PageTableEntry.isLargeLeaf(e, level))
            {
                return 0;
            }
            final long head = PageTableEntry.leafAddress(e, level) >>> 12;
            for (long pfn = head, end = head + framesOf(level); pfn < end; pfn++)
            {
                memory.mapData(pfn);
                memory.clearAnonExclusive(pfn);
            }
            while (cow && PageTableEntry.isWritable(e))
            {
                // volatile CAS: an MMU may set A/D on the leaf without the lock
                final long witness = (long)ENTRY.compareAndExchange(frames, slot, e, e & ~WRITABLE);
                if (witness == e)
                {
                    e &= ~WRITABLE;
                    writeProtected[0] += framesOf(level);
                }
                else
                {
                    e = witness;
                }
            }
        }
        finally
        {
            editor.unlockTable(table);
        }
        // the child's table, after the parent's lock is released (one PT lock at a time)
        if (install(childSlot, e & ~ACCESSED) != PageTableEditor.OK)
        {
            throw new IllegalStateException("the child's entry for 0x" + Long.toHexString(va) + " filled during fork");
        }
        return framesOf(level);
    }
}
