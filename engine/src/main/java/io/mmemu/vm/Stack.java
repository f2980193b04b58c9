package io.mmemu.vm;

/**
 * Growing a VM_GROWSDOWN VMA down to a faulting address (mm/mmap.c's expand_downwards): allowed
 * when the new size stays within RLIMIT_STACK, the address is not below mmap_min_addr, and an
 * accessible non-stack VMA below keeps {@link AddressSpace#STACK_GUARD_GAP} of distance.
 */
final class Stack
{
    private Stack()
    {
    }

    /** @return whether the access should be retried (the VMA now covers {@code va}). */
    static boolean expand(final Cpu cpu, final long va)
    {
        final AddressSpace mm = cpu.mm;
        mm.lockWrite(cpu);
        try
        {
            final long address = va & Mmap.PAGE_MASK;
            final VmaTree tree = mm.tree();
            final int i = tree.indexAfter(va);
            final Vma vma = tree.at(i);
            if (vma == null)
            {
                return false;
            }
            if (vma.start <= address)
            {
                return true;
            }
            if ((vma.flags & VmFlags.VM_GROWSDOWN) == 0 || address < AddressSpace.MMAP_MIN_ADDR)
            {
                return false;
            }
            final Vma prev = tree.prev(i);
            if (prev != null && (prev.flags & VmFlags.VM_GROWSDOWN) == 0 && prev.isAccessible() &&
                address - prev.end < AddressSpace.STACK_GUARD_GAP)
            {
                return false;
            }
            if (vma.end - address > AddressSpace.STACK_LIMIT)
            {
                return false;
            }
            AnonVma anon = vma.anonVma();
            if (anon == null)
            {
                final AnonVma adopted = VmaEditor.findMergeableAnonVma(mm, vma);
                anon = vma.assignAnonVma(adopted != null ? adopted : new AnonVma());
            }
            final Vma grown = vma.withRange(address, vma.end, vma.pgoff - ((vma.start - address) >>> 12), anon);
            VmaEditor.replace(cpu, i, vma, grown);
            return true;
        }
        finally
        {
            mm.unlockWrite(cpu);
        }
    }
}
