package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import static io.mmemu.pgtable.PageWalker.ENTRY;

/**
 * free_pgd_range: after the walker has been through a table's subtree, the table is unlinked and
 * gathered if it is empty and maps only addresses inside {@code [floor, ceiling)} (ceiling 0: no
 * upper bound). PTEs are not visited (an empty PT page is found by reading it whole); large leaves
 * are kept, like any other entry. The caller guarantees that no thread installs entries in
 * {@code [floor, ceiling)} meanwhile.
 */
final class FreeTablesRange extends RangeVisitor
{
    private final MemorySegment frames;
    /** The bounds of the operation (set by the editor before each walk). */
    long floor;
    long ceiling;

    FreeTablesRange(final MemorySegment frames)
    {
        super(FREE_TABLES, false, false);
        this.frames = frames;
    }

    int large(final long slot, final long entry, final long va, final int level, final long lo, final long hi)
    {
        return NEXT;
    }

    /** The subtree of the table {@code child} (spanning {@code [base, base + span)}) has been visited. */
    void after(final long slot, final long child, final long base, final long span)
    {
        final long end = base + span;
        final boolean inside = base >= floor && (ceiling == 0 || end <= ceiling);
        if (inside && isEmpty(child))
        {
            ENTRY.setRelease(frames, slot, 0L);
            tlb.addTable(child >>> 12);
            tlb.addRange(base, end);
            if (tlb.isFull())
            {
                tlb.flush();
            }
        }
    }

    private boolean isEmpty(final long table)
    {
        for (long s = table; s < table + 4096; s += 8)
        {
            if ((long)ENTRY.getOpaque(frames, s) != 0L)
            {
                return false;
            }
        }
        return true;
    }
}
