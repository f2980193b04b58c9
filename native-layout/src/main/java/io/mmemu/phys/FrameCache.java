package io.mmemu.phys;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * One thread's stock of free order-0 frames, Linux's per-CPU page lists: the fault path allocates
 * and frees here without touching shared state. The first level holds up to {@link #HIGH} frames
 * and moves them in batches of {@link #BATCH}: spills go to the thread's {@link FrameReserve}
 * while it has room, else to the buddy allocator (or the phantom bitmap); refills come from the
 * reserve first, and an empty reserve takes a whole 2 MiB block of real frames from the buddy when
 * it has room for one ({@link #RUN_ORDER}), a batch of single frames otherwise. A thread that frees
 * a large range and faults it back (page_fault1) thus cycles its frames through its own reserve and
 * never takes the buddy lock that two such threads would otherwise fight over.
 * <p>
 * Thread safety: the first level has none; a cache belongs to one thread (one emulated CPU).
 * Its reserves are drained by whichever thread finds the shared allocators empty
 * ({@link PhysicalMemory#drainReserves}). Another thread may read the statistics and
 * {@link #heldFrames()} only when the owner is quiescent (after a join or a barrier, which gives
 * the happens-before).
 */
public final class FrameCache
{
    static final int BATCH = 63;
    static final int HIGH = 3 * BATCH;
    /**
     * Order of the blocks a refill takes whole from the buddy allocator when the reserve has room:
     * 2 MiB, one page table's reach. Batches of 63 from a shared allocator interleave two CPUs'
     * frames every 252 KiB; whole blocks keep each CPU's frames in aligned 2 MiB runs of its own
     * (what that is worth: bench/README.md, "Frame runs").
     */
    static final int RUN_ORDER = 9;

    private final PhysicalMemory memory;
    private final long[] real = new long[HIGH + BATCH + 1];
    private int realCount;
    private final long[] phantom = new long[HIGH + 64 + 1];
    private int phantomCount;
    private final FrameReserve realReserve;
    private final FrameReserve phantomReserve;
    /** {@link PhysicalMemory}'s one-entry batch for the free of a single data page (this CPU's thread only). */
    final long[] freeOne = new long[1];
    /** Pages this CPU allocated that have yet to join the LRU lists. */
    final LruAddBatch lruAdds = new LruAddBatch();
    /** The shared allocators both ways, made once so that refills, spills and drains allocate nothing. */
    private final Source fromBuddy = this::fromBuddy;
    private final Source fromPhantom = to -> memory().phantom().claim(to, 0);
    private final FrameReserve.Sink toBuddy = this::toBuddy;
    private final FrameReserve.Sink toPhantom = this::toPhantom;

    /** Where a refill takes frames from when the reserve has none: up to a batch into {@code to[0..]}. */
    @FunctionalInterface
    private interface Source
    {
        int take(long[] to);
    }

    long tablesAllocated;
    long tablesFreed;
    long dataAllocated;
    long dataFreed;

    FrameCache(final PhysicalMemory memory, final int realReserveFrames, final int phantomReserveFrames)
    {
        this.memory = memory;
        this.realReserve = new FrameReserve(realReserveFrames);
        this.phantomReserve = new FrameReserve(phantomReserveFrames);
    }

    public PhysicalMemory memory()
    {
        return memory;
    }

    /** A backed frame, or {@link BuddyAllocator#NO_FRAME} when memory is exhausted. */
    long allocateReal()
    {
        if (realCount == 0 && (realCount = refill(real, realReserve, fromBuddy)) == 0)
        {
            return NO_FRAME;
        }
        return real[--realCount];
    }

    void freeReal(final long pfn)
    {
        real[realCount++] = pfn;
        if (realCount > HIGH)
        {
            realCount = spill(real, realCount, realReserve, toBuddy);
        }
    }

    /**
     * {@link #freeReal} of {@code pfns[0..n)}, in that order, a run at a time (free_pcppages_bulk's
     * side of free_unref_folios): the stock spills exactly where one-by-one frees would spill it.
     */
    void freeReal(final long[] pfns, final int n)
    {
        for (int i = 0; i < n; )
        {
            // up to the frame whose free would make the stock overfull
            final int run = Math.min(HIGH + 1 - realCount, n - i);
            System.arraycopy(pfns, i, real, realCount, run);
            realCount += run;
            i += run;
            if (realCount > HIGH)
            {
                realCount = spill(real, realCount, realReserve, toBuddy);
            }
        }
    }

    /** A phantom frame, or {@link BuddyAllocator#NO_FRAME} when every one is in use. */
    long allocatePhantom()
    {
        if (phantomCount == 0 && (phantomCount = refill(phantom, phantomReserve, fromPhantom)) == 0)
        {
            return NO_FRAME;
        }
        return phantom[--phantomCount];
    }

    void freePhantom(final long pfn)
    {
        phantom[phantomCount++] = pfn;
        if (phantomCount > HIGH)
        {
            phantomCount = spill(phantom, phantomCount, phantomReserve, toPhantom);
        }
    }

    /**
     * Fills an empty stock: from the reserve, else from the shared allocator, which is retried
     * once after every CPU's reserve has been drained into it. Returns how many frames it holds now.
     */
    private int refill(final long[] stock, final FrameReserve reserve, final Source source)
    {
        int n = reserve.take(stock, BATCH);
        if (n == 0)
        {
            n = source.take(stock);
            if (n == 0 && memory.drainReserves() > 0)
            {
                n = source.take(stock);
            }
            if (source == fromBuddy)
            {
                // the shared allocator shrank: kswapd's wake-up check (every batch, never every frame)
                memory.checkWatermark();
            }
        }
        return n;
    }

    /**
     * A refill's real frames from the buddy allocator: a whole 2 MiB block into the reserve when it
     * has room (then a batch from there), else a batch of whatever order-0 frames there are.
     */
    private int fromBuddy(final long[] to)
    {
        final BuddyAllocator buddy = memory.buddy();
        if (realReserve.refillFrom(buddy, RUN_ORDER) > 0)
        {
            return realReserve.take(to, BATCH);
        }
        return buddy.allocateBatch(to, BATCH);
    }

    /** Moves the top batch of an overfull stock to the reserve, or when it is full to the shared allocator. */
    private static int spill(final long[] stock, final int count, final FrameReserve reserve, final FrameReserve.Sink sink)
    {
        final int left = count - BATCH;
        if (!reserve.put(stock, left, BATCH))
        {
            sink.free(stock, left, BATCH);
        }
        return left;
    }

    /** Gives every cached frame back to the shared allocators (a thread retiring its CPU). */
    public void drain()
    {
        // first the add batch: a page freed while in it comes back to this stock
        lruAdds.drain(memory, this);
        toBuddy(real, 0, realCount);
        realCount = 0;
        toPhantom(phantom, 0, phantomCount);
        phantomCount = 0;
        drainReserves();
    }

    /** Empties the reserves into the shared allocators (any thread); returns how many frames moved. */
    int drainReserves()
    {
        return realReserve.drainTo(toBuddy) + phantomReserve.drainTo(toPhantom);
    }

    /** Real frames to the buddy allocator, their written lines cleared first (it knows only ZEROED). */
    private void toBuddy(final long[] pfns, final int from, final int n)
    {
        memory.settleWrittenLines(pfns, from, n);
        memory.buddy().freeBatch(pfns, from, n);
    }

    private void toPhantom(final long[] pfns, final int from, final int n)
    {
        if (n > 0)
        {
            memory.phantom().freeBatch(pfns, from, n);
        }
    }

    /** Frames taken from the shared allocators and not in use: free, but not free there. */
    public long heldFrames()
    {
        return realCount + phantomCount + realReserve.count() + phantomReserve.count();
    }

    /** Frames in the reserves alone (any thread). */
    public long reservedFrames()
    {
        return realReserve.count() + phantomReserve.count();
    }

    public long tablesAllocated()
    {
        return tablesAllocated;
    }

    public long tablesFreed()
    {
        return tablesFreed;
    }

    public long dataAllocated()
    {
        return dataAllocated;
    }

    public long dataFreed()
    {
        return dataFreed;
    }
}
