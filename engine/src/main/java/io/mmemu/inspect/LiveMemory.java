package io.mmemu.inspect;

import java.lang.foreign.MemorySegment;

import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.phys.PhysicalMemory.PAGE_SHIFT;

/**
 * A running machine's physical memory seen through {@link MemoryImage}. Entries are read with
 * acquire loads ({@link PageWalker#read}), as any walker reads them; the views built on this are
 * exact only at a quiescent point (no syscall or fault in flight), like /proc files, which show
 * whatever the tables hold at the moment each entry is read.
 */
public final class LiveMemory implements MemoryImage
{
    private final PhysicalMemory memory;
    private final MemorySegment frames;

    public LiveMemory(final PhysicalMemory memory)
    {
        this.memory = memory;
        this.frames = memory.frames();
    }

    public PhysicalMemory memory()
    {
        return memory;
    }

    @Override
    public long totalFrames()
    {
        return memory.totalFrames();
    }

    @Override
    public long backedFrames()
    {
        return memory.backedFrames();
    }

    @Override
    public int swapCount(final int type, final long slot)
    {
        final io.mmemu.phys.SwapArea swap = memory.swap();
        return type == 0 && swap != null && swap.isValid(slot) ? Math.max(1, swap.count(slot)) : 1;
    }

    @Override
    public long zeroPagePfn()
    {
        return memory.zeroPagePfn();
    }

    @Override
    public boolean hasBytes(final long pfn)
    {
        return pfn > 0 && pfn < memory.backedFrames();
    }

    @Override
    public long word(final long pa)
    {
        check(pa, 8);
        return PageWalker.read(frames, pa);
    }

    @Override
    public void read(final long pa, final byte[] dst, final int offset, final int length)
    {
        check(pa, length);
        MemorySegment.copy(frames, java.lang.foreign.ValueLayout.JAVA_BYTE, pa, dst, offset, length);
    }

    @Override
    public int flags(final long pfn)
    {
        return hasBytes(pfn) ? memory.flags(pfn) : 0;
    }

    @Override
    public int refcount(final long pfn)
    {
        return hasBytes(pfn) ? memory.refcount(pfn) : 0;
    }

    @Override
    public int mapcount(final long pfn)
    {
        return hasBytes(pfn) ? memory.mapcount(pfn) : 0;
    }

    @Override
    public int tableLevel(final long pfn)
    {
        return hasBytes(pfn) ? memory.tableLevel(pfn) : 0;
    }

    private void check(final long pa, final long length)
    {
        if (length < 0 || !hasBytes(pa >>> PAGE_SHIFT) || !hasBytes((pa + Math.max(length, 1) - 1) >>> PAGE_SHIFT))
        {
            throw new IllegalArgumentException(String.format(
                "physical 0x%x+%d is outside the backed frames [0x1000, 0x%x)", pa, length, memory.backedFrames() << PAGE_SHIFT));
        }
    }
}
