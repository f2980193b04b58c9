package io.mmemu.vm;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * mincore (mm/mincore.c): for each page of a range, whether it is resident. A present entry is
 * resident (mincore_pte_range; PROT_NONE ones too); an empty one of a file-backed VMA (shmem included) is resident
 * when its file's page cache holds the page (mincore_page: a page reclaim or MADV_PAGEOUT dropped
 * is not, one they only unmapped is); an empty anonymous one is not; a swap entry is not (mmemu's
 * swap cache holds a page only while it is written out, and no swap-in leaves one there).
 * <p>
 * The caller's range is owned as a writer's (the range lock), so no munmap frees its tables under
 * the walk; faults go on meanwhile, and the answer is a snapshot, as Linux's under the mmap read
 * lock is.
 */
final class Mincore
{
    private Mincore()
    {
    }

    /**
     * Fills {@code vec[i]} with 1 when page {@code i} of {@code [start, start + length)} is
     * resident, else 0; returns 0, -EINVAL for an unaligned start or a vector too short, -ENOMEM
     * when part of the range is not mapped (the pages before the hole are filled, as do_mincore
     * leaves them).
     */
    static int mincore(final Cpu cpu, final long start, final long length, final byte[] vec)
    {
        if ((start & ~Mmap.PAGE_MASK) != 0)
        {
            return -Errno.EINVAL;
        }
        final long end = start + Mmap.pageAlign(length);
        if (length < 0 || Long.compareUnsigned(end, start) < 0 || Long.compareUnsigned(end, cpu.mm.taskSize()) > 0)
        {
            // !access_ok
            return -Errno.ENOMEM;
        }
        if ((end - start) >>> 12 > vec.length)
        {
            return -Errno.EINVAL;
        }
        if (end == start)
        {
            return 0;
        }
        final RangeLock lock = cpu.mm.rangeLock();
        lock.acquire(cpu, start, end);
        try
        {
            long va = start;
            while (va < end)
            {
                final Vma vma = cpu.mm.tree().lookup(va);
                if (vma == null)
                {
                    return -Errno.ENOMEM;
                }
                final long stop = Math.min(end, vma.end);
                final MappedFile file = vma.file == null ? null : vma.file.inode();
                for (; va < stop; va += 4096)
                {
                    vec[(int)((va - start) >>> 12)] = resident(cpu, vma, file, va) ? (byte)1 : 0;
                }
            }
            return 0;
        }
        finally
        {
            lock.release(cpu);
        }
    }

    private static boolean resident(final Cpu cpu, final Vma vma, final MappedFile file, final long va)
    {
        final PageWalker walker = cpu.walker;
        final int status = walker.walk(cpu.mm.cr3(), va);
        if ((status == PageWalker.WALK_PTE || status == PageWalker.WALK_LARGE) && walker.entry() != 0)
        {
            // pte_present (PROT_NONE included); a swap entry is not resident
            return PageTableEntry.isMapped(walker.entry());
        }
        return file != null && file.hugetlbFile() == null && file.find(vma.pgoff + ((va - vma.start) >>> 12)) != NO_FRAME;
    }
}
