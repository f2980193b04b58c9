package io.mmemu.vm;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_FIXED_NOREPLACE;
import static io.mmemu.vm.Mman.MAP_GROWSDOWN;
import static io.mmemu.vm.Mman.MAP_HUGETLB;
import static io.mmemu.vm.Mman.MAP_LOCKED;
import static io.mmemu.vm.Mman.MAP_NONBLOCK;
import static io.mmemu.vm.Mman.MAP_NORESERVE;
import static io.mmemu.vm.Mman.MAP_POPULATE;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MAP_SHARED;
import static io.mmemu.vm.Mman.MAP_SHARED_VALIDATE;
import static io.mmemu.vm.Mman.MAP_STACK;
import static io.mmemu.vm.Mman.MAP_SYNC;
import static io.mmemu.vm.Mman.MAP_TYPE;

/**
 * mmap and munmap of anonymous memory with the kernel's checks in the kernel's order
 * (arch/x86/kernel/sys_x86_64.c, mm/mmap.c's do_mmap, mm/vma.c's mmap_region and
 * do_vmi_munmap), and MAP_POPULATE.
 */
final class Mmap
{
    static final long PAGE_MASK = ~4095L;

    private Mmap()
    {
    }

    static long pageAlign(final long len)
    {
        return (len + 4095) & PAGE_MASK;
    }

    /** calc_vm_prot_bits. */
    static int protBits(final int prot)
    {
        return ((prot & Mman.PROT_READ) != 0 ? VmFlags.VM_READ : 0) |
            ((prot & Mman.PROT_WRITE) != 0 ? VmFlags.VM_WRITE : 0) |
            ((prot & Mman.PROT_EXEC) != 0 ? VmFlags.VM_EXEC : 0);
    }

    static long mmap(final Cpu cpu, final long addr, final long length, final int prot, final int flags, final int fd,
        final long offset)
    {
        if ((offset & ~PAGE_MASK) != 0)
        {
            return -Errno.EINVAL;
        }
        if ((flags & MAP_ANONYMOUS) == 0)
        {
            return -Errno.EBADF;
        }
        if ((flags & MAP_HUGETLB) != 0)
        {
            // no hugetlb pages are reserved on the emulated machine (nr_hugepages = 0)
            return -Errno.ENOMEM;
        }
        final AddressSpace mm = cpu.mm;
        final boolean fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0;
        final long span = pageAlign(length);
        if (fixed)
        {
            mm.lockWrite(cpu, addr - 4096, addr + span + 4096);
        }
        else
        {
            mm.lockWrite(cpu);
        }
        final long result;
        final boolean populate;
        final Replacement replacement = new Replacement();
        try
        {
            result = doMmap(cpu, addr, length, prot, flags, offset >>> 12, replacement);
            populate = result >= 0 && ((flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE || (flags & MAP_LOCKED) != 0);
        }
        finally
        {
            mm.unlockWrite(cpu);
        }
        if (replacement.vma != null)
        {
            // per-VMA MAP_FIXED: the new VMA was published locked; zap what it replaced, section by
            // section without the mmap lock, then let the faults waiting on it in
            zapSections(cpu, replacement.start, replacement.end);
            mm.unlock(cpu, replacement.vma);
        }
        if (populate)
        {
            Populate.range(cpu, result, result + pageAlign(length), false);
        }
        return result;
    }

    /** do_mmap for anonymous memory; caller holds the mmap write lock. */
    private static long doMmap(final Cpu cpu, final long addr0, final long length, final int prot, final int flags0,
        final long pgoff0, final Replacement replacement)
    {
        final AddressSpace mm = cpu.mm;
        if (length == 0)
        {
            return -Errno.EINVAL;
        }
        int flags = flags0;
        if ((flags & MAP_FIXED_NOREPLACE) != 0)
        {
            flags |= MAP_FIXED;
        }
        long addr = addr0;
        if ((flags & MAP_FIXED) == 0)
        {
            // round_hint_to_min
            addr &= PAGE_MASK;
            if (addr != 0 && addr < AddressSpace.MMAP_MIN_ADDR)
            {
                addr = pageAlign(AddressSpace.MMAP_MIN_ADDR);
            }
        }
        final long len = pageAlign(length);
        if (len == 0)
        {
            return -Errno.ENOMEM;
        }
        if (pgoff0 + (len >>> 12) < pgoff0)
        {
            return -Errno.EOVERFLOW;
        }
        if (mm.tree().size() > AddressSpace.MAX_MAP_COUNT)
        {
            return -Errno.ENOMEM;
        }
        final int type = flags & MAP_TYPE;
        addr = UnmappedArea.find(mm.tree(), addr, len, type == MAP_SHARED || type == MAP_SHARED_VALIDATE ? flags | MAP_SHARED : flags);
        if (Errno.isError(addr))
        {
            return addr;
        }
        if ((flags & MAP_FIXED_NOREPLACE) != 0)
        {
            final Vma clash = mm.tree().find(addr);
            if (clash != null && clash.start < addr + len)
            {
                return -Errno.EEXIST;
            }
        }
        int vmFlags = protBits(prot) | VmFlags.VM_MAYREAD | VmFlags.VM_MAYWRITE | VmFlags.VM_MAYEXEC;
        if ((flags & MAP_GROWSDOWN) != 0)
        {
            vmFlags |= VmFlags.VM_GROWSDOWN;
        }
        if ((flags & MAP_LOCKED) != 0)
        {
            vmFlags |= VmFlags.VM_LOCKED;
        }
        if ((flags & MAP_SYNC) != 0)
        {
            vmFlags |= VmFlags.VM_SYNC;
        }
        if ((flags & MAP_STACK) != 0)
        {
            vmFlags |= VmFlags.VM_NOHUGEPAGE;
        }
        final long pgoff;
        final boolean shared;
        switch (type)
        {
            case MAP_SHARED ->
            {
                if ((vmFlags & VmFlags.VM_GROWSDOWN) != 0)
                {
                    return -Errno.EINVAL;
                }
                pgoff = 0;
                shared = true;
                vmFlags |= VmFlags.VM_SHARED | VmFlags.VM_MAYSHARE;
            }
            case MAP_PRIVATE ->
            {
                pgoff = addr >>> 12;
                shared = false;
            }
            default ->
            {
                return -Errno.EINVAL;
            }
        }
        if ((flags & MAP_NORESERVE) != 0)
        {
            vmFlags |= VmFlags.VM_NORESERVE;
        }
        return mmapRegion(cpu, addr, len, vmFlags, pgoff, shared, replacement);
    }

    /** mmap_region: unmap what MAP_FIXED covers, account, merge or insert. */
    static long mmapRegion(final Cpu cpu, final long addr, final long len, final int flags, final long pgoff,
        final boolean shared, final Replacement replacement)
    {
        final AddressSpace mm = cpu.mm;
        final Vma overlapped = mm.tree().find(addr);
        final boolean replacing = overlapped != null && overlapped.start < addr + len;
        final boolean deferZap = replacing && mm.perVma();
        final int unmapped = deferZap ? VmaEditor.detach(cpu, addr, addr + len, true) : VmaEditor.unmap(cpu, addr, addr + len);
        if (unmapped != 0)
        {
            return unmapped;
        }
        int vmFlags = flags;
        if ((vmFlags & (VmFlags.VM_NORESERVE | VmFlags.VM_SHARED | VmFlags.VM_WRITE)) == VmFlags.VM_WRITE)
        {
            vmFlags |= VmFlags.VM_ACCOUNT;
        }
        if (cpu.mm.kernel().softDirty())
        {
            vmFlags |= VmFlags.VM_SOFTDIRTY;
        }
        final Vma vma;
        if (shared)
        {
            // shmem_zero_setup: a new shmem file per mapping, so it never merges with a neighbour
            vma = VmaEditor.insertDistinct(cpu, new Vma(addr, addr + len, vmFlags, pgoff,
                new SharedMemory(len >>> 12), null, null), deferZap);
        }
        else
        {
            vma = VmaEditor.insert(cpu, addr, addr + len, vmFlags, pgoff, null, null, null, deferZap);
        }
        if (deferZap)
        {
            replacement.vma = vma;
            replacement.start = addr;
            replacement.end = addr + len;
        }
        return addr;
    }

    /** A MAP_FIXED replacement whose old pages still have to be zapped (per-VMA mode). */
    static final class Replacement
    {
        Vma vma;
        long start;
        long end;
    }

    /**
     * Zaps {@code [start, end)} one section at a time, flushing after each, so that no PTE lock or
     * gather is held for longer than a section takes; the caller holds no mmap lock.
     */
    static void zapSections(final Cpu cpu, final long start, final long end)
    {
        final long section = cpu.mm.section();
        for (long from = start; from < end; )
        {
            final long to = end - from > section ? from + section : end;
            VmaEditor.zap(cpu, from, to);
            from = to;
        }
    }

    static long munmap(final Cpu cpu, final long start, final long length)
    {
        if ((start & ~PAGE_MASK) != 0 || Long.compareUnsigned(start, AddressSpace.TASK_SIZE) > 0 ||
            Long.compareUnsigned(length, AddressSpace.TASK_SIZE - start) > 0)
        {
            return -Errno.EINVAL;
        }
        final long len = pageAlign(length);
        if (len == 0)
        {
            return -Errno.EINVAL;
        }
        final AddressSpace mm = cpu.mm;
        final long end = start + len;
        mm.lockWrite(cpu, start, end);
        if (!mm.perVma())
        {
            try
            {
                return VmaEditor.unmap(cpu, start, end);
            }
            finally
            {
                mm.unlockWrite(cpu);
            }
        }
        // the seed's sectioned munmap: lock the range's VMAs (placeholders born locked keep the
        // range occupied and make faults wait), zap without the mmap lock, then remove them
        final int detached;
        try
        {
            detached = VmaEditor.detach(cpu, start, end, true);
        }
        finally
        {
            mm.unlockWrite(cpu);
        }
        if (detached != 0)
        {
            return detached;
        }
        // the placeholders are ours until removed: no other writer changes them, so walking the
        // tree for them without the mmap lock sees a stable list
        for (Vma vma = mm.tree().find(start); vma != null && vma.start < end; vma = mm.tree().find(vma.end))
        {
            zapSections(cpu, vma.start, vma.end);
        }
        for (Vma vma = mm.tree().find(start); vma != null && vma.start < end; vma = mm.tree().find(vma.end))
        {
            VmaEditor.freeTablesInSections(cpu, vma, start, end);
        }
        mm.lockWrite(cpu);
        try
        {
            VmaEditor.removePlaceholders(cpu, start, end);
        }
        finally
        {
            mm.unlockWrite(cpu);
        }
        return 0;
    }
}
