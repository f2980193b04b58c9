package io.mmemu.vm;

/**
 * hugetlb_vm_op_close's part for {@link AddressSpace#replace}: when a private hugetlb mapping's
 * VMAs leave the tree, the reservations of the indices no replacing VMA of the same file covers go
 * back to the pool ({@link HugetlbFile#unmapped}). A split (mprotect, madvise) replaces a VMA by
 * pieces that cover it all, and gives nothing back; an mremap move inserts its new VMA before the
 * old one leaves, so the reservations travel with it (move_vma's clear_vma_resv_huge_pages).
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
        assert cpu.mm.rangeLock().holdsTree() && cpu.mm.rangeLock().owns(cpu, start, end) : "MADV_DONTNEED without the range";
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

    /**
     * MADV_REMOVE over {@code [start, end)} of a shared hugetlb VMA (hugetlbfs_punch_hole): the
     * whole huge pages inside the range (its ends rounded inwards) leave the file's cache, their
     * leaves in this VMA zapped first; the faults at those indices wait meanwhile (their fault
     * serialisation is taken for each), so none maps a page being removed. The file's pages stay
     * where another process still maps them (a fork child's leaves: Linux would unmap those too).
     */
    static void punch(final Cpu cpu, final Vma vma, final long start, final long end)
    {
        assert cpu.mm.rangeLock().holdsTree() && cpu.mm.rangeLock().owns(cpu, start, end) : "a hole punch without the range";
        final HugetlbFile file = Hugetlb.of(vma);
        final long from = (start + file.pageSize - 1) & -file.pageSize;
        final long to = end & -file.pageSize;
        if (from >= to)
        {
            return;
        }
        final long first = file.index(vma, from);
        final long last = file.index(vma, to);
        final org.agrona.concurrent.IdleStrategy idle = cpu.idle();
        for (long index = first; index < last; index++)
        {
            idle.reset();
            while (!file.beginFault(index))
            {
                cpu.pollWhileWaiting();
                idle.idle();
            }
        }
        try
        {
            VmaEditor.zap(cpu, from, to);
            file.remove(cpu.memory, cpu.cache, first, last);
        }
        finally
        {
            for (long index = first; index < last; index++)
            {
                file.endFault(index);
            }
        }
    }

    /** {@code old} leaves the tree for {@code with}; caller holds the mmap write lock. */
    static void unmapped(final AddressSpace mm, final Vma[] old, final Vma[] with)
    {
        assert mm.rangeLock().holdsTree() : "a tree change without the mmap write lock";
        Vma[] tree = null;
        for (final Vma gone : old)
        {
            final HugetlbFile file = Hugetlb.of(gone);
            if (file == null || file.shared)
            {
                continue;
            }
            if (tree == null)
            {
                tree = mm.tree().toArray();
            }
            // the VMAs of the same file that stay: the replacing ones, and the others in the tree
            // (mremap's new VMA is in the tree before its old one leaves: the move keeps the reservations)
            final java.util.List<long[]> kept = new java.util.ArrayList<>();
            for (final Vma vma : with)
            {
                keep(kept, file, gone, vma);
            }
            for (final Vma vma : tree)
            {
                if (!contains(old, vma))
                {
                    keep(kept, file, gone, vma);
                }
            }
            kept.sort(java.util.Comparator.comparingLong(range -> range[0]));
            long from = file.index(gone, gone.start);
            final long to = file.index(gone, gone.end);
            for (final long[] range : kept)
            {
                final long keptFrom = Math.max(from, range[0]);
                final long keptTo = Math.min(to, range[1]);
                if (keptFrom < keptTo)
                {
                    file.unmapped(mm, from, keptFrom);
                    from = keptTo;
                }
            }
            file.unmapped(mm, from, to);
        }
    }

    /** Adds {@code vma}'s index range to {@code kept} when it maps {@code gone}'s file. */
    private static void keep(final java.util.List<long[]> kept, final HugetlbFile file, final Vma gone, final Vma vma)
    {
        if (vma.file == gone.file)
        {
            kept.add(new long[] {file.index(vma, vma.start), file.index(vma, vma.end)});
        }
    }

    private static boolean contains(final Vma[] vmas, final Vma vma)
    {
        for (final Vma v : vmas)
        {
            if (v == vma)
            {
                return true;
            }
        }
        return false;
    }
}
