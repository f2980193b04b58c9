package io.mmemu.vm;

import io.mmemu.pgtable.CopyRange;
import io.mmemu.pgtable.PageTableEditor;

/**
 * fork's copy of an address space (kernel/fork.c's dup_mmap): the child gets every VMA of the
 * parent but VM_DONTCOPY ones, with VM_LOCKED and VM_LOCKONFAULT dropped; a VM_WIPEONFORK VMA comes
 * back with no anon_vma and no pages (it reads as zeros); every other VMA with an anon_vma gets a
 * new one forked from it ({@link AnonVma#forked}) and its entries copied ({@link CopyRange}:
 * private writable pages write-protected and shared between both, copy on write); a VMA without
 * an anon_vma (shared mappings, untouched private ones) is left for the child's faults to fill
 * (vma_needs_copy). Files are shared, so shared mappings stay shared. The break and [vsyscall] come along.
 * <p>
 * Locking, as dup_mmap's mmap_write_lock and vma_start_write: the parent's writer owns the whole
 * user range through its {@link RangeLock} (writers in flight finish first, none starts), holds the
 * mmap write lock, and write-locks every VMA (faults in flight drain, new ones wait), so the copy is
 * one state of the parent; then its TLBs are flushed once (flush_tlb_mm), before anything unlocks.
 */
final class Fork
{
    private Fork()
    {
    }

    /**
     * Copies {@code cpu}'s address space into the empty {@code child}. Returns false when memory ran
     * out for the child's tables (fork's ENOMEM): the child is then empty again and every frame it
     * took is given back; the parent's pages may stay write-protected (their next write reuses them).
     * A 2 MiB leaf is copied whole (copy_huge_pmd), its deposit for the child included; a hugetlb
     * leaf (2 MiB or 1 GiB) whole, with no deposit (copy_hugetlb_page_range). Shared hugetlb VMAs,
     * like every VMA without an anon_vma, are not copied: the child's faults find the file's pages.
     */
    static boolean dupMmap(final Cpu cpu, final AddressSpace child)
    {
        final AddressSpace parent = cpu.mm;
        if (child == parent || child.memory() != parent.memory())
        {
            throw new IllegalArgumentException("a child address space needs its own tables in the parent's physical memory");
        }
        final Cpu into = child.attachCpu();
        try
        {
            final boolean copied = copy(cpu, child, into);
            if (!copied)
            {
                // mmput of the half-built child: everything it maps goes back
                into.munmap(0, child.taskSize());
            }
            return copied;
        }
        finally
        {
            into.close();
        }
    }

    /** The copy proper, {@code into} the child's CPU; false when memory ran out. */
    private static boolean copy(final Cpu cpu, final AddressSpace child, final Cpu into)
    {
        final AddressSpace parent = cpu.mm;
        final RangeLock lock = parent.rangeLock();
        if (child.paging() != parent.paging())
        {
            throw new IllegalArgumentException("a child address space has its parent's paging levels");
        }
        final long taskSize = parent.taskSize();
        lock.acquire(cpu, 0, taskSize);
        child.rangeLock().acquire(into, 0, taskSize);
        assert lock.holdsTree() && lock.owns(cpu, 0, taskSize) : "fork without the whole parent";
        final Vma[] vmas = parent.tree().toArray();
        final CopyRange copy = cpu.editor.copied();
        copy.reset();
        boolean copied = true;
        try
        {
            if (child.tree().size() != 0)
            {
                throw new IllegalStateException("fork into a non-empty address space");
            }
            for (final Vma vma : vmas)
            {
                lock.lockVma(cpu, vma);
            }
            if (parent.mappedHugeLeaves())
            {
                // before the copy: the child's VMA edits must look for the leaves it is given
                child.mappedHugeLeaf();
            }
            for (final Vma vma : vmas)
            {
                if ((vma.flags & VmFlags.VM_DONTCOPY) != 0)
                {
                    continue;
                }
                final AnonVma anon = (vma.flags & VmFlags.VM_WIPEONFORK) != 0 || vma.anonVma() == null ? null :
                    new AnonVma(vma.anonVma());
                if (anon != null)
                {
                    // anon_vma_fork links the child before copy_page_range: an rmap walk that starts
                    // after an entry is copied finds the child
                    anon.addMember(child);
                }
                VmaEditor.insertDistinct(into, new Vma(vma.start, vma.end,
                    vma.flags & ~(VmFlags.VM_LOCKED | VmFlags.VM_LOCKONFAULT), vma.pgoff, vma.file, vma.name, anon), false);
                if (anon != null && cpu.editor.copy(parent.cr3(), child.cr3(), vma.start, vma.end, isCow(vma.flags)) != PageTableEditor.OK)
                {
                    copied = false;
                    break;
                }
            }
            if (copied)
            {
                child.setBrk(parent.startBrk(), parent.brk());
                child.showVsyscall(parent.showsVsyscall());
                cpu.stats.forks++;
                cpu.stats.forkSharedPages += copy.shared();
            }
        }
        finally
        {
            if (copy.writeProtected() > 0)
            {
                assert cpu.editor.holdsNoLock() : "a shootdown with a PT lock held";
                // flush_tlb_mm: no CPU of the parent may keep writing through a writable translation
                cpu.shootdown(0, taskSize);
            }
            if (parent.perVma())
            {
                for (final Vma vma : vmas)
                {
                    if (vma.isLocked())
                    {
                        lock.unlockVma(cpu, vma);
                    }
                }
            }
            child.rangeLock().release(into);
            lock.release(cpu);
        }
        return copied;
    }

    /** is_cow_mapping: private and may be written, so a write must not reach the other process. */
    private static boolean isCow(final int flags)
    {
        return (flags & (VmFlags.VM_SHARED | VmFlags.VM_MAYWRITE)) == VmFlags.VM_MAYWRITE;
    }
}
