package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.pgtable.PageWalker.ENTRY;

/**
 * move_page_tables (mremap): every non-empty source entry moves to the same offset from the
 * destination, frames keeping their contents and counts, entries their bits; destination tables
 * are installed as needed. Each entry is taken from its source table under that PT lock and stored
 * under the destination's (one PT lock at a time: the lock order). 2 MiB leaves move whole when
 * they can (move_huge_pmd). mremap froze the range's present leaves first ({@link FreezeRange}),
 * so entries move as they are, frozen, and the caller thaws the destination after the last: a
 * leaf split here splits into frozen PTEs, a PT page moved whole keeps its frozen entries.
 */
final class MoveRange extends RangeVisitor
{
    private final PageTableEditor editor;
    private final MemorySegment frames;
    private final HugePmd huge;
    /** Destination minus source, and the root and soft-dirty tracking (set by the editor before each walk). */
    long delta;
    long cr3;
    boolean softDirty;

    MoveRange(final PageTableEditor editor, final MemorySegment frames, final HugePmd huge)
    {
        super(MOVE, false, false);
        this.editor = editor;
        this.huge = huge;
        this.frames = frames;
    }

    /**
     * move_huge_pmd: a 2 MiB leaf the range covers, bound for a 2 MiB-aligned destination whose PMD
     * entry is empty, moves whole with its deposit; any other is split and its PTEs moved one by
     * one. A hugetlb leaf (2 MiB or 1 GiB) moves whole to its aligned destination.
     */
    int large(final long slot, final long entry, final long va, final int level, final long lo, final long hi)
    {
        if (huge.isHugetlbLeaf(slot, level))
        {
            // move_hugetlb_page_tables: whole, never split
            final long frames = editor.hugetlb().move(slot, va, level, lo, hi, cr3, delta);
            if (frames < 0)
            {
                return (int)frames;
            }
            done += frames;
            return NEXT;
        }
        if (level != PageTableEntry.LEVEL_PMD)
        {
            return PageTableEditor.LARGE_LEAF;
        }
        final long dest = va + delta;
        if (whole(va, lo, hi) && (dest & (HugePmd.SIZE - 1)) == 0)
        {
            final PageWalker walker = editor.walker();
            final int status = walker.walkAllocPmd(cr3, dest);
            if (status == PageWalker.WALK_NO_MEMORY)
            {
                return PageTableEditor.NO_MEMORY;
            }
            if (status == PageWalker.WALK_ENTRY && walker.entry() == 0L && huge.move(slot, walker.slot(), softDirty))
            {
                done += PhysicalMemory.HUGE_FRAMES;
                return NEXT;
            }
        }
        huge.split(slot);
        return DESCEND;
    }

    int ptes(final long table, final long slot, final long va, final int count)
    {
        final PageWalker walker = editor.walker();
        if (count == PageTableEntry.ENTRIES && ((va + delta) & (HugePmd.SIZE - 1)) == 0)
        {
            final int whole = movePtPage(table, va);
            if (whole != PageTableEditor.LARGE_LEAF)
            {
                return whole;
            }
        }
        // move_page_tables gives the destination a PT page wherever the source has one (pte_alloc, or
        // move_normal_pmd taking the whole page), empty entries or not: a THP fault there later
        // finds a PT page and maps 4 KiB pages, as on Linux. The run's destination meets one or two
        // PT pages, allocated in address order as Linux's extents are: the first one before any
        // entry moves, the last one (if another) once the entries before it have
        if (walker.walkAlloc(cr3, va + delta) == PageWalker.WALK_NO_MEMORY)
        {
            return PageTableEditor.NO_MEMORY;
        }
        final int moved = movePtes(table, slot, va, count);
        if (moved != PageTableEditor.OK)
        {
            return moved;
        }
        return walker.walkAlloc(cr3, va + ((long)(count - 1) << 12) + delta) == PageWalker.WALK_NO_MEMORY
            ? PageTableEditor.NO_MEMORY : PageTableEditor.OK;
    }

    /**
     * move_normal_pmd: a whole PT page bound for a 2 MiB-aligned destination whose PMD entry is
     * empty moves itself, its entries untouched (no soft-dirty marking, as Linux's), and the
     * source's PMD entry is left empty — a later THP fault there finds none, as on Linux (this
     * matters when the source stays: MREMAP_DONTUNMAP). One PMD lock at a time: the pointer is
     * taken from the source's PMD table, then put in the destination's; the PT page keeps its own
     * lock and contents, so an MMU setting A/D in it meanwhile sets them on the moved entries.
     * Returns {@link PageTableEditor#LARGE_LEAF} when the page cannot move whole (the caller moves
     * its entries one by one), else a status.
     */
    private int movePtPage(final long table, final long va)
    {
        final PageWalker walker = editor.walker();
        final int destStatus = walker.walkAllocPmd(cr3, va + delta);
        if (destStatus == PageWalker.WALK_NO_MEMORY)
        {
            return PageTableEditor.NO_MEMORY;
        }
        if (destStatus != PageWalker.WALK_ENTRY || walker.entry() != 0L)
        {
            return PageTableEditor.LARGE_LEAF;
        }
        final long destSlot = walker.slot();
        if (walker.walkAllocPmd(cr3, va) != PageWalker.WALK_ENTRY || PageTableEntry.pfn(walker.entry()) != table)
        {
            return PageTableEditor.LARGE_LEAF;
        }
        final long srcSlot = walker.slot();
        final long pointer = walker.entry();
        final long srcTable = srcSlot >>> 12;
        editor.lockTable(srcTable);
        try
        {
            // CAS: upper entries change only by CAS (a collapse would have replaced it, which the
            // mremap's ownership of the range rules out, but the rule is kept)
            if (!(boolean)ENTRY.compareAndSet(frames, srcSlot, pointer, 0L))
            {
                return PageTableEditor.LARGE_LEAF;
            }
        }
        finally
        {
            editor.unlockTable(srcTable);
        }
        if (!putPointer(destSlot, pointer))
        {
            // the destination was filled meanwhile, which an owner of both ranges rules out: put it back
            if (!putPointer(srcSlot, pointer))
            {
                throw new IllegalStateException("PT page 0x" + Long.toHexString(pointer) + " lost between two PMD slots");
            }
            return PageTableEditor.LARGE_LEAF;
        }
        final long base = table << 12;
        for (int i = 0; i < PageTableEntry.ENTRIES; i++)
        {
            if ((long)ENTRY.getOpaque(frames, base + ((long)i << 3)) != 0L)
            {
                done++;
            }
        }
        return PageTableEditor.OK;
    }

    /** Stores the PT page pointer {@code pointer} in the empty PMD entry {@code slot}, under its table's lock; false if not empty. */
    private boolean putPointer(final long slot, final long pointer)
    {
        final long table = slot >>> 12;
        editor.lockTable(table);
        try
        {
            // volatile CAS: a fault's walker installs PT pages into empty PMD entries by CAS without the lock
            return (boolean)ENTRY.compareAndSet(frames, slot, 0L, pointer);
        }
        finally
        {
            editor.unlockTable(table);
        }
    }

    private int movePtes(final long table, final long slot, final long va, final int count)
    {
        final PageWalker walker = editor.walker();
        for (int i = 0; i < count; i++)
        {
            final long srcSlot = slot + ((long)i << 3);
            if ((long)ENTRY.getOpaque(frames, srcSlot) == 0L)
            {
                continue;
            }
            final int destStatus = walker.walkAlloc(cr3, va + ((long)i << 12) + delta);
            if (destStatus != PageWalker.WALK_PTE)
            {
                return destStatus == PageWalker.WALK_NO_MEMORY ? PageTableEditor.NO_MEMORY
                    : destStatus == PageWalker.WALK_LARGE ? PageTableEditor.LARGE_LEAF : PageTableEditor.BAD_ENTRY;
            }
            final long destTable = walker.tablePfn();
            final long destSlot = walker.slot();
            editor.lockTable(table);
            final long e;
            try
            {
                // exchange: A/D set concurrently by a stale TLB's walk must travel with the entry
                e = (long)ENTRY.getAndSet(frames, srcSlot, 0L);
            }
            finally
            {
                editor.unlockTable(table);
            }
            editor.lockTable(destTable);
            try
            {
                // move_soft_dirty_pte: a moved page is dirty for soft-dirty tracking, when there is any
                // (pte_swp_mksoft_dirty for a swap entry, which moves with its slot's count unchanged)
                ENTRY.setRelease(frames, destSlot, e | (!softDirty ? 0 :
                    PageTableEntry.isMapped(e) ? PageTableEntry.SOFT_DIRTY : SwapEntry.SOFT_DIRTY));
            }
            finally
            {
                editor.unlockTable(destTable);
            }
            done++;
        }
        return PageTableEditor.OK;
    }
}
