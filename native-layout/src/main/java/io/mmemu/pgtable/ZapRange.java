package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;

import static io.mmemu.pgtable.PageWalker.ENTRY;

/**
 * zap_pte_range: clears every entry, handing mapped data pages to the gather (the zero page is not
 * counted) and giving up the swap slot a swap entry names (free_swap_and_cache: the slot is free
 * once no entry names it); the gather is flushed whenever it fills, between PT pages.
 */
final class ZapRange extends RangeVisitor
{
    private final PageTableEditor editor;
    private final PhysicalMemory memory;
    private final MemorySegment frames;
    private final long zeroPagePfn;
    private final HugePmd huge;

    ZapRange(final PageTableEditor editor, final PhysicalMemory memory, final HugePmd huge)
    {
        super(ZAP, false, true);
        this.editor = editor;
        this.huge = huge;
        this.memory = memory;
        this.frames = memory.frames();
        this.zeroPagePfn = memory.zeroPagePfn();
        this.flushWhenFull = true;
    }

    /**
     * zap_huge_pmd: a 2 MiB leaf inside the range is cleared whole, each subpage unmapped and the
     * huge page gathered as one (the huge zero page is not counted); one the range cuts is split
     * first (__split_huge_pmd) and its PTEs zapped like any others. A hugetlb leaf (2 MiB or
     * 1 GiB) goes whole, back to its pool after the flush ({@link HugetlbLeaf#zap}).
     */
    int large(final long slot, final long entry, final long va, final int level, final long lo, final long hi)
    {
        if (HugetlbLeaf.is(memory, entry, level))
        {
            final long frames = editor.hugetlb().zap(slot, va, level, lo, hi, tlb);
            if (frames < 0)
            {
                return (int)frames;
            }
            done += frames;
            return NEXT;
        }
        if (level != PageTableEntry.LEVEL_PMD)
        {
            return PageTableEditor.LARGE_LEAF;
        }
        if (!whole(va, lo, hi))
        {
            huge.split(slot);
            return DESCEND;
        }
        final MmuGather gather = tlb;
        final long old = huge.clear(slot, gather);
        if (!PageTableEntry.isHugePmd(old))
        {
            return DESCEND;
        }
        final long head = PageTableEntry.leafAddress(old, PageTableEntry.LEVEL_PMD) >>> 12;
        if (!memory.isHugeZeroPage(head))
        {
            for (long pfn = head; pfn < head + PhysicalMemory.HUGE_FRAMES; pfn++)
            {
                memory.unmapData(pfn);
            }
            gather.addHugePage(head, !PageTableEntry.isDirty(old));
        }
        done += PhysicalMemory.HUGE_FRAMES;
        gather.addRange(va, va + HugePmd.SIZE);
        if (gather.isFull())
        {
            gather.flush();
        }
        return NEXT;
    }

    int ptes(final long slot, final int count)
    {
        assert editor.holdsLock(slot >>> 12) : "zap without the PT lock";
        final MmuGather gather = tlb;
        final SwapArea swap = memory.swap();
        // a local count, added once: a field written per entry is stored again after every atomic
        long changed = 0;
        for (long s = slot, end = slot + ((long)count << 3); s < end; s += 8)
        {
            if ((long)ENTRY.getOpaque(frames, s) == 0L)
            {
                continue;
            }
            // atomic exchange (Linux's ptep_get_and_clear): an MMU may set A/D by CAS without the
            // lock, and a dirty bit lost here would free a written page as clean; a lockless TLB fill
            // may still read the old entry, which is why the frame waits in the gather for the flush
            final long e = (long)ENTRY.getAndSet(frames, s, 0L);
            if (PageTableEntry.isMapped(e))
            {
                final long pfn = PageTableEntry.pfn(e);
                if (pfn != zeroPagePfn)
                {
                    final boolean dirty = PageTableEntry.isDirty(e);
                    if (dirty)
                    {
                        // zap_present_folio_ptes: if (pte_dirty(pteval)) folio_mark_dirty (file pages)
                        memory.markCacheDirty(pfn);
                    }
                    memory.unmapData(pfn);
                    gather.addPage(pfn, !dirty);
                }
            }
            else
            {
                // a swap entry (the only other non-empty leaf): this entry's count on its slot
                swap.free(SwapEntry.offset(e));
            }
            changed++;
        }
        done += changed;
        return PageTableEditor.OK;
    }
}
