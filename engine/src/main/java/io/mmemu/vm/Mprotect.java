package io.mmemu.vm;

import io.mmemu.pgtable.MmuGather;
import io.mmemu.pgtable.PageTableEntry;

/**
 * mprotect with mm/mprotect.c's checks and progressive application: VMAs are changed one after
 * another, so a hole met on the way leaves the earlier part changed and returns ENOMEM, as Linux
 * does. PTEs follow the new protection; private anonymous pages are made writable again only
 * when they are exclusive (not the zero page), shared ones directly.
 */
final class Mprotect
{
    private static final int VALID_PROT = Mman.PROT_READ | Mman.PROT_WRITE | Mman.PROT_EXEC | Mman.PROT_SEM;

    private Mprotect()
    {
    }

    static long mprotect(final Cpu cpu, final long start0, final long length, final int prot0)
    {
        final int grows = prot0 & (Mman.PROT_GROWSDOWN | Mman.PROT_GROWSUP);
        final int prot = prot0 & ~(Mman.PROT_GROWSDOWN | Mman.PROT_GROWSUP);
        if (grows == (Mman.PROT_GROWSDOWN | Mman.PROT_GROWSUP))
        {
            return -Errno.EINVAL;
        }
        if ((start0 & ~Mmap.PAGE_MASK) != 0)
        {
            return -Errno.EINVAL;
        }
        if (length == 0)
        {
            return 0;
        }
        final long len = Mmap.pageAlign(length);
        final long end = start0 + len;
        if (Long.compareUnsigned(end, start0) <= 0)
        {
            return -Errno.ENOMEM;
        }
        if ((prot & ~VALID_PROT) != 0)
        {
            return -Errno.EINVAL;
        }
        final RangeLock lock = cpu.mm.rangeLock();
        lock.acquire(cpu, start0, end);
        try
        {
            long result;
            do
            {
                result = apply(cpu, start0, end, prot, grows);
            }
            while (result == LOOK_AGAIN);
            return result;
        }
        finally
        {
            lock.release(cpu);
        }
    }

    /** What {@link #apply} returns when PROT_GROWSDOWN's range met another writer's span: it waited, and must look again. */
    private static final long LOOK_AGAIN = Long.MIN_VALUE;

    /** Caller holds the mmap write lock and owns {@code [start0, end)}; PROT_GROWSDOWN claims down to the VMA's start. */
    private static long apply(final Cpu cpu, final long start0, final long end, final int prot, final int grows)
    {
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree() && mm.rangeLock().owns(cpu, start0, end);
        Vma vma = mm.tree().find(start0);
        if (vma == null || vma.start >= end)
        {
            return -Errno.ENOMEM;
        }
        long start = start0;
        if ((grows & Mman.PROT_GROWSDOWN) != 0)
        {
            start = vma.start;
            if ((vma.flags & VmFlags.VM_GROWSDOWN) == 0)
            {
                return -Errno.EINVAL;
            }
            if (start < start0 && !mm.rangeLock().claim(cpu, start, start0))
            {
                return LOOK_AGAIN;
            }
        }
        else if ((grows & Mman.PROT_GROWSUP) != 0)
        {
            // x86 has no VM_GROWSUP VMAs
            return -Errno.EINVAL;
        }
        else if (vma.start > start)
        {
            return -Errno.ENOMEM;
        }
        long tmp = vma.start;
        long nstart = start;
        while (true)
        {
            if (vma.start != tmp)
            {
                return -Errno.ENOMEM;
            }
            int newFlags = Mmap.protBits(prot) | (vma.flags & ~VmFlags.VM_ACCESS_FLAGS);
            // the VM_MAY* bits sit four above their VM_* bits
            if (((newFlags & ~(newFlags >>> 4)) & VmFlags.VM_ACCESS_FLAGS) != 0)
            {
                return -Errno.EACCES;
            }
            tmp = Math.min(vma.end, end);
            final long result = fixup(cpu, vma, nstart, tmp, newFlags);
            if (result < 0)
            {
                return result;
            }
            // vma_iter_end: a merge may have carried the range's VMA further
            tmp = Math.max(tmp, result);
            nstart = tmp;
            if (nstart >= end)
            {
                return 0;
            }
            vma = mm.tree().find(nstart);
            if (vma == null || vma.start >= end)
            {
                return -Errno.ENOMEM;
            }
        }
    }

    /** mprotect_fixup; returns the end of the VMA now covering the range, or {@code -errno}. */
    private static long fixup(final Cpu cpu, final Vma vma, final long start, final long end, final int flags)
    {
        int newFlags = flags;
        if (newFlags == vma.flags)
        {
            return vma.end;
        }
        if (Hugetlb.cutsHugePage(cpu.mm.tree(), start, end))
        {
            // hugetlb_vm_op_split: a hugetlb VMA is never split off its page size
            return -Errno.EINVAL;
        }
        if ((newFlags & VmFlags.VM_WRITE) != 0 &&
            (vma.flags & (VmFlags.VM_ACCOUNT | VmFlags.VM_WRITE | VmFlags.VM_HUGETLB | VmFlags.VM_SHARED |
                VmFlags.VM_NORESERVE)) == 0)
        {
            // a private mapping becoming writable commits its pages; on a failure below the
            // charge goes back when the span is released (vm_unacct_memory(charged))
            if (!cpu.mm.charge(cpu, (end - start) >>> 12))
            {
                return -Errno.ENOMEM;
            }
            newFlags |= VmFlags.VM_ACCOUNT;
        }
        else if ((newFlags & VmFlags.VM_WRITE) == 0 && (vma.flags & VmFlags.VM_ACCOUNT) != 0 &&
            vma.isAnonymous() && vma.anonVma() == null)
        {
            // the commit can be given back only while no anonymous page was ever instantiated
            newFlags &= ~VmFlags.VM_ACCOUNT;
        }
        final Vma changed = VmaEditor.modifyFlags(cpu, vma, start, end, newFlags);
        if (changed == null)
        {
            return -Errno.ENOMEM;
        }
        changePtes(cpu, start, end, newFlags);
        return changed.end;
    }

    /**
     * change_protection over {@code [start, end)} for a VMA whose flags are now {@code flags}. In a
     * private mapping only exclusive anonymous pages (a private file mapping's own copies, pages
     * fork does not share) may become writable; page-cache pages and shared pages must keep faulting
     * so that a write copies them (can_change_pte_writable).
     * <p>
     * The VMA's new flags are in the tree, unlocked, before this runs; a per-VMA fault refused by
     * them waits until no writer owns its address ({@code Faults.perVma}) — so the caller still owns
     * {@code [start, end)} (and holds the mmap write lock, which mmap-lock mode's faults wait for),
     * and lets go only after the flush below: a refusal is never seen before the translations that
     * the old protection allowed are gone.
     */
    static void changePtes(final Cpu cpu, final long start, final long end, final int flags)
    {
        assert cpu.mm.rangeLock().holdsTree() && cpu.mm.rangeLock().owns(cpu, start, end) :
            "a protection change outside the writer's span: a fault refused by the new flags would not wait for it";
        final boolean shared = (flags & VmFlags.VM_SHARED) != 0;
        long protection = PageProtection.of(flags);
        if (!shared && (flags & VmFlags.VM_WRITE) != 0)
        {
            // can_change_pte_writable: exclusive anonymous pages need no write fault
            protection |= PageTableEntry.WRITABLE;
        }
        final MmuGather tlb = cpu.gather;
        tlb.begin(cpu.shootdown);
        cpu.editor.changeProtection(cpu.mm.cr3(), start, end, protection, !shared, tlb);
        tlb.finish();
    }
}
