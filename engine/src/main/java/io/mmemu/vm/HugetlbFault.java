package io.mmemu.vm;

import io.mmemu.pgtable.HugetlbLeaf;
import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.PhysicalMemory;

import org.agrona.concurrent.IdleStrategy;

import static io.mmemu.pgtable.PageTableEntry.ACCESSED;
import static io.mmemu.pgtable.PageTableEntry.WRITABLE;
import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * The fault of a hugetlb VMA (mm/hugetlb.c's hugetlb_fault): one leaf maps the whole huge page,
 * a PMD leaf for 2 MiB, a PUD leaf for 1 GiB.
 * <ul>
 *   <li>an empty entry (hugetlb_no_page): a shared mapping maps its file's page at that index,
 *       put in the file's cache from the pool at first touch; a private one a fresh pool page,
 *       writable and dirty for a write and read-only for a read (a later write reuses it), as
 *       Linux maps a private page writable only through hugetlb_wp. No page in the pool: SIGBUS.</li>
 *   <li>a write to a write-protected leaf (hugetlb_wp): a shared mapping's becomes writable; a
 *       private page this leaf holds alone is reused; one fork shared is copied into a page from
 *       the pool (SIGBUS when there is none: Linux would take it from the children that share the
 *       page, which mmemu does not model), the old one released after the flush.</li>
 * </ul>
 * Faults at one index of one file are serialised ({@link HugetlbFile#beginFault}, Linux's
 * hugetlb_fault_mutex): the second waits, answering shootdowns, and retries the access. The
 * caller holds the VMA (its read lock, or the mmap lock). Allocation-free; no exceptions.
 */
final class HugetlbFault
{
    private HugetlbFault()
    {
    }

    static int fault(final Cpu cpu, final Vma vma, final long va, final boolean write)
    {
        final HugetlbFile file = Hugetlb.of(vma);
        if (file == null)
        {
            return Signal.BUS_ADRERR;
        }
        final long haddr = va & -file.pageSize;
        final long index = file.index(vma, haddr);
        if (!file.beginFault(index))
        {
            final IdleStrategy idle = cpu.idle();
            idle.reset();
            while (file.faulting(index))
            {
                cpu.pollWhileWaiting();
                idle.idle();
            }
            cpu.stats.faultRetries++;
            return Signal.NONE;
        }
        try
        {
            return locked(cpu, vma, file, haddr, index, write);
        }
        finally
        {
            file.endFault(index);
        }
    }

    private static int locked(final Cpu cpu, final Vma vma, final HugetlbFile file, final long haddr, final long index,
        final boolean write)
    {
        final AddressSpace mm = cpu.mm;
        final PageWalker walker = cpu.walker;
        final int status = walker.walkAllocTo(mm.cr3(), haddr, file.level);
        if (status == PageWalker.WALK_NO_MEMORY)
        {
            return Faults.NO_MEMORY;
        }
        if (status == PageWalker.WALK_LARGE && walker.level() == file.level)
        {
            return present(cpu, vma, file, haddr, index, walker.slot(), walker.entry(), write);
        }
        if (status != PageWalker.WALK_ENTRY || walker.entry() != 0L)
        {
            // a table, or a leaf of another size, where this VMA's leaf goes: the tables are not
            // what any sequence of syscalls leaves; as for malformed tables, SIGBUS
            return Signal.BUS_ADRERR;
        }
        final long slot = walker.slot();
        final PhysicalMemory memory = cpu.memory;
        final long prot = PageProtection.of(vma.flags);
        final long head;
        final long bits;
        if (file.shared)
        {
            head = file.mapShared(memory, index);
            // make_huge_pte: a shared writable mapping's leaf is writable and dirty
            bits = (vma.flags & VmFlags.VM_WRITE) != 0 ? prot | WRITABLE | Faults.dirty(cpu) : prot;
        }
        else
        {
            if (!Faults.prepareAnonVma(mm, vma))
            {
                return Faults.RETRY;
            }
            head = file.allocatePrivate(mm, index);
            bits = write ? prot | WRITABLE | Faults.dirty(cpu) : prot;
        }
        if (head == NO_FRAME)
        {
            return Signal.BUS_ADRERR;
        }
        if (cpu.editor.hugetlb().install(slot, PageTableEntry.largeLeaf(head << 12, bits)) != PageTableEditor.OK)
        {
            // faults at this index are serialised and the VMA is held: nobody else fills the entry
            throw new IllegalStateException("hugetlb entry for 0x" + Long.toHexString(haddr) + " filled under its fault");
        }
        return Signal.NONE;
    }

    /** The leaf {@code e} at {@code slot} is there: an MMU's race (retry), or hugetlb_wp. */
    private static int present(final Cpu cpu, final Vma vma, final HugetlbFile file, final long haddr, final long index,
        final long slot, final long e, final boolean write)
    {
        assert !PageTableEntry.isMoving(e) : Faults.MET_FROZEN;
        if (!write || !PageTableEntry.isPresent(e) || PageTableEntry.isWritable(e))
        {
            // installed since the MMU's walk: the access retries through it
            return Signal.NONE;
        }
        final PhysicalMemory memory = cpu.memory;
        final HugetlbLeaf leaves = cpu.editor.hugetlb();
        final long upgraded = e | WRITABLE | ACCESSED | Faults.dirty(cpu);
        final long old = PageTableEntry.leafAddress(e, file.level) >>> 12;
        if (file.shared || memory.isAnonExclusive(old))
        {
            leaves.replace(slot, e, upgraded);
            return Signal.NONE;
        }
        final long frames = file.pageSize >>> 12;
        if (memory.refcount(old) == 1 && memory.mapcount(old) == 1)
        {
            // every other mapping fork made is gone, and none can appear while this VMA is held
            if (leaves.replace(slot, e, upgraded))
            {
                for (long pfn = old; pfn < old + frames; pfn++)
                {
                    memory.markAnonExclusive(pfn);
                }
                cpu.stats.cowReuses++;
            }
            return Signal.NONE;
        }
        final long copy = file.allocatePrivate(cpu.mm, index);
        if (copy == NO_FRAME)
        {
            return Signal.BUS_ADRERR;
        }
        // the old page is shared, so read-only everywhere: nobody writes it while it is copied
        memory.copyWrittenFrames(old, copy, frames);
        final long leaf = PageTableEntry.largeLeaf(copy << 12, PageProtection.of(vma.flags) | WRITABLE | Faults.dirty(cpu));
        if (!leaves.replace(slot, e, leaf))
        {
            // an MMU set A or D meanwhile: the copy goes back, the access retries
            for (long pfn = copy; pfn < copy + frames; pfn++)
            {
                memory.unmapData(pfn);
            }
            memory.releaseHugeData(cpu.cache, copy, false);
            return Signal.NONE;
        }
        cpu.stats.cowBreaks++;
        assert cpu.editor.holdsNoLock() : "a shootdown with a PT lock held";
        // huge_ptep_clear_flush: other CPUs may still read the old page through stale entries
        for (long pfn = old; pfn < old + frames; pfn++)
        {
            memory.unmapData(pfn);
        }
        cpu.shootdown(haddr, haddr + file.pageSize);
        memory.releaseHugeData(cpu.cache, old, false);
        return Signal.NONE;
    }
}
