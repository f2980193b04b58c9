package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.pgtable.PageWalker.ENTRY;

/**
 * zap_pte_range: clears every entry, handing mapped data pages to the gather (the zero page is not
 * counted); the gather is flushed whenever it fills, between PT pages. A large leaf is refused.
 */
final class ZapRange extends RangeVisitor
{
    private final PageTableEditor editor;
    private final PhysicalMemory memory;
    private final MemorySegment frames;
    private final long zeroPagePfn;

    ZapRange(final PageTableEditor editor, final PhysicalMemory memory)
    {
        super(ZAP, false, true);
        this.editor = editor;
        this.memory = memory;
        this.frames = memory.frames();
        this.zeroPagePfn = memory.zeroPagePfn();
        this.flushWhenFull = true;
    }

    int large(final long slot, final long entry, final long va, final int level, final long lo, final long hi)
    {
        return PageTableEditor.LARGE_LEAF;
    }

    int ptes(final long slot, final int count)
    {
        assert editor.holdsLock(slot >>> 12) : "zap without the PT lock";
        final MmuGather gather = tlb;
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
                    memory.unmapData(pfn);
                    gather.addPage(pfn, !PageTableEntry.isDirty(e));
                }
            }
            done++;
        }
        return PageTableEditor.OK;
    }
}
