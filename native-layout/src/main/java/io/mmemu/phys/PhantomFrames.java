package io.mmemu.phys;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Data frames of the tables-only backing: PFNs that are handed out, counted and freed like any
 * other, but have neither bytes nor a descriptor. A bitmap (one bit a frame, set = in use) is all
 * their state, so a fully populated 1 TiB mapping costs 32 MiB here instead of 8 GiB of
 * descriptors and 1 TiB of bytes.
 * <p>
 * Thread safety: lock-free. Claiming takes a whole 64-frame word by CAS (the free bits of one word
 * at a time, so a {@link FrameCache} refills with one atomic operation); freeing clears one bit
 * with an atomic AND. Both are full fences on x86 and volatile in the Java memory model, so a bit
 * seen clear by a claimer was cleared after its frame's last use.
 */
public final class PhantomFrames
{
    private static final VarHandle WORD = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment bitmap;
    private final long firstPfn;
    private final long frames;
    private final long words;
    private final AtomicLong cursor = new AtomicLong();
    private final AtomicLong inUse = new AtomicLong();

    PhantomFrames(final MemorySegment bitmap, final long firstPfn, final long frames)
    {
        this.bitmap = bitmap;
        this.firstPfn = firstPfn;
        this.frames = frames;
        this.words = (frames + 63) >>> 6;
        final long tail = frames & 63;
        if (tail != 0)
        {
            // bits past the last frame are permanently "in use" so no claim can return them
            WORD.setVolatile(bitmap, (words - 1) << 3, -1L << tail);
        }
    }

    public static long bitmapBytes(final long frames)
    {
        return Math.max(4096, (((frames + 63) >>> 6) * 8 + 4095) & ~4095L);
    }

    public long firstPfn()
    {
        return firstPfn;
    }

    public long frames()
    {
        return frames;
    }

    public boolean contains(final long pfn)
    {
        return pfn >= firstPfn && pfn < firstPfn + frames;
    }

    /** Frames claimed and not yet freed, including those sitting in caches. */
    public long claimed()
    {
        return inUse.get();
    }

    /**
     * Claims every free frame of the next bitmap word that has any, writing their PFNs into
     * {@code out} from {@code offset}; {@code out} must have room for 64.
     *
     * @return how many were claimed; 0 when every phantom frame is in use.
     */
    int claim(final long[] out, final int offset)
    {
        final long start = cursor.get();
        for (long i = 0; i < words; i++)
        {
            long w = start + i;
            if (w >= words)
            {
                w -= words;
            }
            final long off = w << 3;
            long bits = (long)WORD.getVolatile(bitmap, off);
            while (bits != -1L)
            {
                // volatile CAS: claims every free bit of the word at once
                if ((boolean)WORD.compareAndSet(bitmap, off, bits, -1L))
                {
                    cursor.lazySet(w + 1 == words ? 0 : w + 1);
                    long free = ~bits;
                    int n = offset;
                    final long base = firstPfn + (w << 6);
                    while (free != 0)
                    {
                        final int bit = Long.numberOfTrailingZeros(free);
                        out[n++] = base + bit;
                        free &= free - 1;
                    }
                    inUse.addAndGet(n - offset);
                    return n - offset;
                }
                bits = (long)WORD.getVolatile(bitmap, off);
            }
        }
        return 0;
    }

    /**
     * Claims a free run of {@code frames} phantom frames (a multiple of 64) whose first PFN is a
     * multiple of {@code frames}, the first such at or after {@code from}: a tables-only hugetlb pool's page. The words are taken one by one
     * by CAS from empty and given back if a later one is not free.
     *
     * @return the first PFN, or {@link BuddyAllocator#NO_FRAME} when no such run is free.
     */
    long claimRun(final long frames, final long from)
    {
        final long perRun = frames >>> 6;
        // the first aligned PFN at or after from (and firstPfn)
        for (long head = (Math.max(from, firstPfn) + frames - 1) & -frames; head + frames <= firstPfn + this.frames; head += frames)
        {
            final long first = (head - firstPfn) >>> 6;
            long taken = 0;
            while (taken < perRun && (boolean)WORD.compareAndSet(bitmap, (first + taken) << 3, 0L, -1L))
            {
                taken++;
            }
            if (taken == perRun)
            {
                inUse.addAndGet(frames);
                return head;
            }
            for (long w = 0; w < taken; w++)
            {
                // volatile store: nobody else can have claimed a word this CAS filled
                WORD.setVolatile(bitmap, (first + w) << 3, 0L);
            }
        }
        return BuddyAllocator.NO_FRAME;
    }

    /** Frees one phantom frame. */
    void free(final long pfn)
    {
        final long index = pfn - firstPfn;
        final long off = (index >>> 6) << 3;
        final long mask = 1L << (index & 63);
        // volatile atomic AND: the frame's last use happens-before a later claim that sees the bit clear
        final long before = (long)WORD.getAndBitwiseAnd(bitmap, off, ~mask);
        if ((before & mask) == 0)
        {
            throw new IllegalStateException("double free of phantom frame " + pfn);
        }
        inUse.decrementAndGet();
    }

    /** Frees many phantom frames; {@code pfns[from..from+count)}. */
    void freeBatch(final long[] pfns, final int from, final int count)
    {
        for (int i = from; i < from + count; i++)
        {
            final long index = pfns[i] - firstPfn;
            final long mask = 1L << (index & 63);
            final long before = (long)WORD.getAndBitwiseAnd(bitmap, (index >>> 6) << 3, ~mask);
            if ((before & mask) == 0)
            {
                throw new IllegalStateException("double free of phantom frame " + pfns[i]);
            }
        }
        inUse.addAndGet(-count);
    }

    /** Whether a phantom frame's bit is set (for checkers). */
    public boolean isClaimed(final long pfn)
    {
        final long index = pfn - firstPfn;
        return (((long)WORD.getVolatile(bitmap, (index >>> 6) << 3)) & (1L << (index & 63))) != 0;
    }
}
