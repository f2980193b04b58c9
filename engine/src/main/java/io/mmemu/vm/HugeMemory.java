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
     * (not allowed, a PT page already there, no order-9 block), {@link Faults#RETRY} when the VMA
     * needs an anon_vma and the mmap lock is not to be had (vmf_anon_prepare), else the fault's signal.
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
            return walker.level() == PageTableEntry.LEVEL_PMD ? leafFault(cpu, vma, page, write, walker.slot(), walker.entry())
                : FALLBACK;
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
        // vmf_anon_prepare comes first in do_huge_pmd_anonymous_page: a read that maps the huge zero
        // page gives the VMA its anon_vma too (which decides later merges), unlike the 4 KiB zero page's
        if (!Faults.prepareAnonVma(mm, vma))
        {
            return Faults.RETRY;
        }
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
        final long head = memory.allocateHugeData(cpu.cache, Mappings.anonWord(vma), Mappings.linearIndex(vma, haddr));
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

    /** collapseBlock's result for an empty PMD entry, which ends madvise_collapse's scan with EINVAL. */
    private static final long SCAN_PMD_NONE = Long.MIN_VALUE;

    /**
     * MADV_COLLAPSE (madvise_collapse, synchronous): every 2 MiB-aligned block of {@code [start, end)}
     * is made one PMD leaf, whatever the sysfs policy, in each private anonymous VMA the range meets
     * (EINVAL for another kind, one with VM_NOHUGEPAGE, one without an anon_vma, or one that holds
     * no aligned block, whatever the range; file and shmem collapse are not modelled). A block
     * already a leaf counts as done; one mapped by a PT page is copied into a fresh order-9 block
     * (collapse_huge_page), read-only, shared and empty entries included (6.18 dropped SCAN_PAGE_RO);
     * a block with no PT page stops the scan with EINVAL (SCAN_PMD_NONE), one holding
     * a swap entry fails with EINVAL after the VMA's other blocks are tried (Linux reports the last
     * failure), and no free order-9 block stops with ENOMEM.
     * Holes in the range give ENOMEM at the end, as every madvise. The writer owns every VMA the
     * range meets whole, and write-locks each: no fault runs in a block while it is collapsed.
     */
    static long collapse(final Cpu cpu, final long start, final long end)
    {
        // madvise_collapse's lru_add_drain_all, for this CPU: the pages it copies and frees are then
        // on their lists and go back at once
        cpu.memory.drainAddBatch(cpu.cache);
        final AddressSpace mm = cpu.mm;
        final RangeLock lock = mm.rangeLock();
        lock.acquire(cpu, start, end);
        try
        {
            while (!lock.claim(cpu, coveringStart(mm.tree(), start), coveringEnd(mm.tree(), end)))
            {
                // another writer owned part of those VMAs: the tree may have changed, look again
            }
            long unmapped = 0;
            long va = start;
            while (va < end)
            {
                final Vma vma = mm.tree().find(va);
                if (vma == null || vma.start >= end)
                {
                    unmapped = -Errno.ENOMEM;
                    break;
                }
                if (vma.start > va)
                {
                    unmapped = -Errno.ENOMEM;
                }
                final long r = collapse(cpu, vma, Math.max(va, vma.start), Math.min(end, vma.end));
                if (r != 0)
                {
                    // madvise_walk_vmas stops at the first VMA that fails
                    return r;
                }
                va = vma.end;
            }
            return unmapped;
        }
        finally
        {
            lock.release(cpu);
        }
    }

    private static long coveringStart(final VmaTree tree, final long start)
    {
        final Vma first = tree.find(start);
        return first == null ? start : Math.min(start, first.start);
    }

    private static long coveringEnd(final VmaTree tree, final long end)
    {
        final Vma last = tree.find(end - 1);
        return last == null ? end : Math.max(end, last.end);
    }

    /** The blocks of one VMA (write-locked meanwhile); 0, or the last failure's errno. */
    private static long collapse(final Cpu cpu, final Vma vma, final long start, final long end)
    {
        // thp_vma_allowable_order (TVA_FORCED_COLLAPSE): a private anonymous VMA, not VM_NOHUGEPAGE,
        // with an anon_vma (one that never faulted has none) and room for an aligned block — checked
        // before the range, so even a range holding no whole block fails here
        final long lastBlock = (vma.end - HugePmd.SIZE) & -HugePmd.SIZE;
        if (!vma.isAnonymous() || (vma.flags & VmFlags.VM_NOHUGEPAGE) != 0 || vma.anonVma() == null
            || vma.end - vma.start < HugePmd.SIZE || !suitable(vma.start, vma.end, lastBlock))
        {
            return -Errno.EINVAL;
        }
        final long hstart = (start + HugePmd.SIZE - 1) & -HugePmd.SIZE;
        final long hend = end & -HugePmd.SIZE;
        if (hstart >= hend)
        {
            // no block to collapse: done when the range ends where it rounds up to (thps == 0 blocks
            // of 0), but inside one block the count (hend - hstart) / 2 MiB wraps and nothing matches
            return hstart == hend ? 0 : -Errno.EINVAL;
        }
        final RangeLock lock = cpu.mm.rangeLock();
        lock.lockVma(cpu, vma);
        try
        {
            long failure = 0;
            for (long haddr = hstart; haddr < hend; haddr += HugePmd.SIZE)
            {
                final long r = collapseBlock(cpu, vma, haddr);
                if (r == -Errno.ENOMEM || r == SCAN_PMD_NONE)
                {
                    // SCAN_ALLOC_HUGE_PAGE_FAIL and SCAN_PMD_NONE end the scan
                    return r == SCAN_PMD_NONE ? -Errno.EINVAL : r;
                }
                failure = r != 0 ? r : failure;
            }
            return failure;
        }
        finally
        {
            if (cpu.mm.perVma())
            {
                lock.unlockVma(cpu, vma);
            }
        }
    }

    /** collapse_huge_page for the block at {@code haddr}: 0, or an errno. Faults are excluded from the VMA. */
    private static long collapseBlock(final Cpu cpu, final Vma vma, final long haddr)
    {
        final AddressSpace mm = cpu.mm;
        final PhysicalMemory memory = cpu.memory;
        final PageWalker walker = cpu.walker;
        final int status = walker.walkAllocPmd(mm.cr3(), haddr);
        if (status == PageWalker.WALK_LARGE)
        {
            // SCAN_PMD_MAPPED: already a huge page
            return walker.level() == PageTableEntry.LEVEL_PMD ? 0 : -Errno.EINVAL;
        }
        if (status != PageWalker.WALK_ENTRY || walker.entry() == 0)
        {
            // SCAN_PMD_NONE: no PT page here; not among the results madvise_collapse goes on after
            return SCAN_PMD_NONE;
        }
        final long pmdSlot = walker.slot();
        final long pt = PageTableEntry.address(walker.entry());
        final java.lang.foreign.MemorySegment frames = memory.frames();
        final long zeroPage = memory.zeroPagePfn();
        for (int i = 0; i < PageTableEntry.ENTRIES; i++)
        {
            final long e = PageWalker.read(frames, pt + ((long)i << 3));
            if (e != 0 && !PageTableEntry.isMapped(e))
            {
                // a swap entry: Linux swaps the page in first (__collapse_huge_page_swapin); mmemu
                // refuses the block rather than copy a page that is not there
                return -Errno.EINVAL;
            }
            if (!PageTableEntry.isMapped(e) || PageTableEntry.pfn(e) == zeroPage)
            {
                continue;
            }
            if (!memory.isBacked(PageTableEntry.pfn(e)))
            {
                // phantom frames (tables-only backing) have no bytes to copy
                return -Errno.EINVAL;
            }
        }
        // no SCAN_PAGE_RO (Linux 6.18 collapses read-only and empty blocks alike; MADV_COLLAPSE is
        // held to no max_ptes_none or max_ptes_shared)
        final long head = memory.allocateHugeData(cpu.cache, Mappings.anonWord(vma), Mappings.linearIndex(vma, haddr));
        if (head == NO_FRAME)
        {
            // SCAN_ALLOC_HUGE_PAGE_FAIL
            return -Errno.ENOMEM;
        }
        final HugePmd huge = cpu.editor.huge();
        if (huge.detachTable(pmdSlot) != pt >>> 12)
        {
            throw new IllegalStateException("the PT page of a block being collapsed changed under a write-locked VMA");
        }
        // pmdp_collapse_flush: no CPU may write the old pages through a stale translation after the copy
        cpu.shootdown(haddr, haddr + HugePmd.SIZE);
        final io.mmemu.pgtable.MmuGather tlb = cpu.gather;
        tlb.begin(cpu.shootdown);
        for (int i = 0; i < PageTableEntry.ENTRIES; i++)
        {
            final long slot = pt + ((long)i << 3);
            final long e = PageWalker.read(frames, slot);
            if (e == 0)
            {
                continue;
            }
            // unreachable since the flush: a plain clear would do; the CAS keeps the entry rule
            PageWalker.casEntry(frames, slot, e, 0L);
            final long pfn = PageTableEntry.pfn(e);
            if (PageTableEntry.isMapped(e) && pfn != zeroPage)
            {
                java.lang.foreign.MemorySegment.copy(frames, pfn << 12, frames, (head + i) << 12, PhysicalMemory.PAGE_SIZE);
                memory.markDirty(head + i);
                memory.unmapData(pfn);
                tlb.addPage(pfn, !PageTableEntry.isDirty(e));
            }
        }
        final long prot = PageProtection.of(vma.flags) | ACCESSED | PageTableEntry.DIRTY;
        final long leaf = PageTableEntry.largeLeaf(head << 12,
            (vma.flags & VmFlags.VM_WRITE) != 0 ? prot | WRITABLE | Faults.dirty(cpu) : prot);
        mm.mappedHugeLeaf();
        if (!huge.installWithDeposit(pmdSlot, leaf, pt >>> 12))
        {
            throw new IllegalStateException("the PMD entry of a block being collapsed was filled under a write-locked VMA");
        }
        tlb.finish();
        return 0;
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
     * dirty whole; the huge zero page is replaced by a fresh huge page (do_huge_zero_wp_pmd,
     * Linux 6.12+), whatever the policy says now; a page shared with a forked process, or the huge
     * zero page when no order-9 block is free, is split into 4 KiB entries and the access retried
     * there (the 4 KiB copy on write per page follows). Anything else was a race with a change of
     * the entry: retry.
     */
    static int leafFault(final Cpu cpu, final Vma vma, final long page, final boolean write, final long slot,
        final long e)
    {
        assert !PageTableEntry.isMoving(e) : Faults.MET_FROZEN;
        if (!write || !PageTableEntry.isHugePmd(e) || PageTableEntry.isWritable(e) || !PageTableEntry.isPresent(e))
        {
            // a PROT_NONE leaf is met here only in a VMA mprotect is still re-protecting (it holds
            // the VMA's write lock, or the mmap lock, until its leaves are done): retry
            return Signal.NONE;
        }
        final PhysicalMemory memory = cpu.memory;
        final long head = PageTableEntry.leafAddress(e, PageTableEntry.LEVEL_PMD) >>> 12;
        if (memory.isHugeZeroPage(head))
        {
            if (replaceHugeZero(cpu, vma, page & -HugePmd.SIZE, slot, e))
            {
                return Signal.NONE;
            }
        }
        else if (exclusive(memory, head))
        {
            // reuse: the PMD lock and a CAS, as every leaf write (an MMU may set A meanwhile: retry)
            cpu.editor.setLeaf(slot >>> 12, slot, e, e | WRITABLE | ACCESSED | Faults.dirty(cpu));
            return Signal.NONE;
        }
        cpu.editor.huge().split(slot);
        return Signal.NONE;
    }

    /**
     * do_huge_zero_wp_pmd: a write to the huge zero page maps a fresh zeroed huge page in its place,
     * writable and dirty (the deposit of the zero page's leaf stays with it). False when no order-9
     * block is free (the caller splits, as Linux falls back to); true otherwise, also when another
     * CPU changed the entry first (the access retries). The old translation is flushed after the
     * exchange, as the 4 KiB zero page's copy on write is: a stale one reads zeros, as the new page holds.
     */
    private static boolean replaceHugeZero(final Cpu cpu, final Vma vma, final long haddr, final long slot, final long e)
    {
        final PhysicalMemory memory = cpu.memory;
        final long head = memory.allocateHugeData(cpu.cache, Mappings.anonWord(vma), Mappings.linearIndex(vma, haddr));
        if (head == NO_FRAME)
        {
            cpu.stats.thpFaultFallback++;
            return false;
        }
        final long bits = PageProtection.of(vma.flags) | WRITABLE | ACCESSED | Faults.dirty(cpu);
        if (cpu.editor.setLeaf(slot >>> 12, slot, e, PageTableEntry.largeLeaf(head << 12, bits)))
        {
            cpu.stats.thpFaultAlloc++;
            cpu.shootdown(haddr, haddr + HugePmd.SIZE);
            return true;
        }
        for (long pfn = head; pfn < head + PhysicalMemory.HUGE_FRAMES; pfn++)
        {
            memory.unmapData(pfn);
        }
        memory.releaseHugeData(cpu.cache, head, true);
        return true;
    }

    /**
     * Whether this process alone holds the huge page at {@code head} (do_huge_pmd_wp_page's
     * PageAnonExclusive, or a folio reference count of one, which it then marks exclusive). Every
     * subpage is looked at: after a fork the other process may have split its leaf and copied or
     * unmapped some subpages, which drops their counts but not the others'. Counts of one cannot
     * rise under the caller: only this leaf maps them, and fork (which could) holds the VMA's write lock.
     */
    private static boolean exclusive(final PhysicalMemory memory, final long head)
    {
        if (memory.isAnonExclusive(head))
        {
            return true;
        }
        for (long pfn = head; pfn < head + PhysicalMemory.HUGE_FRAMES; pfn++)
        {
            if (memory.mapcount(pfn) != 1 || memory.refcount(pfn) != 1)
            {
                return false;
            }
        }
        for (long pfn = head; pfn < head + PhysicalMemory.HUGE_FRAMES; pfn++)
        {
            memory.markAnonExclusive(pfn);
        }
        return true;
    }
}
