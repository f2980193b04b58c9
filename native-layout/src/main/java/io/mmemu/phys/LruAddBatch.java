package io.mmemu.phys;

import java.lang.foreign.MemorySegment;

/**
 * One CPU's pages waiting to join the LRU lists, Linux's per-CPU lru_add folio_batch: a fault's new
 * page goes here without a lock, and the batch joins the lists under one taking of the LRU lock
 * when it is full, so that the lock is taken once per {@link #SIZE} faults rather than at every one.
 * <p>
 * A batched page carries {@link FrameFlags#IN_ADD_BATCH} and is on no list: reclaim cannot isolate
 * it until the drain, as on Linux (reclaim and madvise drain their own CPU's batch first,
 * lru_add_drain; {@link PhysicalMemory#drainAddBatches} drains every CPU's at a quiescent point).
 * Its free, by any thread, is left to the drain ({@link FrameFlags#FREED_IN_BATCH}). An anonymous
 * page's reverse-map words ({@link FrameMapping}) wait here too and are stored by the drain, 31
 * pages' at once: nothing finds an anonymous page by them before it is on a list.
 * <p>
 * Thread safety: none; it belongs to one CPU's {@link FrameCache}, like the cache's stock. Another
 * thread may drain it only while the owner is quiescent (after a join or a barrier).
 */
public final class LruAddBatch
{
    /** Linux's PAGEVEC_SIZE / folio_batch capacity. */
    static final int SIZE = 31;

    private final long[] pfns = new long[SIZE];
    /** Each page's {@link FrameMapping} words, stored by the drain; mapping 0: stored at allocation. */
    private final long[] mappings = new long[SIZE];
    private final long[] indexes = new long[SIZE];
    private int count;

    /** Pages waiting. */
    public int size()
    {
        return count;
    }

    /**
     * Page {@code pfn} joins with this batch's next drain, which first stores its {@code mapping}
     * and {@code index} ({@link FrameMapping}; a mapping of 0: they are stored already). Returns
     * whether the batch is full: the caller drains it then.
     */
    boolean add(final long pfn, final long mapping, final long index)
    {
        pfns[count] = pfn;
        mappings[count] = mapping;
        indexes[count] = index;
        return ++count == SIZE;
    }

    /**
     * Every page to the head of its inactive list under one taking of the LRU lock; the pages freed
     * meanwhile are freed now, into {@code cache}.
     */
    void drain(final PhysicalMemory memory, final FrameCache cache)
    {
        if (count == 0)
        {
            return;
        }
        final MemorySegment words = memory.mappings();
        for (int i = 0; i < count; i++)
        {
            // before the pages join a list, the only place the reverse map finds an anonymous page from
            if (mappings[i] != 0)
            {
                FrameMapping.set(words, pfns[i], mappings[i], indexes[i]);
            }
        }
        final int freed = memory.lru().addBatch(pfns, count);
        count = 0;
        for (int i = 0; i < freed; i++)
        {
            memory.freeLeftInBatch(cache, pfns[i]);
        }
    }
}
