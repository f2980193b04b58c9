package io.mmemu.phys;

/**
 * One CPU's pages waiting to join the LRU lists, Linux's per-CPU lru_add folio_batch: a fault's new
 * page goes here without a lock, and the batch joins the lists under one taking of the LRU lock
 * when it is full, so that the lock is taken once per {@link #SIZE} faults rather than at every one.
 * <p>
 * A batched page carries {@link FrameFlags#IN_ADD_BATCH} and is on no list: reclaim cannot isolate
 * it until the drain, as on Linux (reclaim and madvise drain their own CPU's batch first,
 * lru_add_drain; {@link PhysicalMemory#drainAddBatches} drains every CPU's at a quiescent point).
 * Its free, by any thread, is left to the drain ({@link FrameFlags#FREED_IN_BATCH}).
 * <p>
 * Thread safety: none; it belongs to one CPU's {@link FrameCache}, like the cache's stock. Another
 * thread may drain it only while the owner is quiescent (after a join or a barrier).
 */
public final class LruAddBatch
{
    /** Linux's PAGEVEC_SIZE / folio_batch capacity. */
    static final int SIZE = 31;

    private final long[] pfns = new long[SIZE];
    private int count;

    /** Pages waiting. */
    public int size()
    {
        return count;
    }

    /** Whether {@code pfn} joins with this batch's next drain; the caller drains when it returns true (full). */
    boolean add(final long pfn)
    {
        pfns[count++] = pfn;
        return count == SIZE;
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
        final int freed = memory.lru().addBatch(pfns, count);
        count = 0;
        for (int i = 0; i < freed; i++)
        {
            memory.freeLeftInBatch(cache, pfns[i]);
        }
    }
}
