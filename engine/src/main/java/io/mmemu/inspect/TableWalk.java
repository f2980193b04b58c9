package io.mmemu.inspect;

import io.mmemu.pgtable.RangeWalker;
import io.mmemu.pgtable.TableObserver;

/**
 * The views' walk of a virtual range: pgtable's one range walker ({@link RangeWalker#observe}) over
 * a {@link MemoryImage}, live or from a dump, visiting the tables as Linux's mm/pagewalk.c does
 * (holes per upper entry, every PTE of a PT page). The views (ptdump, smaps, pagemap, the dump
 * writer, the picture) are its visitors.
 * <p>
 * The walk trusts the tables: a table pointer to a frame the image has no bytes for means
 * corrupted tables, and throws (dumps are validated when loaded, so only a broken live machine
 * gets there).
 */
public final class TableWalk
{
    /** Receives the entries of a walk (see {@link TableObserver}). */
    public interface Visitor extends TableObserver
    {
    }

    private TableWalk()
    {
    }

    /** Walks {@code [lo, hi)} (page aligned, user half: below 2^47) of the tables rooted at {@code cr3}. */
    public static void walk(final MemoryImage memory, final long cr3, final long lo, final long hi, final Visitor visitor)
    {
        RangeWalker.observe(memory, cr3, lo, hi, visitor);
    }
}
