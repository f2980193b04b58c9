package io.mmemu.inspect;

import org.agrona.collections.Long2ObjectHashMap;

import static io.mmemu.pgtable.PageTableEntry.ENTRIES;
import static io.mmemu.phys.PhysicalMemory.PAGE_SHIFT;
import static io.mmemu.phys.PhysicalMemory.PAGE_SIZE;

/**
 * A live {@link MemoryImage} whose page-table pages are copied at their first read, for views that
 * walk the tables more than once while other threads still fault (the dump writer collects the
 * frames, then writes them; the HTML page draws two pictures). Each table is then one version
 * throughout the view: a table a fault allocated after the collection is not pointed at by a
 * table written later, and every frame the written tables map was collected. A page is copied
 * entry by entry with the walkers' acquire loads, so no entry is torn.
 * <p>
 * Table entries are the only words the views read ({@link #word}); a {@link #read} of a copied
 * page returns the copy, any other frame (data, for a dump with data) is read live. Descriptors
 * are read live: the caller holds the mmap lock for writing, so no table is freed or changes
 * level meanwhile. The copies cost 4 KiB of heap per table read; one view, one thread.
 */
public final class FrozenTables implements MemoryImage
{
    private final MemoryImage live;
    private final Long2ObjectHashMap<long[]> copies = new Long2ObjectHashMap<>();

    public FrozenTables(final MemoryImage live)
    {
        this.live = live;
    }

    @Override
    public long totalFrames()
    {
        return live.totalFrames();
    }

    @Override
    public long backedFrames()
    {
        return live.backedFrames();
    }

    @Override
    public long zeroPagePfn()
    {
        return live.zeroPagePfn();
    }

    @Override
    public boolean hasBytes(final long pfn)
    {
        return live.hasBytes(pfn);
    }

    @Override
    public long word(final long pa)
    {
        final long pfn = pa >>> PAGE_SHIFT;
        long[] copy = copies.get(pfn);
        if (copy == null)
        {
            copy = new long[ENTRIES];
            final long base = pfn << PAGE_SHIFT;
            for (int i = 0; i < ENTRIES; i++)
            {
                copy[i] = live.word(base + ((long)i << 3));
            }
            copies.put(pfn, copy);
        }
        return copy[(int)((pa & (PAGE_SIZE - 1)) >>> 3)];
    }

    @Override
    public void read(final long pa, final byte[] dst, final int offset, final int length)
    {
        long at = pa;
        int to = offset;
        int left = length;
        while (left > 0)
        {
            final int inPage = (int)Math.min(left, PAGE_SIZE - (at & (PAGE_SIZE - 1)));
            final long[] copy = copies.get(at >>> PAGE_SHIFT);
            if (copy == null)
            {
                live.read(at, dst, to, inPage);
            }
            else
            {
                for (int i = 0; i < inPage; i++)
                {
                    final long byteAt = (at & (PAGE_SIZE - 1)) + i;
                    // little-endian, as the entries lie in memory
                    dst[to + i] = (byte)(copy[(int)(byteAt >>> 3)] >>> ((byteAt & 7) << 3));
                }
            }
            at += inPage;
            to += inPage;
            left -= inPage;
        }
    }

    @Override
    public int flags(final long pfn)
    {
        return live.flags(pfn);
    }

    @Override
    public int refcount(final long pfn)
    {
        return live.refcount(pfn);
    }

    @Override
    public int swapCount(final int type, final long slot)
    {
        return live.swapCount(type, slot);
    }

    @Override
    public int mapcount(final long pfn)
    {
        return live.mapcount(pfn);
    }

    @Override
    public int tableLevel(final long pfn)
    {
        return live.tableLevel(pfn);
    }
}
