package io.mmemu.vm;

import io.mmemu.phys.HugetlbPool;
import io.mmemu.phys.PhysicalMemory;

/**
 * The rules MAP_HUGETLB mappings follow in the syscalls (mm/mmap.c's ksys_mmap_pgoff,
 * mm/hugetlb.c's hugetlb_vm_op_split, fs/hugetlbfs's hugetlb_get_unmapped_area):
 * <ul>
 *   <li>the page size is flags bits 26..31, log2 of the size ({@code MAP_HUGE_2MB} 21,
 *       {@code MAP_HUGE_1GB} 30; 0 is the default, 2 MiB); another size is EINVAL
 *       (hstate_sizelog); the length is rounded up to it;</li>
 *   <li>the address is aligned to it: a MAP_FIXED one that is not is EINVAL, a hint is rounded up,
 *       a search finds an aligned gap;</li>
 *   <li>no VMA of such a mapping is ever split off its page size: a munmap, mprotect, madvise,
 *       mremap or MAP_FIXED whose range starts or ends inside one there is EINVAL
 *       ({@link #cutsHugePage}), before anything changes.</li>
 * </ul>
 * What a hugetlb VMA maps is its {@link HugetlbFile}; its faults are {@link HugetlbFault}'s.
 */
final class Hugetlb
{
    static final int MAP_HUGE_SHIFT = 26;
    static final int MAP_HUGE_MASK = 0x3f;
    private static final int LOG_2MB = 21;
    private static final int LOG_1GB = 30;

    private Hugetlb()
    {
    }

    /** hstate_sizelog: the pool mmap's {@code flags} name, or null for a size the machine has no pool of (EINVAL). */
    static HugetlbPool pool(final PhysicalMemory memory, final int flags)
    {
        return switch ((flags >>> MAP_HUGE_SHIFT) & MAP_HUGE_MASK)
        {
            case 0, LOG_2MB -> memory.hugetlbPool(PhysicalMemory.HUGE_ORDER);
            case LOG_1GB -> memory.hugetlbPool(PhysicalMemory.GIGANTIC_ORDER);
            default -> null;
        };
    }

    /** The hugetlb side of a VM_HUGETLB VMA; null for any other. */
    static HugetlbFile of(final Vma vma)
    {
        return (vma.flags & VmFlags.VM_HUGETLB) == 0 || vma.file == null ? null : vma.file.inode().hugetlbFile();
    }

    /** The huge page size of {@code vma}, or the base page size for a VMA that is not hugetlb (vma_kernel_pagesize). */
    static long pageSize(final Vma vma)
    {
        final HugetlbFile file = of(vma);
        return file == null ? PhysicalMemory.PAGE_SIZE : file.pageSize;
    }

    /**
     * hugetlb_vm_op_split's rule for a change of {@code [start, end)}: true when either end falls
     * strictly inside a hugetlb VMA at an address that is not a multiple of its page size.
     */
    static boolean cutsHugePage(final VmaTree tree, final long start, final long end)
    {
        return cuts(tree, start) || cuts(tree, end);
    }

    private static boolean cuts(final VmaTree tree, final long addr)
    {
        final Vma vma = tree.lookup(addr);
        return vma != null && vma.start < addr && (addr & (pageSize(vma) - 1)) != 0;
    }

    /**
     * hugetlb_get_unmapped_area for {@code len} bytes (a multiple of {@code size}): MAP_FIXED's
     * address if aligned (EINVAL otherwise), a hint rounded up to {@code size} if that range is free,
     * else the highest aligned gap (a search with {@code size} of padding). {@code -errno} on failure.
     */
    static long unmappedArea(final VmaTree tree, final long taskSize, final long addr, final long len, final int flags,
        final long size)
    {
        if ((flags & Mman.MAP_FIXED) != 0)
        {
            return (addr & (size - 1)) != 0 ? -Errno.EINVAL : UnmappedArea.find(tree, taskSize, addr, len, flags);
        }
        if (addr != 0)
        {
            final long hint = (addr + size - 1) & -size;
            if (hint > 0 && Long.compareUnsigned(hint, taskSize - len) <= 0)
            {
                final Vma vma = tree.find(hint);
                if (vma == null || hint + len <= UnmappedArea.startGap(vma))
                {
                    return hint;
                }
            }
        }
        final long padded = len + size;
        if (padded < len)
        {
            return -Errno.ENOMEM;
        }
        final long found = UnmappedArea.find(tree, taskSize, 0, padded, flags & ~Mman.MAP_FIXED);
        if (Errno.isError(found))
        {
            return found;
        }
        // top down: the highest aligned start inside the padded gap
        return (found + size) & -size;
    }
}
