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

    /**
     * A writer like any other: it claims {@code [address, vma.end)}, the gap it grows into and the
     * VMA it replaces, so a stack that a munmap or MAP_FIXED in flight holds (its placeholder or new
     * VMA) is waited for and looked up again, never grown over. Its answer, a growth or a refusal,
     * is read from the VMA above the address and any below it within the guard gap: a MAP_FIXED in
     * flight there is waited for first ({@link RangeLock#settledUnderLock}).
     *
     * @return whether the access should be retried (the VMA now covers {@code va}).
     */
    static boolean expand(final Cpu cpu, final long va)
    {
        final AddressSpace mm = cpu.mm;
        final RangeLock lock = mm.rangeLock();
        lock.acquire(cpu);
        try
        {
            while (true)
            {
                final int grown = grow(cpu, va);
                if (grown != LOOK_AGAIN)
                {
                    return grown == GROWN;
                }
            }
        }
        finally
        {
            lock.release(cpu);
        }
    }

    private static final int REFUSED = 0;
    private static final int GROWN = 1;
    private static final int LOOK_AGAIN = 2;

    /** Caller holds the mmap write lock and has changed nothing yet. */
    private static int grow(final Cpu cpu, final long va)
    {
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree();
        final long address = va & Mmap.PAGE_MASK;
        final VmaTree tree = mm.tree();
        final int i = tree.indexAfter(va);
        final Vma vma = tree.at(i);
        // the answer is read from the VMA above and the one below within the guard gap: not from a
        // MAP_FIXED in flight there, whose old pages may still be mapped
        final long gapStart = address - AddressSpace.STACK_GUARD_GAP;
        if (!mm.rangeLock().settledUnderLock(cpu, Long.compareUnsigned(gapStart, address) > 0 ? 0 : gapStart,
            vma == null ? mm.taskSize() : vma.end))
        {
            return LOOK_AGAIN;
        }
        if (vma == null)
        {
            return REFUSED;
        }
        if (vma.start <= address)
        {
            return GROWN;
        }
        if ((vma.flags & VmFlags.VM_GROWSDOWN) == 0 || address < AddressSpace.MMAP_MIN_ADDR)
        {
            return REFUSED;
        }
        final Vma prev = tree.prev(i);
        if (prev != null && (prev.flags & VmFlags.VM_GROWSDOWN) == 0 && prev.isAccessible() &&
            address - prev.end < AddressSpace.STACK_GUARD_GAP)
        {
            return REFUSED;
        }
        if (vma.end - address > AddressSpace.STACK_LIMIT)
        {
            return REFUSED;
        }
        if (!mm.rangeLock().claim(cpu, address, vma.end))
        {
            return LOOK_AGAIN;
        }
        // acct_stack_growth's last test: the growth is committed (unconditionally, as there; a
        // VMA without VM_ACCOUNT keeps no charge: it is given back with the span)
        if (!mm.charge(cpu, (vma.start - address) >>> 12))
        {
            return REFUSED;
        }
        // expand_downwards' anon_vma_prepare, under the mmap write lock (which also makes this
        // process a member of a new anon_vma's family, as a fault's does)
        Faults.prepareAnonVma(mm, vma);
        final Vma grown = vma.withRange(address, vma.end, vma.pgoff - ((vma.start - address) >>> 12), vma.anonVma());
        VmaEditor.replace(cpu, i, vma, grown);
        cpu.stats.stackGrowths++;
        return GROWN;
    }
}
