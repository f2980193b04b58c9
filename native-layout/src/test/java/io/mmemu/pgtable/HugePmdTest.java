package io.mmemu.pgtable;

import java.lang.foreign.ValueLayout;

import io.mmemu.phys.FrameFlags;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;

import static io.mmemu.pgtable.Machine.DIRTY_RW;
import static io.mmemu.pgtable.PageTableEditor.OK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Transparent huge pages in the tables: the 2 MiB leaf with its deposited PT page, and what each
 * visitor of the range walker does with it — act on it whole when the range covers it, split it
 * (split_huge_pmd: the same frames, each subpage keeping its one mapping) when the range cuts it.
 */
class HugePmdTest
{
    private static final long MIB = 1L << 20;
    private static final long HUGE = 2 * MIB;
    /** The leaf: P|RW|US|A|D|NX, PS added by largeLeaf. */
    private static final long LEAF = DIRTY_RW;

    private static long word(final Machine m, final long pfn, final long offset)
    {
        return m.memory.frames().get(ValueLayout.JAVA_LONG, (pfn << 12) + offset);
    }

    @Test
    void aHugeLeafCountsEachSubpageOnceAndItsDepositAsATable()
    {
        try (Machine m = Machine.full(64 * MIB))
        {
            final long head = m.hugePage(HUGE, LEAF);
            assertEquals(0, head % PhysicalMemory.HUGE_FRAMES, "an aligned block");
            final PageTableChecker.Result result = m.check();
            assertEquals(512, result.dataFrames());
            assertEquals(4, result.tables(), "PML4, PDPT, PD and the deposited PT page");
            for (long pfn = head; pfn < head + 512; pfn++)
            {
                assertEquals(1, m.memory.mapcount(pfn));
                assertEquals(FrameFlags.DATA, m.memory.flags(pfn) & FrameFlags.STATE_MASK);
            }
            assertEquals((head << 12) + 0x1234L, m.editor.walker().translate(m.cr3, HUGE + 0x1234L));
        }
    }

    @Test
    void aZapOverTheWholeLeafFreesTheBlockWholeAndTheDeposit()
    {
        try (Machine m = Machine.full(64 * MIB))
        {
            final long free = m.memory.buddy().freeFrames();
            m.hugePage(HUGE, LEAF);
            final RecordingFlush flush = new RecordingFlush();
            m.tlb.begin(flush);
            assertEquals(OK, m.editor.zap(m.cr3, 0L, 3 * HUGE, m.tlb));
            m.tlb.finish();
            assertEquals(512, m.editor.done());
            assertEquals(0L, m.pmdEntry(HUGE));
            assertEquals(HUGE, flush.ranges().get(0)[0]);
            assertEquals(2 * HUGE, flush.ranges().get(0)[1]);
            m.check();
            m.freeTables(0L, 3 * HUGE, 0L, 0L, TlbFlush.NONE);
            assertEquals(m.baseline, m.memory.framesInUse());
            assertEquals(free, m.memory.buddy().freeFrames(), "every frame back in the buddy allocator");
        }
    }

    @Test
    void aZapThatCutsTheLeafSplitsItAndFreesOnlyTheZappedSubpages()
    {
        try (Machine m = Machine.full(64 * MIB))
        {
            final long head = m.hugePage(HUGE, LEAF);
            m.memory.frames().set(ValueLayout.JAVA_LONG, ((head + 3) << 12) + 8, 0x3333L);
            m.memory.frames().set(ValueLayout.JAVA_LONG, ((head + 400) << 12) + 16, 0x4444L);
            m.tlb.begin(TlbFlush.NONE);
            assertEquals(OK, m.editor.zap(m.cr3, HUGE + 100 * 4096L, HUGE + 300 * 4096L, m.tlb));
            m.tlb.finish();
            assertEquals(200, m.editor.done());
            final long pmd = m.pmdEntry(HUGE);
            assertEquals(0, pmd & PageTableEntry.PAGE_SIZE, "now a table pointer");
            final PageTableChecker.Result result = m.check();
            assertEquals(312, result.dataFrames());
            assertEquals(4, result.tables(), "the deposited PT page is the PT page now");
            // the subpages kept map the same frames with the leaf's bits, PS dropped
            assertEquals(((head + 3) << 12) | LEAF, m.entry(m.pteSlot(HUGE + 3 * 4096L)));
            assertEquals(0L, m.entry(m.pteSlot(HUGE + 150 * 4096L)));
            assertEquals((head + 3) << 12 | 8, m.editor.walker().translate(m.cr3, HUGE + 3 * 4096L + 8));
            assertEquals(0x3333L, word(m, head + 3, 8));
            assertEquals(0x4444L, word(m, head + 400, 16));
            assertEquals(0, m.memory.refcount(head + 150), "a zapped subpage is freed on its own");
            assertEquals(1, m.memory.refcount(head + 400));
            m.unmap(0L, 3 * HUGE);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void changeProtectionRewritesAWholeLeafInPlaceAndSplitsOneItCuts()
    {
        try (Machine m = Machine.full(64 * MIB))
        {
            m.hugePage(HUGE, LEAF);
            m.hugePage(2 * HUGE, LEAF);
            final long readOnly = 0x8000_0000_0000_0005L;
            m.tlb.begin(TlbFlush.NONE);
            // the whole first leaf and half of the second
            assertEquals(OK, m.editor.changeProtection(m.cr3, HUGE, 2 * HUGE + MIB, readOnly, false, m.tlb));
            m.tlb.finish();
            assertEquals(512 + 256, m.editor.done());
            final long first = m.pmdEntry(HUGE);
            assertTrue(PageTableEntry.isHugePmd(first));
            assertFalse(PageTableEntry.isWritable(first));
            assertTrue(PageTableEntry.isDirty(first), "A and D stay");
            assertFalse(PageTableEntry.isHugePmd(m.pmdEntry(2 * HUGE)), "the cut leaf is split");
            assertFalse(PageTableEntry.isWritable(m.entry(m.pteSlot(2 * HUGE))));
            assertTrue(PageTableEntry.isWritable(m.entry(m.pteSlot(2 * HUGE + MIB))));
            m.check();

            // PROT_NONE (change_huge_pmd): the covered leaf stays whole, non-present, its page kept
            m.tlb.begin(TlbFlush.NONE);
            assertEquals(OK, m.editor.changeProtection(m.cr3, HUGE, 2 * HUGE, PageTableEntry.PROTNONE, false, m.tlb));
            m.tlb.finish();
            final long none = m.pmdEntry(HUGE);
            assertTrue(PageTableEntry.isHugePmd(none));
            assertTrue(PageTableEntry.isProtNone(none));
            assertEquals(PageTableEntry.leafAddress(first, PageTableEntry.LEVEL_PMD), PageTableEntry.leafAddress(none, PageTableEntry.LEVEL_PMD));
            m.check();
            m.unmap(0L, 4 * HUGE);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void cleanAndSoftDirtyClearActOnAWholeLeaf()
    {
        try (Machine m = Machine.full(64 * MIB))
        {
            final long head = m.hugePage(HUGE, LEAF | PageTableEntry.SOFT_DIRTY);
            m.tlb.begin(TlbFlush.NONE);
            assertEquals(OK, m.editor.clean(m.cr3, HUGE, 2 * HUGE, m.tlb));
            assertEquals(512, m.editor.done());
            assertEquals(OK, m.editor.clearSoftDirty(m.cr3, HUGE, 2 * HUGE, m.tlb));
            assertEquals(512, m.editor.done());
            m.tlb.finish();
            final long leaf = m.pmdEntry(HUGE);
            assertTrue(PageTableEntry.isHugePmd(leaf));
            assertEquals(0, leaf & (PageTableEntry.DIRTY | PageTableEntry.ACCESSED | PageTableEntry.SOFT_DIRTY
                | PageTableEntry.WRITABLE));
            assertTrue((m.memory.flags(head + 7) & FrameFlags.DIRTY) != 0, "a dirty huge page's subpages are marked");
            m.check();
            m.unmap(0L, 2 * HUGE);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void moveTakesAWholeLeafToAnAlignedDestinationAndSplitsOtherwise()
    {
        try (Machine m = Machine.full(64 * MIB))
        {
            final long head = m.hugePage(HUGE, LEAF);
            assertEquals(OK, m.editor.move(m.cr3, HUGE, 8 * HUGE, HUGE, true));
            assertEquals(512, m.editor.done());
            final long moved = m.pmdEntry(8 * HUGE);
            assertTrue(PageTableEntry.isHugePmd(moved), "move_huge_pmd: still one leaf");
            assertTrue((moved & PageTableEntry.SOFT_DIRTY) != 0, "and soft-dirty");
            assertEquals(0L, m.pmdEntry(HUGE));
            assertEquals((head + 5) << 12, m.editor.walker().translate(m.cr3, 8 * HUGE + 5 * 4096L));
            m.check();

            // to a destination 4 KiB off the alignment: split, each subpage moved
            assertEquals(OK, m.editor.move(m.cr3, 8 * HUGE, 12 * HUGE + 4096L, HUGE, false));
            assertEquals(512, m.editor.done());
            assertEquals((head + 5) << 12, m.editor.walker().translate(m.cr3, 12 * HUGE + 6 * 4096L));
            assertEquals(PageWalker.NO_TRANSLATION, m.editor.walker().translate(m.cr3, 8 * HUGE));
            m.check();
            m.unmap(0L, 14 * HUGE);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void theHugeZeroPageSplitsIntoTheFourKibZeroPageAndIsNeverFreed()
    {
        try (Machine m = Machine.full(64 * MIB))
        {
            final long zero = m.memory.hugeZeroPagePfn();
            assertEquals(zero, m.memory.hugeZeroPagePfn(), "allocated once");
            final long slotVa = HUGE;
            assertEquals(PageWalker.WALK_ENTRY, m.editor.walker().walkAllocPmd(m.cr3, slotVa));
            final long slot = m.editor.walker().slot();
            final long readOnly = 0x8000_0000_0000_0025L | PageTableEntry.SPECIAL;
            assertEquals(OK, m.editor.huge().install(slot, PageTableEntry.largeLeaf(zero << 12, readOnly)));
            assertEquals(PageTableEditor.LARGE_LEAF, m.editor.huge().install(slot, PageTableEntry.largeLeaf(zero << 12, readOnly)),
                "a second install finds the entry taken");
            m.check();
            assertTrue(m.editor.huge().split(slot));
            assertFalse(m.editor.huge().split(slot), "nothing left to split");
            assertEquals((m.memory.zeroPagePfn() << 12) | readOnly, m.entry(m.pteSlot(HUGE + 77 * 4096L)));
            m.check();
            m.unmap(0L, 2 * HUGE);
            assertEquals(m.baseline + PhysicalMemory.HUGE_FRAMES, m.memory.framesInUse(), "the huge zero page stays");
            assertEquals(FrameFlags.ZERO_PAGE, m.memory.flags(zero + 3) & FrameFlags.STATE_MASK);
        }
    }

    @Test
    void aBlockStillPartlyHeldIsFreedSubpageBySubpage()
    {
        try (Machine m = Machine.full(64 * MIB))
        {
            final long head = m.hugePage(HUGE, LEAF);
            // another holder of one subpage (as a page cache or a fork would be)
            m.memory.retainData(head + 9);
            m.zap(HUGE, 2 * HUGE);
            assertEquals(1, m.memory.refcount(head + 9));
            assertEquals(0, m.memory.refcount(head + 8));
            m.memory.releaseData(m.cache, head + 9, false);
            m.freeTables(0L, 2 * HUGE, 0L, 0L, TlbFlush.NONE);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }
}
