package io.mmemu.pgtable;

/**
 * Receives the entries of a read-only walk ({@link RangeWalker#observe}), in address order, the way
 * Linux's mm/pagewalk.c visits them: an empty entry above the PTE level is one hole (nothing below
 * it is visited), a non-empty one is reported and, when it points at a table, descended into; every
 * PTE slot of a visited PT page is reported, empty or not. Levels are 1 = PT (PTE) … 4 = PML4 (PGD).
 */
public interface TableObserver
{
    /**
     * A non-empty entry above the PTE level, before its subtree: a table pointer, a large leaf, or a
     * non-present entry. {@code va} is where the range meets the entry's span.
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
