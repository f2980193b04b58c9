package io.mmemu.vm;

import java.util.BitSet;
import java.util.List;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.phys.FrameFlags;
import io.mmemu.phys.LruFlags;
import io.mmemu.phys.LruLists;
import io.mmemu.phys.PhysicalMemory;

/**
 * The LRU invariant, checked with the tables' ({@link AddressSpace#checkAll}) at a quiescent point
 * (no reclaim holding pages isolated): the lists are well linked and counted ({@link LruLists#check});
 * every frame flagged {@link FrameFlags#LRU} is on one; every backed data page an entry maps (not the
 * zero pages, not a hugetlb page) is on exactly one list, itself or as a tail of a huge folio whose
 * head is; and an anonymous page names the family and linear index the rmap finds it at.
 */
final class LruCheck
{
    private final PhysicalMemory memory;
    /** Frames the lists hold: each entry's, and every frame of a huge folio's. */
    private final BitSet covered = new BitSet();

    LruCheck(final PhysicalMemory memory, final List<String> violations)
    {
        this.memory = memory;
        final long[] entries = new long[1];
        try
        {
            memory.lru().check((lru, pfn, pages) ->
            {
                entries[0]++;
                covered.set((int)pfn, (int)(pfn + pages));
            });
        }
        catch (final IllegalStateException broken)
        {
            violations.add(broken.getMessage());
            return;
        }
        long flagged = 0;
        for (long pfn = 1; pfn < memory.backedFrames(); pfn++)
        {
            final boolean listable = (memory.flags(pfn) & (FrameFlags.STATE_MASK | FrameFlags.HUGETLB)) == FrameFlags.DATA;
            flagged += listable && (memory.lruFlags(pfn) & LruFlags.LRU) != 0 ? 1 : 0;
        }
        if (flagged != entries[0])
        {
            violations.add(String.format("%d frames are flagged LRU but the lists hold %d entries", flagged, entries[0]));
        }
    }

    /** The LRU side of a leaf at {@code va} of {@code vma}, a present entry of {@code level}. */
    void leaf(final Vma vma, final long va, final long entry, final int level, final List<String> violations)
    {
        final long first = PageTableEntry.leafAddress(entry, level) >>> 12;
        final long pages = level == PageTableEntry.LEVEL_PTE ? 1 : PageTableEntry.coverage(level) >>> 12;
        if (!memory.isBacked(first) || first == memory.zeroPagePfn() || memory.isHugeZeroPage(first) || memory.isHugetlb(first))
        {
            return;
        }
        for (long pfn = first; pfn < first + pages; pfn++)
        {
            if (!covered.get((int)pfn))
            {
                violations.add(String.format("page %d mapped at 0x%x in %s is on no LRU list (flags %s, LRU flags %s)", pfn,
                    va + ((pfn - first) << 12), vma, FrameFlags.describe(memory.flags(pfn)), LruFlags.describe(memory.lruFlags(pfn))));
                return;
            }
        }
        final int flags = memory.flags(first);
        if ((flags & FrameFlags.FILE_LRU) != 0 || !Mappings.isAnon(memory.mapping(first)) || vma.anonVma() == null)
        {
            return;
        }
        if (memory.mapping(first) != Mappings.anonWord(vma) || memory.index(first) != Mappings.linearIndex(vma, va))
        {
            violations.add(String.format("anonymous page %d mapped at 0x%x in %s names mapping %d index %d, not %d and %d",
                first, va, vma, memory.mapping(first), memory.index(first), Mappings.anonWord(vma), Mappings.linearIndex(vma, va)));
        }
    }
}
