package io.mmemu.vm;

/**
 * A snapshot of one VMA, for views (maps, smaps, dumps) and tests.
 *
 * @param start    first address
 * @param end      first address past the VMA
 * @param flags    {@link VmFlags} bits
 * @param pgoff    file offset in pages (anonymous private: start >> 12, as Linux keeps it; maps prints 0)
 * @param name     the maps pathname column: a file path, {@code [heap]}, {@code [stack]},
 *                 {@code /dev/zero (deleted)} for shared anonymous memory, or {@code null}
 * @param anonymous no file behind it (shared anonymous memory counts as anonymous here)
 * @param dev      device number, {@link Dev#make MKDEV} encoded
 * @param inode    inode number, 0 for anonymous private memory
 * @param hasAnonVma whether the VMA has an anon_vma (it was faulted), which decides merges
 * @param pageSize the page size its leaves map (vma_kernel_pagesize): 4096, or a hugetlb VMA's
 *                 2 MiB or 1 GiB; 0 when unknown (a dump does not record it: see {@link #hugePageSize})
 */
public record VmaInfo(long start, long end, int flags, long pgoff, String name, boolean anonymous,
    int dev, long inode, boolean hasAnonVma, long pageSize)
{
    /** A VMA of 4 KiB pages, or of unknown page size when VM_HUGETLB. */
    public VmaInfo(final long start, final long end, final int flags, final long pgoff, final String name,
        final boolean anonymous, final int dev, final long inode, final boolean hasAnonVma)
    {
        this(start, end, flags, pgoff, name, anonymous, dev, inode, hasAnonVma,
            (flags & VmFlags.VM_HUGETLB) != 0 ? 0 : 4096);
    }

    public int devMajor()
    {
        return Dev.major(dev);
    }

    public int devMinor()
    {
        return Dev.minor(dev);
    }

    public boolean isShared()
    {
        return (flags & VmFlags.VM_SHARED) != 0 || (flags & VmFlags.VM_MAYSHARE) != 0;
    }

    /**
     * The line of /proc/PID/maps for this VMA as fs/proc/task_mmu.c prints it: hex fields at least
     * 8 digits wide, a space after the inode always, and a name padded to start at column 73.
     */
    public String mapsLine()
    {
        final StringBuilder sb = new StringBuilder(96);
        sb.append(String.format("%08x-%08x ", start, end));
        sb.append((flags & VmFlags.VM_READ) != 0 ? 'r' : '-');
        sb.append((flags & VmFlags.VM_WRITE) != 0 ? 'w' : '-');
        sb.append((flags & VmFlags.VM_EXEC) != 0 ? 'x' : '-');
        sb.append((flags & VmFlags.VM_MAYSHARE) != 0 ? 's' : 'p');
        final long offset = anonymous && (flags & VmFlags.VM_MAYSHARE) == 0 ? 0 : pgoff << 12;
        sb.append(String.format(" %08x %02x:%02x %d ", offset, devMajor(), devMinor(), inode));
        if (name != null)
        {
            // seq_setwidth(25 + sizeof(void *) * 6 - 1) then seq_pad(m, ' ')
            while (sb.length() < 72)
            {
                sb.append(' ');
            }
            // seq_file_path escapes newlines (octal), so one VMA stays one line
            sb.append(' ').append(name.replace("\n", "\\012"));
        }
        return sb.toString();
    }
}
