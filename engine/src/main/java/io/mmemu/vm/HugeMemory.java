package io.mmemu.vm;

import io.mmemu.pgtable.HugePmd;
import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.pgtable.PageTableEntry.ACCESSED;
import static io.mmemu.pgtable.PageTableEntry.SPECIAL;
import static io.mmemu.pgtable.PageTableEntry.WRITABLE;
import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * Transparent huge pages for private anonymous memory, as mm/huge_memory.c makes them: which
 * VMAs may have them (the policy, VM_HUGEPAGE / VM_NOHUGEPAGE, the 2 MiB-aligned block inside the
 * VMA), the fault that maps a whole aligned block with one PMD leaf (an order-9 block from the
 * buddy allocator, or the huge zero page for a read), the fallback to 4 KiB pages when there is no
 * such block, and the write fault on a write-protected leaf. Splitting and zapping leaves is the
 * range walker's ({@link HugePmd}, the visitors of {@link io.mmemu.pgtable.RangeWalker}).
 */
public final class HugeMemory
{
    /** {@link #fault}'s answer when the 4 KiB path must handle the fault (VM_FAULT_FALLBACK); not a {@link Signal}. */
    static final int FALLBACK = Integer.MIN_VALUE;

    private HugeMemory()
    {
    }

    /**
     * hugepage_vma_check's policy part for the PMD order: never with VM_NOHUGEPAGE; with
     * {@code always} every VMA, with {@code madvise} those with VM_HUGEPAGE.
     */
    public static boolean enabled(final ThpMode mode, final int vmaFlags)
    {
        if ((vmaFlags & VmFlags.VM_NOHUGEPAGE) != 0)
        {
            return false;
        }
        return mode == ThpMode.ALWAYS || (mode == ThpMode.MADVISE && (vmaFlags & VmFlags.VM_HUGEPAGE) != 0);
    }

    /** thp_vma_suitable_order: the 2 MiB block at {@code haddr} lies inside {@code [start, end)}. */
    public static boolean suitable(final long start, final long end, final long haddr)
    {
        return haddr >= start && haddr + HugePmd.SIZE <= end;
    }

    /**
     * do_huge_pmd_anonymous_page: with the policy allowing a huge page in this private anonymous
     * VMA and the aligned block around {@code page} inside it, an empty PMD entry gets a leaf over
     * a fresh order-9 block (writable and dirty in a writable VMA) or, for a read with the zero
     * page in use, over the huge zero page. Returns {@link #FALLBACK} when the 4 KiB path must run
     * (not allowed, a PT page already there, no order-9 block), else the fault's signal.
     */
    static int fault(final Cpu cpu, final Vma vma, final long page, final boolean write)
    {
        final AddressSpace mm = cpu.mm;
        final long haddr = page & -HugePmd.SIZE;
        if (!suitable(vma.start, vma.end, haddr) || !enabled(mm.thp(), vma.flags))
        {
            return FALLBACK;
        }
        final PageWalker walker = cpu.walker;
        final int status = walker.walkAllocPmd(mm.cr3(), haddr);
        if (status == PageWalker.WALK_LARGE)
        {
            return walker.level() == PageTableEntry.LEVEL_PMD ? leafFault(cpu, write, walker.slot(), walker.entry()) : FALLBACK;
        }
        if (status != PageWalker.WALK_ENTRY || walker.entry() != 0)
        {
            // a PT page is there (4 KiB pages), or no memory for a table (the 4 KiB path says so)
            return FALLBACK;
        }
        final long slot = walker.slot();
        final PhysicalMemory memory = cpu.memory;
        final long prot = PageProtection.of(vma.flags);
        final HugePmd huge = cpu.editor.huge();
        if (!write && mm.kernel().zeroPage() && mm.thpUseZeroPage())
        {
            final long zero = memory.hugeZeroPagePfn();
            if (zero == NO_FRAME)
            {
                cpu.stats.thpFaultFallback++;
                return FALLBACK;
            }
            // recorded before the install: a VMA edit that runs once the leaf is there must look for it
            mm.mappedHugeLeaf();
            final int installed = huge.install(slot, PageTableEntry.largeLeaf(zero << 12, prot | SPECIAL));
            if (installed == PageTableEditor.OK)
            {
                cpu.stats.thpZeroPage++;
            }
            // lost to another fault: retry the access; no PT page for the deposit: 4 KiB pages
            return installed == PageTableEditor.NO_MEMORY ? FALLBACK : Signal.NONE;
        }
        Faults.prepareAnonVma(mm, vma);
        final long head = memory.allocateHugeData(cpu.cache);
        if (head == NO_FRAME)
        {
            cpu.stats.thpFaultFallback++;
            return FALLBACK;
        }
        // do_anonymous_page's rule, for the whole block: writable and dirty in a writable VMA
        final long bits = (vma.flags & VmFlags.VM_WRITE) != 0 ? prot | WRITABLE | Faults.dirty(cpu) : prot;
        mm.mappedHugeLeaf();
        final int installed = huge.install(slot, PageTableEntry.largeLeaf(head << 12, bits));
        if (installed == PageTableEditor.OK)
        {
            cpu.stats.thpFaultAlloc++;
            return Signal.NONE;
        }
        // never published: the block goes straight back
        for (long pfn = head; pfn < head + PhysicalMemory.HUGE_FRAMES; pfn++)
        {
            memory.unmapData(pfn);
        }
        memory.releaseHugeData(cpu.cache, head, true);
        return installed == PageTableEditor.NO_MEMORY ? FALLBACK : Signal.NONE;
    }

    /**
     * vma_adjust_trans_huge: a VMA boundary made at {@code addr} inside a 2 MiB leaf splits the
     * leaf, so that no leaf straddles two VMAs (whose flags, protections and smaps lines differ).
     * Called for every edge of a VMA about to be published, with the VMAs it replaces locked: no
     * fault runs on such a leaf meanwhile (a leaf lies inside one VMA, which is being replaced).
     */
    static void splitAcross(final Cpu cpu, final long addr)
    {
        if ((addr & (HugePmd.SIZE - 1)) == 0)
        {
            return;
        }
        final PageWalker walker = cpu.walker;
        if (walker.walk(cpu.mm.cr3(), addr) == PageWalker.WALK_LARGE && walker.level() == PageTableEntry.LEVEL_PMD
            && PageTableEntry.isHugePmd(walker.entry()))
        {
            cpu.editor.huge().split(walker.slot());
        }
    }

    /**
     * A fault on an address a 2 MiB leaf maps (the MMU refused the access): do_huge_pmd_wp_page
     * for a write to a write-protected leaf — an exclusively held huge page becomes writable and
     * dirty whole; the huge zero page, or a page mapped elsewhere too, is split into 4 KiB entries
     * and the access retried there (copy on write per page). Anything else was a race with a
     * change of the entry: retry.
     */
    static int leafFault(final Cpu cpu, final boolean write, final long slot, final long e)
    {
        if (!write || !PageTableEntry.isHugePmd(e) || PageTableEntry.isWritable(e))
        {
            return Signal.NONE;
        }
        final PhysicalMemory memory = cpu.memory;
        final long head = PageTableEntry.leafAddress(e, PageTableEntry.LEVEL_PMD) >>> 12;
        if (!memory.isHugeZeroPage(head) && memory.mapcount(head) == 1 && memory.refcount(head) == 1)
        {
            // reuse: the PMD lock and a CAS, as every leaf write (an MMU may set A meanwhile: retry)
            cpu.editor.setLeaf(slot >>> 12, slot, e, e | WRITABLE | ACCESSED | Faults.dirty(cpu));
            return Signal.NONE;
        }
        cpu.editor.huge().split(slot);
        return Signal.NONE;
    }
}
