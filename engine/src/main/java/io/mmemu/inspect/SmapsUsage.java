package io.mmemu.inspect;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.SwapEntry;
import io.mmemu.phys.FrameFlags;
import io.mmemu.vm.VmFlags;
import io.mmemu.vm.VmaInfo;

import static io.mmemu.pgtable.PageTableEntry.LEVEL_PMD;

/**
 * One VMA's memory use as fs/proc/task_mmu.c gathers it for smaps ({@code struct mem_size_stats}),
 * measured by walking the VMA's entries and reading the descriptors of the frames they map:
 * <ul>
 *   <li>a mapped entry (present or PROT_NONE: {@code pte_present}) counts, except the zero page
 *       ({@code vm_normal_page} returns no page for it);</li>
 *   <li>Referenced from the accessed bit, dirty from the dirty bit (mmemu has no folio-level
 *       dirty or referenced flag, so the entry's bits are the whole story);</li>
 *   <li>a frame with refcount 1 is private and counts fully; otherwise its mapcount decides:
 *       mapped more than once is shared, and its Pss share is the page divided by the mapcount
 *       (in 1/4096 units, PSS_SHIFT);</li>
 *   <li>Anonymous: pages of private VMAs (shared anonymous memory is shmem, not anon);</li>
 *   <li>Locked: the Pss of VM_LOCKED VMAs.</li>
 * </ul>
 * All sizes in bytes; the Pss sums are bytes &lt;&lt; {@link #PSS_SHIFT}.
 */
public final class SmapsUsage
{
    public static final int PSS_SHIFT = 12;
    private static final long PAGE = 4096;

    long resident;
    long pss;
    long pssDirty;
    long sharedClean;
    long sharedDirty;
    long privateClean;
    long privateDirty;
    long referenced;
    long anonymous;
    long lazyFree;
    long anonymousThp;
    long shmemThp;
    long swap;
    long swapPss;
    long pssLocked;
    /** Pages with a present or PROT_NONE entry (the zero page included), for density pictures. */
    long mappedPages;
    /** A hugetlb VMA's pages mapped more than once, and once (smaps_hugetlb_range), bytes. */
    long sharedHugetlb;
    long privateHugetlb;
    /** The size of a hugetlb VMA's leaves as found, 0 when it has none. */
    long hugetlbLeafSize;

    private SmapsUsage()
    {
    }

    /** Measures {@code vma} in {@code snapshot}'s tables. */
    public static SmapsUsage measure(final Snapshot snapshot, final VmaInfo vma)
    {
        final SmapsUsage usage = new SmapsUsage();
        final MemoryImage memory = snapshot.memory();
        final boolean anon = !vma.isShared();
        final boolean locked = (vma.flags() & VmFlags.VM_LOCKED) != 0;
        if ((vma.flags() & VmFlags.VM_HUGETLB) != 0)
        {
            usage.measureHugetlb(snapshot, vma);
            return usage;
        }
        TableWalk.walk(memory, snapshot.cr3(), vma.start(), vma.end(), new TableWalk.Visitor()
        {
            @Override
            public void pte(final long va, final long entry)
            {
                if (PageTableEntry.isMapped(entry))
                {
                    usage.account(memory, PageTableEntry.pfn(entry), 1, entry, anon, locked);
                }
                else if (entry != 0)
                {
                    // smaps_pte_entry: a swap entry is Swap, and SwapPss its share by the slot's swap count
                    usage.swap += PAGE;
                    usage.swapPss += (PAGE << PSS_SHIFT) / memory.swapCount(SwapEntry.type(entry), SwapEntry.offset(entry));
                }
            }

            @Override
            public void entry(final long va, final long entry, final int level)
            {
                // smaps_pmd_entry: a PMD leaf is a THP; PUD leaves are hugetlb/DAX only, not walked by smaps
                if (level == LEVEL_PMD && PageTableEntry.isLeaf(entry, level))
                {
                    final int pages = (int)(PageTableEntry.coverage(LEVEL_PMD) / PAGE);
                    if (usage.account(memory, PageTableEntry.leafAddress(entry, level) >>> 12, pages, entry, anon, locked))
                    {
                        if (anon)
                        {
                            usage.anonymousThp += pages * PAGE;
                        }
                        else
                        {
                            usage.shmemThp += pages * PAGE;
                        }
                    }
                }
            }
        });
        return usage;
    }

    /**
     * smaps_hugetlb_range: a hugetlb VMA's leaves count only as Shared_Hugetlb (the page mapped
     * more than once: folio_likely_mapped_shared) or Private_Hugetlb, never in Rss or Pss.
     */
    private void measureHugetlb(final Snapshot snapshot, final VmaInfo vma)
    {
        final MemoryImage memory = snapshot.memory();
        TableWalk.walk(memory, snapshot.cr3(), vma.start(), vma.end(), new TableWalk.Visitor()
        {
            @Override
            public void pte(final long va, final long entry)
            {
            }

            @Override
            public void entry(final long va, final long entry, final int level)
            {
                if (!PageTableEntry.isLargeLeaf(entry, level))
                {
                    return;
                }
                final long size = PageTableEntry.coverage(level);
                hugetlbLeafSize = size;
                mappedPages += size / PAGE;
                final long head = PageTableEntry.leafAddress(entry, level) >>> 12;
                if (memory.isBacked(head) && memory.mapcount(head) >= 2)
                {
                    sharedHugetlb += size;
                }
                else
                {
                    privateHugetlb += size;
                }
            }
        });
    }

    /** The VMA's page size: its own, or for a hugetlb VMA read from a dump the size of its leaves (2 MiB with none). */
    public static long pageSize(final VmaInfo vma, final SmapsUsage usage)
    {
        if (vma.pageSize() != 0)
        {
            return vma.pageSize();
        }
        return usage.hugetlbLeafSize != 0 ? usage.hugetlbLeafSize : PageTableEntry.coverage(LEVEL_PMD);
    }

    public long sharedHugetlb()
    {
        return sharedHugetlb;
    }

    public long privateHugetlb()
    {
        return privateHugetlb;
    }

    /** smaps_account for {@code pages} frames from {@code pfn}; false for the zero page. */
    private boolean account(final MemoryImage memory, final long pfn, final int pages, final long entry,
        final boolean anon, final boolean locked)
    {
        mappedPages += pages;
        // the zero pages (4 KiB and huge) are no normal pages: smaps counts nothing for them
        if (pfn == memory.zeroPagePfn() || (memory.isBacked(pfn) && (memory.flags(pfn) & FrameFlags.STATE_MASK) == FrameFlags.ZERO_PAGE))
        {
            return false;
        }
        final long size = pages * PAGE;
        final boolean dirty = PageTableEntry.isDirty(entry);
        if (anon)
        {
            anonymous += size;
        }
        resident += size;
        if (PageTableEntry.isAccessed(entry))
        {
            referenced += size;
        }
        // phantom frames (tables-only machines) have no descriptor: each is mapped once
        final boolean backed = memory.isBacked(pfn);
        if (!backed || memory.refcount(pfn) == 1)
        {
            accumulate(size, size << PSS_SHIFT, dirty, locked, true);
            return true;
        }
        for (int i = 0; i < pages; i++)
        {
            final int mapcount = memory.mapcount(pfn + i);
            long share = PAGE << PSS_SHIFT;
            if (mapcount >= 2)
            {
                share /= mapcount;
            }
            accumulate(PAGE, share, dirty, locked, mapcount < 2);
        }
        return true;
    }

    /** smaps_page_accumulate. */
    private void accumulate(final long size, final long share, final boolean dirty, final boolean locked,
        final boolean exclusive)
    {
        pss += share;
        if (locked)
        {
            pssLocked += share;
        }
        if (dirty)
        {
            pssDirty += share;
            if (exclusive)
            {
                privateDirty += size;
            }
            else
            {
                sharedDirty += size;
            }
        }
        else if (exclusive)
        {
            privateClean += size;
        }
        else
        {
            sharedClean += size;
        }
    }

    public long resident()
    {
        return resident;
    }

    /** Proportional set size in bytes &lt;&lt; {@link #PSS_SHIFT}. */
    public long pss()
    {
        return pss;
    }

    public long pssDirty()
    {
        return pssDirty;
    }

    public long sharedClean()
    {
        return sharedClean;
    }

    public long sharedDirty()
    {
        return sharedDirty;
    }

    public long privateClean()
    {
        return privateClean;
    }

    public long privateDirty()
    {
        return privateDirty;
    }

    public long referenced()
    {
        return referenced;
    }

    public long anonymous()
    {
        return anonymous;
    }

    /** MADV_FREE'd clean pages; always 0: mmemu's frames carry no lazy-free state (see docs/inspect.md). */
    public long lazyFree()
    {
        return lazyFree;
    }

    public long anonymousThp()
    {
        return anonymousThp;
    }

    public long shmemThp()
    {
        return shmemThp;
    }

    /** Swapped-out pages (swap entries), bytes. */
    public long swap()
    {
        return swap;
    }

    /** SwapPss: each swap entry's page divided by its slot's swap count, bytes &lt;&lt; {@link #PSS_SHIFT}. */
    public long swapPss()
    {
        return swapPss;
    }

    public long pssLocked()
    {
        return pssLocked;
    }

    /** Pages with a present or PROT_NONE entry, the zero page included. */
    public long mappedPages()
    {
        return mappedPages;
    }
}
