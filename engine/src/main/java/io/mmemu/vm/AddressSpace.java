package io.mmemu.vm;

import java.util.List;

import io.mmemu.phys.PhysicalMemory;

/**
 * An emulated Linux x86-64 process address space (an {@code mm_struct}): the VMA tree, the mmap
 * lock, the page tables rooted at {@link #cr3()}, and the CPUs that run in it. Syscalls and memory
 * accesses are made through a {@link Cpu} (one per thread).
 */
public final class AddressSpace implements AutoCloseable
{
    /** Linux x86-64 TASK_SIZE with 4-level paging: the last user page is never mappable. */
    public static final long TASK_SIZE = 0x7ffffffff000L;
    /** Top-down placement starts below this (8 MiB stack, no randomisation). */
    public static final long MMAP_BASE = 0x7ffff7fff000L;
    public static final long MMAP_MIN_ADDR = 4096;
    public static final int MAX_MAP_COUNT = 65530;

    private AddressSpace()
    {
        throw new UnsupportedOperationException("in progress");
    }

    public static AddressSpace create(final PhysicalMemory memory)
    {
        throw new UnsupportedOperationException("in progress");
    }

    /** A new emulated CPU for the calling thread; close it when the thread is done. */
    public Cpu attachCpu()
    {
        throw new UnsupportedOperationException("in progress");
    }

    public PhysicalMemory memory()
    {
        throw new UnsupportedOperationException("in progress");
    }

    /** Physical address of the PML4. */
    public long cr3()
    {
        throw new UnsupportedOperationException("in progress");
    }

    /** The VMAs in address order (a consistent snapshot). */
    public List<VmaInfo> vmas()
    {
        throw new UnsupportedOperationException("in progress");
    }

    public int mapCount()
    {
        throw new UnsupportedOperationException("in progress");
    }

    /**
     * The 64-bit /proc/PID/pagemap word for the page containing {@code va}, as an unprivileged
     * reader sees it (PFN bits zero): bit 63 present, 62 swapped, 61 file page or shared
     * anonymous, 56 exclusively mapped, 55 soft-dirty.
     */
    public long pagemap(final long va)
    {
        throw new UnsupportedOperationException("in progress");
    }

    @Override
    public void close()
    {
    }
}
