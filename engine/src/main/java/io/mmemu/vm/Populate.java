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
            final Vma vma = cpu.mm.tree().find(va);
            if (vma == null || vma.start >= end)
            {
                return strict ? -Errno.ENOMEM : 0;
            }
            if (vma.start > va)
            {
                if (strict)
                {
                    return -Errno.ENOMEM;
                }
                va = vma.start;
            }
            final boolean write = forceWrite ||
                (!strict && (vma.flags & (VmFlags.VM_WRITE | VmFlags.VM_SHARED)) == VmFlags.VM_WRITE);
            final boolean allowed = strict ?
                (vma.flags & (write ? VmFlags.VM_WRITE : VmFlags.VM_READ)) != 0 :
                (write ? (vma.flags & VmFlags.VM_WRITE) != 0 : vma.isAccessible());
            if (!allowed)
            {
                if (strict)
                {
                    return -Errno.EINVAL;
                }
                va = vma.end;
                continue;
            }
            final long last = Math.min(end, vma.end);
            for (; va < last; va += 4096)
            {
                final int signal = write ? cpu.touchForWrite(va) : cpu.readByte(va);
                if (signal != Signal.NONE)
                {
                    if (strict)
                    {
                        // the VMA checked above may have changed since (populate holds no lock across
                        // the range, as madvise_populate drops mmap_lock between faults): the access's
                        // signal says what the range is now, and the errno is what a populate started
                        // after the change returns at this page — permissions EINVAL, a hole ENOMEM
                        return switch (signal)
                        {
                            case Signal.BUS_ADRERR -> -Errno.EFAULT;
                            case Signal.SEGV_ACCERR -> -Errno.EINVAL;
                            default -> -Errno.ENOMEM;
                        };
                    }
                    return 0;
                }
            }
        }
        return 0;
    }
}
