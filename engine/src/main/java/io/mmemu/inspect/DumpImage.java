package io.mmemu.inspect;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import org.agrona.collections.Long2LongHashMap;

/**
 * The physical memory a dump file holds: its table frames (and data frames, if written) read in
 * place from the mapped file, and the descriptors of the frames the tables map. Built and
 * validated by {@link DumpReader}; frames the dump does not hold have no bytes.
 */
public final class DumpImage implements MemoryImage, AutoCloseable
{
    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long NONE = -1;

    private final Arena arena;
    private final MemorySegment file;
    private final long totalFrames;
    private final long backedFrames;
    private final long zeroPagePfn;
    /** PFN → file offset of the frame's 4096 bytes. */
    private final Long2LongHashMap frameOffsets = new Long2LongHashMap(NONE);
    /** PFN → index in the descriptor arrays. */
    private final Long2LongHashMap descriptorIndex = new Long2LongHashMap(NONE);
    private final int[] flags;
    private final int[] levels;
    private final int[] refcounts;
    private final int[] mapcounts;
    private int descriptors;

    DumpImage(final Arena arena, final MemorySegment file, final long totalFrames, final long backedFrames,
        final long zeroPagePfn, final int descriptorCount)
    {
        this.arena = arena;
        this.file = file;
        this.totalFrames = totalFrames;
        this.backedFrames = backedFrames;
        this.zeroPagePfn = zeroPagePfn;
        this.flags = new int[descriptorCount];
        this.levels = new int[descriptorCount];
        this.refcounts = new int[descriptorCount];
        this.mapcounts = new int[descriptorCount];
    }

    /** Records that frame {@code pfn}'s bytes are at {@code offset}; false if it already had some. */
    boolean addFrame(final long pfn, final long offset)
    {
        return frameOffsets.putIfAbsent(pfn, offset) == NONE;
    }

    /** Records a descriptor; false if {@code pfn} already had one. */
    boolean addDescriptor(final long pfn, final int frameFlags, final int level, final int refcount, final int mapcount)
    {
        if (descriptorIndex.putIfAbsent(pfn, descriptors) != NONE)
        {
            return false;
        }
        flags[descriptors] = frameFlags;
        levels[descriptors] = level;
        refcounts[descriptors] = refcount;
        mapcounts[descriptors] = mapcount;
        descriptors++;
        return true;
    }

    boolean hasDescriptor(final long pfn)
    {
        return descriptorIndex.get(pfn) != NONE;
    }

    /** File offset of a frame's bytes, or -1. */
    long frameOffset(final long pfn)
    {
        return frameOffsets.get(pfn);
    }

    int frameCount()
    {
        return frameOffsets.size();
    }

    @Override
    public long totalFrames()
    {
        return totalFrames;
    }

    @Override
    public long backedFrames()
    {
        return backedFrames;
    }

    @Override
    public long zeroPagePfn()
    {
        return zeroPagePfn;
    }

    @Override
    public boolean hasBytes(final long pfn)
    {
        return frameOffsets.get(pfn) != NONE;
    }

    @Override
    public long word(final long pa)
    {
        return file.get(WORD, offsetOf(pa, 8));
    }

    @Override
    public void read(final long pa, final byte[] dst, final int offset, final int length)
    {
        int done = 0;
        while (done < length)
        {
            final long at = pa + done;
            final int chunk = (int)Math.min(length - done, 4096 - (at & 4095));
            MemorySegment.copy(file, ValueLayout.JAVA_BYTE, offsetOf(at, chunk), dst, offset + done, chunk);
            done += chunk;
        }
    }

    private long offsetOf(final long pa, final int length)
    {
        final long base = frameOffsets.get(pa >>> 12);
        if (base == NONE || (pa & 4095) + length > 4096)
        {
            throw new IllegalArgumentException(String.format("physical 0x%x+%d is not in the dump", pa, length));
        }
        return base + (pa & 4095);
    }

    @Override
    public int flags(final long pfn)
    {
        final int i = (int)descriptorIndex.get(pfn);
        return i < 0 ? 0 : flags[i];
    }

    @Override
    public int refcount(final long pfn)
    {
        final int i = (int)descriptorIndex.get(pfn);
        return i < 0 ? 0 : refcounts[i];
    }

    @Override
    public int mapcount(final long pfn)
    {
        final int i = (int)descriptorIndex.get(pfn);
        return i < 0 ? 0 : mapcounts[i];
    }

    @Override
    public int tableLevel(final long pfn)
    {
        final int i = (int)descriptorIndex.get(pfn);
        return i < 0 ? 0 : levels[i];
    }

    @Override
    public void close()
    {
        arena.close();
    }
}
