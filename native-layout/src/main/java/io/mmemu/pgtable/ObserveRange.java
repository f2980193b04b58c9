package io.mmemu.pgtable;

/**
 * The read-only walk of the views: every entry read through a {@link TableReader} (a dump or a
 * frozen copy as well as live memory) and handed to a {@link TableObserver}. Large leaves and
 * non-present upper entries are reported and not descended into; a table pointer to a frame the
 * reader has no bytes for means corrupted tables, and throws (dumps are validated when loaded, so
 * only a broken live machine gets there). Takes no lock: views run at quiescent points or on copies.
 */
final class ObserveRange extends RangeVisitor
{
    final TableReader reader;
    final TableObserver observer;

    ObserveRange(final TableReader reader, final TableObserver observer)
    {
        super(OBSERVE, false, false);
        this.reader = reader;
        this.observer = observer;
    }

    void ptes(final long slot, final long va, final int count)
    {
        for (int i = 0; i < count; i++)
        {
            observer.pte(va + ((long)i << 12), reader.word(slot + ((long)i << 3)));
        }
    }

    void missingTable(final long table, final int level, final long base)
    {
        throw new IllegalStateException(String.format(
            "corrupted tables: a level %d table at physical 0x%x (for 0x%x) is not in memory", level, table, base));
    }
}
