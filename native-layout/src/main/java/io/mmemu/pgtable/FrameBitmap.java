package io.mmemu.pgtable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.LongConsumer;

/**
 * One bit per frame, off-heap, for {@link PageTableChecker}: which frames a check has already
 * reached. A bitmap over the whole PFN space rather than a hash set of the frames found, so that a
 * check of a terabyte of mappings needs {@code frames / 8} bytes outside the Java heap (64 MiB for
 * 2 TiB of physical memory) where a hash set would hold hundreds of millions of longs on it.
 * <p>
 * Confined to the thread that created it, and freed by {@link #close()}.
 */
final class FrameBitmap implements AutoCloseable
{
    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment words;
    private final long frames;
    private long set;

    /** A bitmap of {@code frames} clear bits. */
    FrameBitmap(final long frames)
    {
        this.frames = frames;
        this.words = arena.allocate(Math.max(1, (frames + 63) >>> 6) << 3, Long.BYTES);
    }

    /**
     * Sets the bit of {@code pfn}.
     *
     * @return true when it was clear (the first time the frame is reached)
     */
    boolean add(final long pfn)
    {
        final long offset = (pfn >>> 6) << 3;
        final long word = words.get(WORD, offset);
        final long bit = 1L << pfn;
        if ((word & bit) != 0)
        {
            return false;
        }
        words.set(WORD, offset, word | bit);
        set++;
        return true;
    }

    /** Whether the bit of {@code pfn} is set. */
    boolean contains(final long pfn)
    {
        return (words.get(WORD, (pfn >>> 6) << 3) & (1L << pfn)) != 0;
    }

    /** How many bits are set. */
    long size()
    {
        return set;
    }

    /** The set bits below {@code limit}, in increasing order. */
    void forEachBelow(final long limit, final LongConsumer action)
    {
        final long end = Math.min(limit, frames);
        for (long base = 0; base < end; base += 64)
        {
            long word = words.get(WORD, base >>> 3);
            while (word != 0)
            {
                final long pfn = base + Long.numberOfTrailingZeros(word);
                if (pfn >= end)
                {
                    return;
                }
                action.accept(pfn);
                word &= word - 1;
            }
        }
    }

    @Override
    public void close()
    {
        arena.close();
    }
}
