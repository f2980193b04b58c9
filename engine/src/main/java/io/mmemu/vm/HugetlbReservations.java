package io.mmemu.vm;

/**
 * hugetlb_vm_op_close's part for {@link AddressSpace#replace}: when a private hugetlb mapping's
 * VMAs leave the tree, the reservations of the indices no replacing VMA of the same file covers go
 * back to the pool ({@link HugetlbFile#unmapped}). A split (mprotect, madvise) replaces a VMA by
 * pieces that cover it all, and gives nothing back.
 */
final class HugetlbReservations
{
    private HugetlbReservations()
    {
    }

    /**
     * MADV_DONTNEED over {@code [start, end)} of hugetlb {@code vma} (aligned): zaps the pages, and
     * in the owner's private mapping gives the indices whose page went their reservation back
     * (__unmap_hugepage_range's vma_add_reservation: the next fault there is served from it again),
     * once the page is back in the pool; if another mapping took that page meanwhile, the index
     * stays without one. Caller holds the mmap write lock and owns the range.
     */
    static void dontneed(final Cpu cpu, final Vma vma, final long start, final long end)
    {
        final HugetlbFile file = Hugetlb.of(vma);
        final org.agrona.collections.LongArrayList faulted = new org.agrona.collections.LongArrayList();
        if (!file.shared)
        {
            final io.mmemu.pgtable.PageWalker walker = cpu.walker;
            for (long va = start; va < end; va += file.pageSize)
            {
                if (walker.walk(cpu.mm.cr3(), va) == io.mmemu.pgtable.PageWalker.WALK_LARGE)
                {
                    faulted.addLong(file.index(vma, va));
                }
            }
        }
        VmaEditor.zap(cpu, start, end);
        for (int i = 0; i < faulted.size(); i++)
        {
            file.restoreReservation(cpu.mm, faulted.getLong(i));
        }
    }

    /** {@code old} leaves the tree for {@code with}; caller holds the mmap write lock. */
    static void unmapped(final AddressSpace mm, final Vma[] old, final Vma[] with)
    {
        for (final Vma gone : old)
        {
            final HugetlbFile file = Hugetlb.of(gone);
            if (file == null || file.shared)
            {
                continue;
            }
            long from = file.index(gone, gone.start);
            final long to = file.index(gone, gone.end);
            // the replacing VMAs of the same file, in address order, keep the indices they cover
            for (final Vma kept : with)
            {
                if (kept.file != gone.file)
                {
                    continue;
                }
                final long keptFrom = Math.max(from, file.index(kept, kept.start));
                final long keptTo = Math.min(to, file.index(kept, kept.end));
                if (keptFrom < keptTo)
                {
                    file.unmapped(mm, from, keptFrom);
                    from = keptTo;
                }
            }
            file.unmapped(mm, from, to);
        }
    }
}
