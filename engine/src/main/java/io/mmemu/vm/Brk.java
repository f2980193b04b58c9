package io.mmemu.vm;

/**
 * The program break (mm/mmap.c's brk and do_brk_flags). The heap is {@code [startBrk, brk)} rounded
 * up to pages; it grows into a new anonymous VMA, or the VMA just below the old break when that one
 * ends there and may absorb it; it shrinks by unmapping. A request the kernel refuses returns the
 * old break, never an errno: below the start, into another mapping (keeping one page, and the
 * stack guard gap below a stack, free above the new break), past TASK_SIZE, or over max_map_count.
 * <p>
 * The start is where exec put it (the end of the executable's bss); a fresh address space has
 * none until {@link AddressSpace#setBrk} is called, and brk(anything) returns 0 then — as the
 * kernel does for a process with start_brk 0 whose every request fails. Maps names
 * {@code [heap]} the anonymous VMAs overlapping {@code [startBrk, brk)} (vma_is_initial_heap).
 * <p>
 * A writer: it owns the range between the break and the request, and its growth's answer, a
 * refusal or a success, is read from the tree above that range (the next VMA and its stack guard
 * gap), so a MAP_FIXED in flight there is waited for first ({@link RangeLock#settledUnderLock}).
 * <p>
 * CONFIG_COMPAT_BRK's legacy lower limit (end_data instead of start_brk, for unrandomised
 * breaks) is not modelled: the two coincide for the ELF executables seen here.
 */
final class Brk
{
    static final String HEAP_NAME = "[heap]";

    private Brk()
    {
    }

    static long brk(final Cpu cpu, final long requested)
    {
        final AddressSpace mm = cpu.mm;
        final RangeLock lock = mm.rangeLock();
        // the break is read under the mmap lock: the span is between it and the request
        lock.acquire(cpu);
        try
        {
            long origBrk;
            do
            {
                do
                {
                    origBrk = mm.brk();
                }
                while (!lock.claim(cpu, Math.min(Mmap.pageAlign(requested), Mmap.pageAlign(origBrk)),
                    Math.max(Mmap.pageAlign(requested), Mmap.pageAlign(origBrk))));
            }
            // a growth's answer, refusal or success, is read from the tree above the span (the next
            // VMA and its stack guard gap): it must not be a MAP_FIXED in flight there
            while (!lock.settledUnderLock(cpu, Mmap.pageAlign(origBrk), roomEnd(requested, origBrk)));
            return locked(cpu, requested, origBrk);
        }
        finally
        {
            lock.release(cpu);
        }
    }

    /**
     * Where the tree a growth from {@code origBrk} to {@code requested} reads ends: mm/mmap.c's brk
     * looks for the next VMA below {@code newbrk + PAGE_SIZE + stack_guard_gap}; none for a shrink
     * (the region is then empty). An end that wraps means up to the top.
     */
    private static long roomEnd(final long requested, final long origBrk)
    {
        final long newBrk = Mmap.pageAlign(requested);
        final long oldBrk = Mmap.pageAlign(origBrk);
        return Long.compareUnsigned(newBrk, oldBrk) > 0 ? newBrk + 4096 + AddressSpace.STACK_GUARD_GAP : oldBrk;
    }

    /** Caller holds the mmap write lock and owns the range between the break and the request. */
    private static long locked(final Cpu cpu, final long brk, final long origBrk)
    {
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree() && mm.rangeLock().owns(cpu, Math.min(Mmap.pageAlign(brk), Mmap.pageAlign(origBrk)),
            Math.max(Mmap.pageAlign(brk), Mmap.pageAlign(origBrk)));
        if (Long.compareUnsigned(brk, mm.startBrk()) < 0 || mm.startBrk() == 0)
        {
            return origBrk;
        }
        final long newBrk = Mmap.pageAlign(brk);
        final long oldBrk = Mmap.pageAlign(origBrk);
        if (newBrk == oldBrk)
        {
            mm.setBrk(brk);
            return brk;
        }
        final VmaTree tree = mm.tree();
        if (Long.compareUnsigned(brk, origBrk) <= 0)
        {
            // always allow shrinking, but only of a heap that is there
            final Vma heap = tree.find(newBrk);
            if (heap == null || heap.start >= oldBrk)
            {
                return origBrk;
            }
            if (VmaEditor.unmap(cpu, newBrk, oldBrk) != 0)
            {
                return origBrk;
            }
            mm.setBrk(brk);
            return brk;
        }
        // check_brk_limits: the range must lie inside the user address space
        if (Errno.isError(UnmappedArea.find(tree, mm.taskSize(), oldBrk, newBrk - oldBrk, Mman.MAP_FIXED)))
        {
            return origBrk;
        }
        final Vma next = tree.find(oldBrk);
        if (next != null && newBrk + 4096 > UnmappedArea.startGap(next))
        {
            return origBrk;
        }
        if (tree.size() > AddressSpace.MAX_MAP_COUNT)
        {
            return origBrk;
        }
        // do_brk_flags: the heap's growth is committed first
        if (!mm.charge(cpu, (newBrk - oldBrk) >>> 12))
        {
            return origBrk;
        }
        // vma_prev_limit(start_brk): the VMA below the old break, if it reaches into the heap
        final Vma prev = tree.prev(tree.indexAfter(oldBrk));
        final Vma brkVma = prev != null && prev.end > mm.startBrk() ? prev : null;
        int flags = VmFlags.VM_READ | VmFlags.VM_WRITE | VmFlags.VM_MAYREAD | VmFlags.VM_MAYWRITE | VmFlags.VM_MAYEXEC |
            VmFlags.VM_ACCOUNT;
        if (mm.kernel().softDirty())
        {
            flags |= VmFlags.VM_SOFTDIRTY;
        }
        if (brkVma != null && brkVma.end == oldBrk)
        {
            VmaEditor.insert(cpu, oldBrk, newBrk, flags, oldBrk >>> 12, null, null, null, false);
        }
        else
        {
            // do_brk_flags merges only with the heap's own VMA, never with the bss below the start
            VmaEditor.insertDistinct(cpu, new Vma(oldBrk, newBrk, flags, oldBrk >>> 12, null, null, null), false);
        }
        mm.setBrk(brk);
        return brk;
    }
}
