package io.mmemu.phys;

import java.lang.foreign.MemorySegment;

import static io.mmemu.phys.FrameDescriptor.FLAGS;
import static io.mmemu.phys.FrameDescriptor.FREE_NEXT;
import static io.mmemu.phys.FrameDescriptor.FREE_PREV;
import static io.mmemu.phys.FrameDescriptor.ORDER;
import static io.mmemu.phys.FrameDescriptor.offset;

/**
 * The binary buddy allocator over the backed frames {@code [1, limit)}: free lists of blocks of
 * 2^order frames for orders 0..{@link #MAX_ORDER}, split on allocation and coalesced on free, with
 * the lists threaded through the frames' descriptors like Linux's {@code free_area}.
 * <p>
 * Frames above the {@link #untouched} watermark have never been handed out: they are free, read as
 * zero and have untouched (all-zero, so not FREE) descriptors. Blocks are carved from there only
 * when the lists run dry, which keeps start-up O(1) and RSS at zero however large memory is.
 * <p>
 * Thread safety: every method is {@code synchronized} (Linux's zone lock). The fault path does not
 * come here per page; it goes through a {@link FrameCache} that moves frames in batches.
 * Invariants, all under the monitor: a free block's head has FREE and its order; its other frames
 * have no state flags; ZEROED on a head speaks for the whole block; {@code freeFrames} equals
 * the frames on the lists plus {@code limit - untouched}.
 */
public final class BuddyAllocator
{
    public static final int MAX_ORDER = 10;
    public static final long NO_FRAME = 0L;

    private final MemorySegment metadata;
    private final long limit;
    private final long[] heads = new long[MAX_ORDER + 1];
    private final long[] blocks = new long[MAX_ORDER + 1];
    private long untouched;
    private long freeFrames;

    BuddyAllocator(final MemorySegment metadata, final long firstPfn, final long limit)
    {
        this.metadata = metadata;
        this.limit = limit;
        this.untouched = firstPfn;
        this.freeFrames = limit - firstPfn;
    }

    /**
     * Allocates a block of 2^order frames.
     *
     * @return the head PFN, whose descriptor keeps only the ZEROED bit (the caller sets the state),
     * or {@link #NO_FRAME} when no block that large is free.
     */
    public synchronized long allocate(final int order)
    {
        checkOrder(order);
        return take(order);
    }

    /**
     * alloc_contig_range for a gigantic page: takes the lowest 2^{@code order}-aligned run of
     * 2^{@code order} frames ({@code order} above {@link #MAX_ORDER}) that is free whole, as
     * blocks of {@link #MAX_ORDER}, and hands it out. The head keeps ZEROED when every block of
     * the run had it; the other frames carry no state.
     *
     * @return the head PFN, or {@link #NO_FRAME} when no such run is free.
     */
    public synchronized long allocateGigantic(final int order)
    {
        if (order <= MAX_ORDER || order > 30)
        {
            throw new IllegalArgumentException("gigantic order " + order + " outside " + (MAX_ORDER + 1) + "..30");
        }
        final long n = 1L << order;
        final long block = 1L << MAX_ORDER;
        // PFN 0 is reserved: the first candidate run starts at n
        for (long start = n; start + n <= limit; start += n)
        {
            if (!runFree(start, n))
            {
                continue;
            }
            // the never-used frames up to the run's end go onto the lists first; blocks never cross
            // a 2^MAX_ORDER boundary (each is aligned to its size), so the carving stops at the run's end
            while (untouched < start + n)
            {
                final int o = Math.min(MAX_ORDER, Long.numberOfTrailingZeros(untouched));
                push(untouched, o, FrameFlags.ZEROED);
                untouched += 1L << o;
            }
            int zeroed = FrameFlags.ZEROED;
            for (long b = start; b < start + n; b += block)
            {
                zeroed &= flags(b);
                unlink(b, MAX_ORDER);
                FLAGS.set(metadata, offset(b), 0);
            }
            freeFrames -= n;
            FLAGS.set(metadata, offset(start), zeroed);
            return start;
        }
        return NO_FRAME;
    }

    /** Whether every MAX_ORDER block of {@code [start, start + n)} is free whole (listed, or never used). */
    private boolean runFree(final long start, final long n)
    {
        for (long b = start; b < start + n; b += 1L << MAX_ORDER)
        {
            if (b >= untouched)
            {
                return true;
            }
            if ((flags(b) & FrameFlags.FREE) == 0 || (int)ORDER.get(metadata, offset(b)) != MAX_ORDER)
            {
                return false;
            }
        }
        return true;
    }

    /**
     * Fills {@code out[0..count)} with order-0 frames, as many as are free.
     *
     * @return how many were allocated.
     */
    public synchronized int allocateBatch(final long[] out, final int count)
    {
        int n = 0;
        while (n < count)
        {
            final long pfn = take(0);
            if (pfn == NO_FRAME)
            {
                break;
            }
            out[n++] = pfn;
        }
        return n;
    }

    /**
     * Takes one free block of 2^{@code order} frames and hands its frames out as order-0 frames,
     * written to {@code out[from..from + 2^order)} highest first (a stack popped from the end yields
     * them in ascending order), each keeping the block's ZEROED.
     *
     * @return 2^order, or 0 when no block that large is free (nothing is split then).
     */
    public synchronized int allocateRun(final long[] out, final int from, final int order)
    {
        checkOrder(order);
        final long head = take(order);
        if (head == NO_FRAME)
        {
            return 0;
        }
        // the head keeps only ZEROED (take); the others have no state flags (a free block's invariant)
        final int zeroed = flags(head) & FrameFlags.ZEROED;
        final int n = 1 << order;
        for (int i = 0; i < n; i++)
        {
            final long pfn = head + n - 1 - i;
            FLAGS.set(metadata, offset(pfn), zeroed);
            out[from + i] = pfn;
        }
        return n;
    }

    /**
     * Frees a block allocated with {@code order}; the descriptor's ZEROED bit says whether it is zero.
     *
     * @throws IllegalArgumentException for an order outside 0..{@link #MAX_ORDER} or a block never handed out.
     * @throws IllegalStateException when {@code pfn} heads a block that is free already (a double free;
     *                               one of a frame inside a larger free block is not detected).
     */
    public synchronized void free(final long pfn, final int order)
    {
        release(pfn, order);
    }

    /** Frees {@code pfns[from..from+count)}, each an order-0 frame. */
    public synchronized void freeBatch(final long[] pfns, final int from, final int count)
    {
        for (int i = from; i < from + count; i++)
        {
            release(pfns[i], 0);
        }
    }

    public synchronized long freeFrames()
    {
        return freeFrames;
    }

    /** Free blocks listed at {@code order} (excluding the never-touched tail). */
    public synchronized long freeBlocks(final int order)
    {
        return blocks[order];
    }

    /** First never-used PFN: everything from here to the limit is free and untouched. */
    public synchronized long untouched()
    {
        return untouched;
    }

    public long limit()
    {
        return limit;
    }

    private static void checkOrder(final int order)
    {
        if (order < 0 || order > MAX_ORDER)
        {
            throw new IllegalArgumentException("order " + order + " outside 0.." + MAX_ORDER);
        }
    }

    private long take(final int order)
    {
        int found = order;
        while (found <= MAX_ORDER && heads[found] == NO_FRAME)
        {
            found++;
        }
        if (found > MAX_ORDER)
        {
            found = carve(order);
            if (found < 0)
            {
                return NO_FRAME;
            }
        }
        final long pfn = heads[found];
        final int zeroed = flags(pfn) & FrameFlags.ZEROED;
        unlink(pfn, found);
        while (found > order)
        {
            found--;
            push(pfn + (1L << found), found, zeroed);
        }
        FLAGS.set(metadata, offset(pfn), zeroed);
        freeFrames -= 1L << order;
        return pfn;
    }

    /** Moves never-used frames onto the lists until a block of at least {@code order} is there. */
    private int carve(final int order)
    {
        while (untouched < limit)
        {
            int o = Math.min(MAX_ORDER, Long.numberOfTrailingZeros(untouched));
            while (untouched + (1L << o) > limit)
            {
                o--;
            }
            push(untouched, o, FrameFlags.ZEROED);
            untouched += 1L << o;
            if (o >= order)
            {
                return o;
            }
        }
        return -1;
    }

    private void release(final long pfn, final int order)
    {
        if (order < 0 || order > MAX_ORDER)
        {
            throw new IllegalArgumentException("free of PFN " + pfn + " with order " + order + " outside 0.." + MAX_ORDER);
        }
        if (pfn <= 0 || pfn + (1L << order) > untouched)
        {
            throw new IllegalArgumentException("free of PFN " + pfn + " that the buddy allocator never handed out");
        }
        if ((flags(pfn) & FrameFlags.FREE) != 0)
        {
            // pushing a listed head again would make its free list a cycle and hand the block out twice
            throw new IllegalStateException("double free of PFN " + pfn);
        }
        int zeroed = flags(pfn) & FrameFlags.ZEROED;
        long head = pfn;
        int o = order;
        while (o < MAX_ORDER)
        {
            final long buddy = head ^ (1L << o);
            if (buddy <= 0 || buddy + (1L << o) > untouched)
            {
                break;
            }
            final int buddyFlags = flags(buddy);
            if ((buddyFlags & FrameFlags.FREE) == 0 || (int)ORDER.get(metadata, offset(buddy)) != o)
            {
                break;
            }
            unlink(buddy, o);
            FLAGS.set(metadata, offset(buddy), 0);
            zeroed &= buddyFlags;
            head = Math.min(head, buddy);
            o++;
        }
        if (head != pfn)
        {
            FLAGS.set(metadata, offset(pfn), 0);
        }
        push(head, o, zeroed & FrameFlags.ZEROED);
        freeFrames += 1L << order;
    }

    private void push(final long pfn, final int order, final int zeroed)
    {
        final long off = offset(pfn);
        FLAGS.set(metadata, off, FrameFlags.FREE | zeroed);
        ORDER.set(metadata, off, order);
        final long next = heads[order];
        FREE_NEXT.set(metadata, off, next);
        FREE_PREV.set(metadata, off, NO_FRAME);
        if (next != NO_FRAME)
        {
            FREE_PREV.set(metadata, offset(next), pfn);
        }
        heads[order] = pfn;
        blocks[order]++;
    }

    private void unlink(final long pfn, final int order)
    {
        final long off = offset(pfn);
        final long next = (long)FREE_NEXT.get(metadata, off);
        final long prev = (long)FREE_PREV.get(metadata, off);
        if (prev == NO_FRAME)
        {
            heads[order] = next;
        }
        else
        {
            FREE_NEXT.set(metadata, offset(prev), next);
        }
        if (next != NO_FRAME)
        {
            FREE_PREV.set(metadata, offset(next), prev);
        }
        blocks[order]--;
    }

    private int flags(final long pfn)
    {
        return (int)FLAGS.get(metadata, offset(pfn));
    }
}
