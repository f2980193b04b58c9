package io.mmemu.vm;

/**
 * Faulting a range in ahead of use: MAP_POPULATE, MAP_LOCKED and MADV_POPULATE_(READ|WRITE)
 * (mm/gup.c's populate_vma_page_range / faultin_page_range). Private writable VMAs are faulted
 * for write, so their pages are real copies rather than the zero page; shared ones for read.
 */
final class Populate
{
    private Populate()
    {
    }

    /**
     * Faults every page of {@code [start, end)}. With {@code strict} (madvise) an access that
     * fails stops the walk and is reported: {@code -EINVAL} for a VMA whose permissions do not
     * allow the access, {@code -ENOMEM} for a hole, {@code -EFAULT} for SIGBUS; without it
     * (mmap) failures are ignored, as mm_populate's result is.
     *
     * @param write MADV_POPULATE_WRITE: fault for write regardless of the VMA kind.
     */
    static long range(final Cpu cpu, final long start, final long end, final boolean write)
    {
        return range(cpu, start, end, write, false);
    }

    static long range(final Cpu cpu, final long start, final long end, final boolean forceWrite, final boolean strict)
    {
        long va = start;
        while (va < end)
        {
            final VmaTree tree = cpu.mm.tree();
            final Vma vma = tree.find(va);
            final long refused;
            if (vma == null || vma.start >= end || vma.start > va)
            {
                if (!strict)
                {
                    if (vma == null || vma.start >= end)
                    {
                        return 0;
                    }
                    va = vma.start;
                    continue;
                }
                refused = -Errno.ENOMEM;
            }
            else
            {
                final boolean write = forceWrite ||
                    (!strict && (vma.flags & (VmFlags.VM_WRITE | VmFlags.VM_SHARED)) == VmFlags.VM_WRITE);
                final boolean allowed = strict ?
                    (vma.flags & (write ? VmFlags.VM_WRITE : VmFlags.VM_READ)) != 0 :
                    (write ? (vma.flags & VmFlags.VM_WRITE) != 0 : vma.isAccessible());
                if (allowed)
                {
                    final int signal = faultIn(cpu, va, Math.min(end, vma.end), write);
                    if (signal == Signal.NONE)
                    {
                        va = Math.min(end, vma.end);
                        continue;
                    }
                    if (!strict)
                    {
                        return 0;
                    }
                    // the VMA checked above may have changed since (populate holds no lock across
                    // the range, as madvise_populate drops mmap_lock between faults): the fault's
                    // signal says what the range is now, and the errno is what a populate started
                    // after the change returns at this page — permissions EINVAL, a hole ENOMEM
                    // (a process the OOM killer chose has a fatal signal pending: EINTR)
                    return signal == Signal.SIGKILL ? -Errno.EINTR : signal == Signal.BUS_ADRERR ? -Errno.EFAULT :
                        signal == Signal.SEGV_ACCERR ? -Errno.EINVAL : -Errno.ENOMEM;
                }
                if (!strict)
                {
                    va = vma.end;
                    continue;
                }
                refused = -Errno.EINVAL;
            }
            // an answer read from the tree alone: final only if no writer is half-way through the
            // range there (RangeLock.settled), else look again once it is done
            if (cpu.mm.rangeLock().settled(cpu, va) && cpu.mm.tree() == tree)
            {
                return refused;
            }
        }
        return 0;
    }

    /** Faults {@code [va, last)} page by page; the first access's signal, or {@link Signal#NONE}. */
    private static int faultIn(final Cpu cpu, final long va, final long last, final boolean write)
    {
        for (long at = va; at < last; at += 4096)
        {
            final int signal = cpu.faultIn(at, write);
            if (signal != Signal.NONE)
            {
                return signal;
            }
        }
        return Signal.NONE;
    }
}
