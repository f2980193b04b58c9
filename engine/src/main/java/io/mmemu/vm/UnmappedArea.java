package io.mmemu.vm;

/**
 * get_unmapped_area for anonymous memory on x86-64 (arch/x86/kernel/sys_x86_64.c and
 * mm/vma.c's unmapped_area{,_topdown}): a free hint is honoured; otherwise the highest gap below
 * mmap_base that fits (top-down), falling back to a bottom-up search from the legacy base. Gaps
 * keep {@link AddressSpace#STACK_GUARD_GAP} below VM_GROWSDOWN VMAs. Lengths that are multiples
 * of 2 MiB without a hint get a 2 MiB aligned address (THP alignment, Linux 6.7+).
 * <p>
 * With 5-level paging TASK_SIZE is 2^56 - 4 KiB, but a search stays below
 * {@link AddressSpace#DEFAULT_MAP_WINDOW} (2^47 - 4 KiB) unless the hint lies above it: then the
 * top-down search's limit is raised by the difference and the bottom-up fallback's end is
 * TASK_SIZE (arch_get_unmapped_area_topdown, find_start_end). A hint that straddles the window's
 * end is not taken (mmap_address_hint_valid). With four levels the window is TASK_SIZE and none of
 * this changes anything.
 */
final class UnmappedArea
{
    static final long PMD_SIZE = 2L << 20;
    private static final long PAGE = 4096;

    private UnmappedArea()
    {
    }

    /** vm_start_gap: where a new mapping below {@code vma} must end. */
    static long startGap(final Vma vma)
    {
        if ((vma.flags & VmFlags.VM_GROWSDOWN) == 0)
        {
            return vma.start;
        }
        final long gap = vma.start - AddressSpace.STACK_GUARD_GAP;
        return gap > vma.start ? 0 : gap;
    }

    /** get_unmapped_area for anonymous memory below {@code taskSize}. @return a page-aligned address, or {@code -errno}. */
    static long find(final VmaTree tree, final long taskSize, final long addr, final long len, final int flags)
    {
        return find(tree, taskSize, addr, len, flags, null, 0);
    }

    /**
     * __get_unmapped_area: for a file whose filesystem aligns mappings for huge pages
     * ({@link MappedFile#thpAligned()}: ext4, xfs... use thp_get_unmapped_area) the address is
     * chosen so that it and the file offset agree modulo 2 MiB whenever the mapped file range holds
     * a whole aligned 2 MiB block; anonymous private lengths that are multiples of 2 MiB without a
     * hint get a 2 MiB aligned address (Linux 6.7+); everything else takes the arch's search.
     *
     * @return a page-aligned address, or {@code -errno}.
     */
    static long find(final VmaTree tree, final long taskSize, final long addr, final long len, final int flags,
        final MappedFile file, final long pgoff)
    {
        if (len > taskSize)
        {
            return -Errno.ENOMEM;
        }
        final boolean thp = file != null ? file.thpAligned() :
            (flags & Mman.MAP_FIXED) == 0 && addr == 0 && (len & (PMD_SIZE - 1)) == 0 && (flags & Mman.MAP_SHARED) == 0;
        final long result = thp ? thpAligned(tree, taskSize, addr, len, file == null ? 0 : pgoff << 12, flags) :
            arch(tree, taskSize, addr, len, flags);
        if (Errno.isError(result))
        {
            return result;
        }
        if (Long.compareUnsigned(result, taskSize - len) > 0)
        {
            return -Errno.ENOMEM;
        }
        if ((result & (PAGE - 1)) != 0)
        {
            return -Errno.EINVAL;
        }
        return result;
    }

    /**
     * thp_get_unmapped_area: when {@code [off, off + len)} holds a whole aligned 2 MiB block, search
     * with 2 MiB of padding and place the mapping so that address and offset agree modulo 2 MiB;
     * otherwise (or when the padded search fails) the plain search.
     */
    private static long thpAligned(final VmaTree tree, final long taskSize, final long addr, final long len, final long off,
        final int flags)
    {
        final long offEnd = (off + len) & ~(PMD_SIZE - 1);
        final long offAlign = (off + PMD_SIZE - 1) & ~(PMD_SIZE - 1);
        final long padded = len + PMD_SIZE;
        if (Long.compareUnsigned(offEnd, offAlign) <= 0 || offEnd - offAlign < PMD_SIZE || padded < len || off + padded < off)
        {
            return arch(tree, taskSize, addr, len, flags);
        }
        final long found = arch(tree, taskSize, addr, padded, flags);
        if (Errno.isError(found))
        {
            return arch(tree, taskSize, addr, len, flags);
        }
        if (found == addr)
        {
            return addr;
        }
        final long misalign = (off - found) & (PMD_SIZE - 1);
        if (misalign == 0)
        {
            // MMF_TOPDOWN: the padding goes below, so take the aligned address at its top
            return found + PMD_SIZE;
        }
        return found + misalign;
    }

    /** arch_get_unmapped_area_topdown. */
    private static long arch(final VmaTree tree, final long taskSize, final long addr, final long len, final int flags)
    {
        if ((flags & Mman.MAP_FIXED) != 0)
        {
            return addr;
        }
        if ((flags & Mman.MAP_32BIT) != 0)
        {
            return bottomUp(tree, len, 0x40000000L, 0x80000000L);
        }
        final long hint = addr & ~(PAGE - 1);
        if (addr != 0 && hintValid(taskSize, hint, len))
        {
            final Vma vma = tree.find(hint);
            if (vma == null || hint + len <= startGap(vma))
            {
                return hint;
            }
        }
        // a hint above the default window opens the whole address space (nothing with 4 levels)
        final boolean high = hint > AddressSpace.DEFAULT_MAP_WINDOW;
        final long found = topDown(tree, len, PAGE,
            AddressSpace.MMAP_BASE + (high ? taskSize - AddressSpace.DEFAULT_MAP_WINDOW : 0));
        if (!Errno.isError(found))
        {
            return found;
        }
        // find_start_end: task_size_64bit(addr > DEFAULT_MAP_WINDOW)
        final long end = addr > AddressSpace.DEFAULT_MAP_WINDOW ? taskSize : AddressSpace.DEFAULT_MAP_WINDOW;
        return len > end ? -Errno.ENOMEM : bottomUp(tree, len, AddressSpace.MMAP_LEGACY_BASE, end);
    }

    /**
     * mmap_address_hint_valid: the hint leaves room for {@code len} below TASK_SIZE and lies wholly
     * on one side of the default window's end (a mapping that straddles it would hand an
     * address above 2^47 to a program that did not ask for one).
     */
    private static boolean hintValid(final long taskSize, final long hint, final long len)
    {
        if (Long.compareUnsigned(taskSize - len, hint) < 0)
        {
            return false;
        }
        return (hint > AddressSpace.DEFAULT_MAP_WINDOW) == (hint + len > AddressSpace.DEFAULT_MAP_WINDOW);
    }

    /** The highest {@code len}-byte range in a gap between VMAs inside {@code [low, high)}. */
    static long topDown(final VmaTree tree, final long len, final long low, final long high)
    {
        int i = tree.indexAfter(high - 1);
        long top = high;
        if (i < tree.size())
        {
            top = Math.min(top, startGap(tree.get(i)));
        }
        while (true)
        {
            final Vma prev = tree.prev(i);
            final long bottom = Math.max(low, prev == null ? 0 : prev.end);
            if (top >= bottom && top - bottom >= len)
            {
                return top - len;
            }
            if (prev == null || prev.end <= low)
            {
                return -Errno.ENOMEM;
            }
            i--;
            top = Math.min(high, startGap(prev));
        }
    }

    /** The lowest {@code len}-byte range in a gap between VMAs inside {@code [low, high)}. */
    static long bottomUp(final VmaTree tree, final long len, final long low, final long high)
    {
        int i = tree.indexAfter(low);
        long bottom = low;
        final Vma before = tree.prev(i);
        if (before != null)
        {
            bottom = Math.max(bottom, before.end);
        }
        while (true)
        {
            final Vma next = tree.at(i);
            final long top = Math.min(high, next == null ? high : startGap(next));
            if (top >= bottom && top - bottom >= len)
            {
                return bottom;
            }
            if (next == null || next.end >= high)
            {
                return -Errno.ENOMEM;
            }
            bottom = Math.max(bottom, next.end);
            i++;
        }
    }
}
