package io.mmemu.vm;

/**
 * Faulting a range in ahead of use: MAP_POPULATE, MAP_LOCKED and MADV_POPULATE_(READ|WRITE)
 * (mm/gup.c's __mm_populate / faultin_page_range, mm/madvise.c's madvise_populate). Private
 * writable VMAs are faulted for write, so their pages are real copies rather than the zero page;
 * shared ones for read.
 * <p>
 * <b>Writers are held off across the range</b>, as Linux's populate holds them off: it holds the
 * mmap lock for reading from its first VMA lookup to its return and lets go only where a fault
 * has to wait (VM_FAULT_RETRY: the fault drops the lock, {@code *locked = 0}, and the populate
 * takes it again and goes on from the page it was at). A fault on anonymous memory never waits,
 * so a populate of anonymous memory is one step to every writer: whole before it or whole after
 * it. Were the lock let go between faults, a writer could come between two pages (an mremap that
 * moves the mapping off the first page and onto the last, and a populate that finds both mapped,
 * where every order finds a hole: the checker's {@code populate-read-across-mremap.mm}).
 * <p>
 * <b>Both locking modes</b>, by one rule. Under the mmap read lock no writer can change the tree
 * (a change needs the write lock), but in per-VMA mode a writer may have dropped the mmap lock in
 * the middle of its operation (a sectioned munmap's or MAP_FIXED's zap, a move) while it still
 * owns its span, with the VMAs there write-locked ({@link RangeLock}'s invariant). Before it
 * faults anything the populate makes sure, under the lock, that no other writer owns any of what
 * is left of its range ({@link RangeLock#ownedByAnother}); if one does, it lets go of the lock,
 * waits for that writer offline ({@link RangeLock#settled}) and looks again. Spans are registered
 * only under the mmap write lock, so once the check passed none appears in the range while the
 * populate holds the read lock: every VMA there is unlocked and every hole final for as long as
 * the lock is held. So the populate's faults take no VMA lock (as a fault get_user_pages makes
 * under the mmap lock takes none: {@code Faults.handle} with {@code gup}), and never wait for a
 * writer while holding the lock that writer needs — no deadlock. A writer mid-operation elsewhere
 * (outside the range) goes on; it waits for the populate only when it takes the mmap lock again.
 * <p>
 * <b>Where the lock is let go</b>: besides waiting for such a writer before the walk (re)starts,
 * only when a fault found no frame: direct reclaim and the OOM killer run without the fault's locks
 * ({@link Faults#outOfMemory}; the OOM reaper takes its victim's whole range as a writer), after
 * which the populate takes the lock again and goes on from that page, as Linux's does after a
 * retry. Only there may a writer come between two of its faults.
 */
final class Populate
{
    private Populate()
    {
    }

    /**
     * Faults every page of {@code [start, end)}. With {@code strict} (madvise) an access that
     * fails stops the walk and is reported: {@code -EINVAL} for a VMA whose permissions do not
     * allow the access, {@code -ENOMEM} for a hole, {@code -EFAULT} for SIGBUS, {@code -EINTR}
     * when the OOM killer chose this process; without it (mmap) failures are ignored, as
     * mm_populate's result is. Caller holds no lock of the address space.
     *
     * @param write MADV_POPULATE_WRITE: fault for write regardless of the VMA kind.
     */
    static long range(final Cpu cpu, final long start, final long end, final boolean write)
    {
        return range(cpu, start, end, write, false);
    }

    static long range(final Cpu cpu, final long start, final long end, final boolean forceWrite, final boolean strict)
    {
        final RangeLock lock = cpu.mm.rangeLock();
        assert !lock.holdsShared() && !lock.holdsTree() : "a populate entered holding the mmap lock";
        long va = start;
        boolean held = false;
        try
        {
            while (va < end)
            {
                if (!held)
                {
                    lock.lockShared(cpu);
                    held = true;
                    if (lock.ownedByAnother(cpu, va, end))
                    {
                        // a writer is half-way through part of the range, holding its span without the
                        // mmap lock, and needs the lock to finish: wait for it without holding it
                        lock.unlockShared();
                        held = false;
                        lock.settled(cpu, va, end);
                        continue;
                    }
                }
                // from here to the next let-go, no writer changes anything in [va, end): the tree
                // read now stands, so a hole or a refusal answered from it is final
                final Vma vma = cpu.mm.tree().find(va);
                if (vma == null || vma.start >= end || vma.start > va)
                {
                    if (strict)
                    {
                        return -Errno.ENOMEM;
                    }
                    if (vma == null || vma.start >= end)
                    {
                        return 0;
                    }
                    // __mm_populate skips the holes
                    va = vma.start;
                    continue;
                }
                final boolean write = forceWrite ||
                    (!strict && (vma.flags & (VmFlags.VM_WRITE | VmFlags.VM_SHARED)) == VmFlags.VM_WRITE);
                final boolean allowed = strict ?
                    (vma.flags & (write ? VmFlags.VM_WRITE : VmFlags.VM_READ)) != 0 :
                    (write ? (vma.flags & VmFlags.VM_WRITE) != 0 : vma.isAccessible());
                final long last = Math.min(end, vma.end);
                if (!allowed)
                {
                    if (strict)
                    {
                        return -Errno.EINVAL;
                    }
                    va = last;
                    continue;
                }
                while (va < last)
                {
                    final int signal = cpu.faultIn(va, write);
                    if (signal == Signal.NONE)
                    {
                        va += 4096;
                        continue;
                    }
                    if (signal != Faults.GUP_NO_MEMORY)
                    {
                        // the VMA, unchanged since it was checked, allows the access: what remains is
                        // SIGBUS (past the end of a file, a huge leaf the handler cannot change) or a
                        // fatal signal pending (the OOM killer chose this process)
                        assert signal == Signal.BUS_ADRERR || signal == Signal.SIGKILL :
                            "a populate's fault at 0x" + Long.toHexString(va) + " refused by a VMA that allows it: " + signal;
                        return !strict ? 0 : signal == Signal.SIGKILL ? -Errno.EINTR : -Errno.EFAULT;
                    }
                    // no frame: reclaim and the OOM killer run without the mmap lock (the populate's
                    // retry point), then the walk goes on from this page under the lock taken again
                    lock.unlockShared();
                    held = false;
                    if (Faults.outOfMemory(cpu) != Signal.NONE)
                    {
                        return strict ? -Errno.EINTR : 0;
                    }
                    break;
                }
            }
            return 0;
        }
        finally
        {
            if (held)
            {
                lock.unlockShared();
            }
        }
    }
}
