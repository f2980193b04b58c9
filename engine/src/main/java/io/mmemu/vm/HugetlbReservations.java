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
