package io.mmemu.vm;

import io.mmemu.pgtable.HugePmd;

import static io.mmemu.vm.Mman.*;

/**
 * madvise (mm/madvise.c): flag advice (NORMAL, RANDOM, SEQUENTIAL, DONTFORK, DOFORK, WIPEONFORK,
 * KEEPONFORK, DONTDUMP, DODUMP, MERGEABLE, UNMERGEABLE, HUGEPAGE, NOHUGEPAGE) splits and merges
 * VMAs like mprotect; DONTNEED zaps; FREE makes anonymous pages clean (lazily freeable); REMOVE
 * punches a hole in shared memory; POPULATE_(READ|WRITE) fault the range in; COLD clears the A
 * bits of the private anonymous pages and the page-cache pages only this process maps, and
 * deactivates them; PAGEOUT swaps the anonymous ones out (when the machine has swap; pages
 * fork shares stay) and drops the clean page-cache pages only this process maps (a dirty one is
 * unmapped and stays cached); WILLNEED has no visible effect. Holes in the range are skipped and
 * reported as ENOMEM at the end, as Linux does.
 */
final class Madvise
{
    private Madvise()
    {
    }

    static boolean isValid(final int advice)
    {
        return switch (advice)
        {
            case MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE, MADV_REMOVE,
                MADV_DONTFORK, MADV_DOFORK, MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
                MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_COLD, MADV_PAGEOUT,
                MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_DONTNEED_LOCKED, MADV_COLLAPSE -> true;
            // MADV_HWPOISON and MADV_SOFT_OFFLINE exist only with CONFIG_MEMORY_FAILURE, which the
            // emulated machine (like the reference host) lacks
            default -> false;
        };
    }

    static long madvise(final Cpu cpu, final long start0, final long length, final int advice)
    {
        if (!isValid(advice))
        {
            return -Errno.EINVAL;
        }
        if ((start0 & ~Mmap.PAGE_MASK) != 0)
        {
            return -Errno.EINVAL;
        }
        final long len = Mmap.pageAlign(length);
        if (length != 0 && len == 0)
        {
            return -Errno.EINVAL;
        }
        final long end = start0 + len;
        if (Long.compareUnsigned(end, start0) < 0)
        {
            return -Errno.EINVAL;
        }
        if (end == start0)
        {
            return 0;
        }
        if (advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE)
        {
            return Populate.range(cpu, start0, end, advice == MADV_POPULATE_WRITE, true);
        }
        if (advice == MADV_COLLAPSE)
        {
            return HugeMemory.collapse(cpu, start0, end);
        }
        final RangeLock lock = cpu.mm.rangeLock();
        if ((advice == MADV_COLD || advice == MADV_PAGEOUT) && !cpu.mm.perVma())
        {
            // madvise_need_mmap_write: COLD and PAGEOUT change no VMA, so the mmap lock is taken
            // for reading, and reclaim's rmap (whose trylock a writer's hold would fail) and faults
            // go on meanwhile; in per-VMA mode the writer's span below locks no VMA either
            cpu.mm.lockRead(cpu);
            try
            {
                return walk(cpu, start0, end, advice);
            }
            finally
            {
                cpu.mm.unlockRead();
            }
        }
        lock.acquire(cpu, start0, end);
        try
        {
            return walk(cpu, start0, end, advice);
        }
        finally
        {
            lock.release(cpu);
        }
    }

    /**
     * madvise_walk_vmas; caller holds the mmap write lock and owns the range, or (MADV_COLD and
     * MADV_PAGEOUT in mmap-lock mode) holds the mmap lock for reading.
     */
    private static long walk(final Cpu cpu, final long start0, final long end, final int advice)
    {
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree() && mm.rangeLock().owns(cpu, start0, end)
            || (advice == MADV_COLD || advice == MADV_PAGEOUT) && mm.rangeLock().holdsShared()
            : "madvise without the mmap lock";
        long start = start0;
        long unmappedError = 0;
        while (true)
        {
            final Vma vma = mm.tree().find(start);
            if (vma == null)
            {
                return -Errno.ENOMEM;
            }
            if (start < vma.start)
            {
                unmappedError = -Errno.ENOMEM;
                start = vma.start;
                if (start >= end)
                {
                    break;
                }
            }
            final long tmp = Math.min(vma.end, end);
            final long error = visit(cpu, vma, start, tmp, advice);
            if (error != 0)
            {
                return error;
            }
            start = tmp;
            if (start >= end)
            {
                break;
            }
        }
        return unmappedError;
    }

    /**
     * CONFIG_PT_RECLAIM (Linux 6.14+, on by default on x86-64): MADV_DONTNEED frees each PT page
     * whose whole 2 MiB span it zapped and that is empty now (zap_pte_range's try_get_and_clear_pmd),
     * so a later fault there finds an empty PMD entry and may map a huge page. Only PT pages go, never
     * a PMD table. The VMA is write-locked meanwhile (per-VMA mode; in mmap-lock mode the mmap write
     * lock excludes faults): no fault may fill a PT page while it is unlinked, and a PT page a fault
     * filled again since the zap stays, as one Linux finds non-empty does. Caller holds the mmap
     * write lock and owns {@code [start, end)}, which lies in {@code vma}.
     */
    private static void reclaimPageTables(final Cpu cpu, final Vma vma, final long start, final long end)
    {
        final long first = (start + HugePmd.SIZE - 1) & -HugePmd.SIZE;
        final long last = end & -HugePmd.SIZE;
        if (first >= last)
        {
            return;
        }
        final RangeLock lock = cpu.mm.rangeLock();
        lock.lockVma(cpu, vma);
        try
        {
            final io.mmemu.pgtable.MmuGather tlb = cpu.gather;
            tlb.begin(cpu.shootdown);
            for (long block = first; block < last; block += HugePmd.SIZE)
            {
                // floor and ceiling the block itself: its PT page may go, the PMD table above it stays
                cpu.editor.freeTables(cpu.mm.cr3(), block, block + HugePmd.SIZE, block, block + HugePmd.SIZE, tlb);
            }
            tlb.finish();
        }
        finally
        {
            lock.unlockDrained(cpu, vma);
        }
    }

    private static long visit(final Cpu cpu, final Vma vma, final long start, final long end, final int advice)
    {
        final int flags = vma.flags;
        switch (advice)
        {
            case MADV_DONTNEED, MADV_DONTNEED_LOCKED ->
            {
                if ((flags & VmFlags.VM_HUGETLB) != 0)
                {
                    // madvise_dontneed_free_valid_vma: an aligned start, the end rounded down to
                    // whole huge pages (no data lost to a length rounded to 4 KiB); locked or not
                    final long size = Hugetlb.pageSize(vma);
                    if ((start & (size - 1)) != 0)
                    {
                        return -Errno.EINVAL;
                    }
                    final long hugeEnd = end & -size;
                    if (hugeEnd > start)
                    {
                        HugetlbReservations.dontneed(cpu, vma, start, hugeEnd);
                    }
                    return 0;
                }
                if ((flags & VmFlags.VM_PFNMAP) != 0 ||
                    (advice == MADV_DONTNEED && (flags & VmFlags.VM_LOCKED) != 0))
                {
                    return -Errno.EINVAL;
                }
                VmaEditor.zap(cpu, start, end);
                reclaimPageTables(cpu, vma, start, end);
                return 0;
            }
            case MADV_FREE ->
            {
                if (!vma.isAnonymous() || (flags & VmFlags.VM_HUGETLB) != 0)
                {
                    return -Errno.EINVAL;
                }
                final io.mmemu.pgtable.MmuGather tlb = cpu.gather;
                tlb.begin(cpu.shootdown);
                cpu.editor.clean(cpu.mm.cr3(), start, end, tlb);
                tlb.finish();
                return 0;
            }
            case MADV_REMOVE ->
            {
                if ((flags & VmFlags.VM_LOCKED) != 0 || vma.file == null)
                {
                    return -Errno.EINVAL;
                }
                if ((flags & (VmFlags.VM_SHARED | VmFlags.VM_MAYWRITE)) != (VmFlags.VM_SHARED | VmFlags.VM_MAYWRITE))
                {
                    // vma_is_shared_maywrite: only a writable shared mapping may punch a hole
                    return -Errno.EACCES;
                }
                if ((flags & VmFlags.VM_HUGETLB) != 0)
                {
                    HugetlbReservations.punch(cpu, vma, start, end);
                    return 0;
                }
                // faults on this VMA run meanwhile (they hold no lock a writer takes): the
                // invalidation makes those that looked a page up before the removal back out, or
                // leaves their entry to this zap (MappedFile.invalidations)
                final MappedFile inode = vma.file.inode();
                final long first = vma.pgoff + ((start - vma.start) >>> 12);
                inode.beginInvalidate();
                try
                {
                    VmaEditor.zap(cpu, start, end);
                    inode.remove(first, first + ((end - start) >>> 12), cpu.memory, cpu.cache);
                }
                finally
                {
                    inode.endInvalidate();
                }
                return 0;
            }
            case MADV_WILLNEED ->
            {
                return 0;
            }
            case MADV_COLD, MADV_PAGEOUT ->
            {
                // can_madv_lru_vma
                if ((flags & (VmFlags.VM_LOCKED | VmFlags.VM_PFNMAP | VmFlags.VM_HUGETLB)) != 0)
                {
                    return -Errno.EINVAL;
                }
                // madvise_pageout: the page-cache pages of a file this process may write
                // (can_do_file_pageout) go too; a shared mapping of any other file is left whole
                final boolean files = advice == MADV_PAGEOUT && vma.file != null && vma.file.inode().mayPageOut()
                    && vma.file.inode().hugetlbFile() == null;
                // MADV_COLD deactivates the page-cache pages only this entry maps, whatever the file
                if (Reclaimer.reclaimable(vma) || files || advice == MADV_COLD && vma.file != null)
                {
                    // madvise_cold_or_pageout_pte_range: the anonymous pages this process alone maps
                    // lose their A bits (COLD), or go to swap (PAGEOUT, referenced or not), and the
                    // page-cache pages only this entry maps are unmapped and dropped when clean
                    // (PAGEOUT; a dirty one stays cached); faults of the range run meanwhile, each
                    // entry changing under its PT lock
                    // lru_add_drain: this CPU's new pages join the lists first (MADV_COLD moves them)
                    cpu.memory.drainAddBatch(cpu.cache);
                    final io.mmemu.pgtable.MmuGather tlb = cpu.gather;
                    tlb.begin(cpu.shootdown);
                    cpu.editor.pageout(cpu.mm.cr3(), start, end, advice == MADV_COLD ?
                        io.mmemu.pgtable.PageTableEditor.PAGEOUT_COLD : io.mmemu.pgtable.PageTableEditor.PAGEOUT_FORCE,
                        Long.MAX_VALUE, files ? cpu.pageoutEviction : null, tlb);
                    tlb.finish();
                }
                return 0;
            }
            default ->
            {
                final long advised = newFlags(vma, advice);
                if (advised == NOT_APPLICABLE)
                {
                    return -Errno.EINVAL;
                }
                final int newFlags = (int)advised;
                if (newFlags == flags)
                {
                    return 0;
                }
                if (Hugetlb.cutsHugePage(cpu.mm.tree(), start, end))
                {
                    // hugetlb_vm_op_split: no split off the huge page size
                    return -Errno.EINVAL;
                }
                // madvise turns a failed split's ENOMEM into EAGAIN
                return VmaEditor.modifyFlags(cpu, vma, start, end, newFlags) == null ? -Errno.EAGAIN : 0;
            }
        }
    }

    /** newFlags' answer when the advice does not apply to the VMA (EINVAL): no flags value is negative as a long. */
    private static final long NOT_APPLICABLE = -1;

    /** The flags an advice gives a VMA (as an unsigned 32-bit value), or {@link #NOT_APPLICABLE}. */
    private static long newFlags(final Vma vma, final int advice)
    {
        final int flags = vma.flags;
        final int result = switch (advice)
        {
            case MADV_NORMAL -> flags & ~(VmFlags.VM_RAND_READ | VmFlags.VM_SEQ_READ);
            case MADV_RANDOM -> (flags & ~VmFlags.VM_SEQ_READ) | VmFlags.VM_RAND_READ;
            case MADV_SEQUENTIAL -> (flags & ~VmFlags.VM_RAND_READ) | VmFlags.VM_SEQ_READ;
            case MADV_DONTFORK -> flags | VmFlags.VM_DONTCOPY;
            case MADV_DOFORK -> flags & ~VmFlags.VM_DONTCOPY;
            case MADV_WIPEONFORK -> flags | VmFlags.VM_WIPEONFORK;
            case MADV_KEEPONFORK -> flags & ~VmFlags.VM_WIPEONFORK;
            case MADV_DONTDUMP -> flags | VmFlags.VM_DONTDUMP;
            case MADV_DODUMP -> flags & ~VmFlags.VM_DONTDUMP;
            case MADV_MERGEABLE -> flags | VmFlags.VM_MERGEABLE;
            case MADV_UNMERGEABLE -> flags & ~VmFlags.VM_MERGEABLE;
            case MADV_HUGEPAGE -> (flags & ~VmFlags.VM_NOHUGEPAGE) | VmFlags.VM_HUGEPAGE;
            case MADV_NOHUGEPAGE -> (flags & ~VmFlags.VM_HUGEPAGE) | VmFlags.VM_NOHUGEPAGE;
            default -> 0;
        };
        final boolean applies = switch (advice)
        {
            case MADV_DOFORK -> (flags & VmFlags.VM_IO) == 0;
            case MADV_WIPEONFORK -> vma.file == null && (flags & VmFlags.VM_SHARED) == 0;
            case MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_DONTFORK, MADV_KEEPONFORK, MADV_DONTDUMP, MADV_DODUMP,
                MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE -> true;
            default -> false;
        };
        return applies ? result & 0xffffffffL : NOT_APPLICABLE;
    }
}
