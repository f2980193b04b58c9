package io.mmemu.pgtable;

import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;

/**
 * Linux's {@code mmu_gather}: frames unmapped by a zap, and tables unlinked by a table free, are
 * collected here and released only after {@link TlbFlush#flush} has run for the range they were
 * reachable from. That ordering makes a use-after-free through a stale translation impossible.
 * <p>
 * One per thread (it uses that thread's {@link FrameCache}); {@link #begin} binds it to an
 * address space's flush for one operation and {@link #finish} ends it. Fixed capacity, flushed
 * when full: no allocation.
 */
public final class MmuGather
{
    /** Flush after this many pages; one PT page's worth more fits, so a zap can finish its table. */
    public static final int BATCH = 512;
    private static final long CLEAN = PhysicalMemory.CLEAN;
    /** Marks a gathered page as a whole huge page (its head PFN): its 512 subpages are released together. */
    private static final long HUGE = 1L << 62;

    private final PhysicalMemory memory;
    private final FrameCache cache;
    private final long[] pages = new long[BATCH + PageTableEntry.ENTRIES];
    private final long[] tables = new long[BATCH + PageTableEntry.ENTRIES];
    private int pageCount;
    private int tableCount;
    private long start = Long.MAX_VALUE;
    private long end = Long.MIN_VALUE;
    private TlbFlush flush = TlbFlush.NONE;
    private long flushes;

    public MmuGather(final PhysicalMemory memory, final FrameCache cache)
    {
        this.memory = memory;
        this.cache = cache;
    }

    public void begin(final TlbFlush flush)
    {
        this.flush = flush;
    }

    /** A data page whose mapping was cleared; {@code clean}: its bytes were never written through it. */
    public void addPage(final long pfn, final boolean clean)
    {
        pages[pageCount++] = clean ? pfn | CLEAN : pfn;
    }

    /** A huge page whose PMD leaf was cleared whole ({@code head}: its first PFN); {@code clean} as for {@link #addPage}. */
    public void addHugePage(final long head, final boolean clean)
    {
        pages[pageCount++] = (clean ? head | CLEAN : head) | HUGE;
    }

    /** A table page unlinked from its parent; it is empty. */
    public void addTable(final long pfn)
    {
        tables[tableCount++] = pfn;
    }

    /** Widens the range whose translations must be flushed. */
    public void addRange(final long from, final long to)
    {
        start = Math.min(start, from);
        end = Math.max(end, to);
    }

    public boolean isFull()
    {
        return pageCount >= BATCH || tableCount >= BATCH;
    }

    /** Flushes the gathered range and releases what was gathered. */
    public void flush()
    {
        if (start < end)
        {
            flush.flush(start, end);
            flushes++;
        }
        // huge pages one by one; the 4 KiB pages as one batch (release_pages: the LRU lock once)
        int small = 0;
        for (int i = 0; i < pageCount; i++)
        {
            final long p = pages[i];
            if ((p & HUGE) != 0)
            {
                memory.releaseHugeData(cache, p & ~(CLEAN | HUGE), p < 0);
            }
            else
            {
                pages[small++] = p;
            }
        }
        memory.releaseDataBatch(cache, pages, small);
        for (int i = 0; i < tableCount; i++)
        {
            memory.freeTable(cache, tables[i]);
        }
        pageCount = 0;
        tableCount = 0;
        start = Long.MAX_VALUE;
        end = Long.MIN_VALUE;
    }

    /** Flushes what is left and unbinds the address space. */
    public void finish()
    {
        flush();
        flush = TlbFlush.NONE;
    }

    /** Flushes requested so far (a statistic). */
    public long flushes()
    {
        return flushes;
    }
}
