package io.mmemu.inspect;

import io.mmemu.pgtable.TableReader;

/**
 * Read-only physical memory as the views need it: the bytes of some frames (always the page
 * tables) and the descriptors of the frames the tables map. Implemented over a live
 * {@link io.mmemu.phys.PhysicalMemory} ({@link LiveMemory}) and over a dump file
 * ({@link DumpImage}), so that every view renders the same from either.
 * <p>
 * Addresses are physical; a frame is {@code pa >>> 12}. Callers ask {@link #hasBytes} before
 * reading: reading a frame without bytes is a programming error and throws.
 */
public interface MemoryImage extends TableReader
{
    /** Frames of the machine, backed or phantom: PFNs are {@code [0, totalFrames)}. */
    long totalFrames();

    /** Frames below this PFN have bytes and descriptors on the machine (the rest are phantom). */
    long backedFrames();

    long zeroPagePfn();

    /** Whether this image holds the bytes of frame {@code pfn}. */
    @Override
    boolean hasBytes(long pfn);

    /** The 64-bit little-endian word at {@code pa} (8-byte aligned, in a frame with bytes). */
    @Override
    long word(long pa);

    /** Copies {@code length} bytes from {@code pa} (within frames that have bytes) into {@code dst}. */
    void read(long pa, byte[] dst, int offset, int length);

    /** {@link io.mmemu.phys.FrameFlags} of a backed frame the tables map or hold; 0 when unknown. */
    int flags(long pfn);

    /**
     * The swap count of slot {@code slot} of swap area {@code type} (entries naming it), for
     * SwapPss; 1 when the image does not know it (a dump holds no swap map), as if each slot
     * were one process's alone.
     */
    default int swapCount(final int type, final long slot)
    {
        return 1;
    }

    /** References to a backed data frame (mappings plus page-cache and in-flight holders). */
    int refcount(long pfn);

    /** Page-table entries mapping a backed data frame. */
    int mapcount(long pfn);

    /** Level (1 PT .. 4 PML4) of a table frame. */
    int tableLevel(long pfn);

    default boolean isBacked(final long pfn)
    {
        return pfn < backedFrames();
    }
}
