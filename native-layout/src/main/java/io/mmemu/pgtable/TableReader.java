package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.PhysicalMemory;

/**
 * Read-only access to table pages for a walk that does not run on a live machine's frames (a dump
 * file, a frozen copy), or that only reads a live one: {@link RangeWalker#observe} reads every
 * entry through it.
 */
public interface TableReader
{
    /** Whether this reader holds the bytes of frame {@code pfn}. */
    boolean hasBytes(long pfn);

    /** The 64-bit word at physical address {@code pa} (8-byte aligned, in a frame with bytes). */
    long word(long pa);

    /**
     * The tables of a running machine, each entry read with an acquire load as any walker reads
     * it: a walk through this is exact only where nothing changes the tables meanwhile, and
     * otherwise sees each entry as it was when read (as /proc's walks do).
     */
    static TableReader live(final PhysicalMemory memory)
    {
        final MemorySegment frames = memory.frames();
        final long backed = memory.backedFrames();
        return new TableReader()
        {
            @Override
            public boolean hasBytes(final long pfn)
            {
                return pfn > 0 && pfn < backed;
            }

            @Override
            public long word(final long pa)
            {
                return PageWalker.read(frames, pa);
            }
        };
    }
}
