package io.mmemu.inspect;

import io.mmemu.pgtable.PageTableEntry;

import static io.mmemu.pgtable.PageTableEntry.ENTRIES;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PGD;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PTE;

/**
 * A depth-first walk of the page tables over a virtual range, in address order, the way Linux's
 * mm/pagewalk.c visits them: an empty entry above the PTE level is one hole (nothing below it is
 * visited), a non-empty one is reported and, when it points at a table, descended into; every PTE
 * slot of a visited PT page is reported, empty or not. The views (ptdump, smaps, pagemap, the
 * dump writer) are visitors of this one walk.
 * <p>
 * The walk trusts the tables: a table pointer to a frame the image has no bytes for means
 * corrupted tables, and throws (dumps are validated when loaded, so only a broken live machine
 * gets there).
 */
public final class TableWalk
{
    /** Receives the entries of a walk. Levels are mmemu's: 1 = PT (PTE) … 4 = PML4 (PGD). */
    public interface Visitor
    {
        /**
         * A non-empty entry above the PTE level, before its subtree: a table pointer, a large
         * leaf, or a non-present entry. {@code va} is where the range meets the entry's span.
         */
        default void entry(final long va, final long entry, final int level)
        {
        }

        /** An empty entry above the PTE level: nothing is mapped in its span from {@code va}. */
        default void hole(final long va, final int level)
        {
        }

        /** A PTE slot (possibly empty) mapping the page at {@code va}. */
        default void pte(final long va, final long entry)
        {
        }
    }

    private TableWalk()
    {
    }

    /** Walks {@code [lo, hi)} (page aligned, user half: below 2^47) of the tables rooted at {@code cr3}. */
    public static void walk(final MemoryImage memory, final long cr3, final long lo, final long hi, final Visitor visitor)
    {
        if (lo < hi)
        {
            table(memory, cr3 & PageTableEntry.PHYS_MASK, LEVEL_PGD, 0L, lo, hi, visitor);
        }
    }

    private static void table(final MemoryImage memory, final long table, final int level, final long base,
        final long lo, final long hi, final Visitor visitor)
    {
        if (!memory.hasBytes(table >>> 12))
        {
            throw new IllegalStateException(String.format(
                "corrupted tables: a level %d table at physical 0x%x (for 0x%x) is not in memory", level, table, base));
        }
        final long span = PageTableEntry.coverage(level);
        final int first = (int)((Math.max(lo, base) - base) / span);
        final int last = (int)Math.min(ENTRIES - 1, (hi - 1 - base) / span);
        for (int i = first; i <= last; i++)
        {
            final long va = base + i * span;
            final long e = memory.word(table + ((long)i << 3));
            if (level == LEVEL_PTE)
            {
                visitor.pte(va, e);
            }
            else if (e == 0)
            {
                visitor.hole(Math.max(va, lo), level);
            }
            else
            {
                visitor.entry(Math.max(va, lo), e, level);
                if (PageTableEntry.isPresent(e) && !PageTableEntry.isLeaf(e, level))
                {
                    table(memory, PageTableEntry.address(e), level - 1, va, lo, hi, visitor);
                }
            }
        }
    }
}
