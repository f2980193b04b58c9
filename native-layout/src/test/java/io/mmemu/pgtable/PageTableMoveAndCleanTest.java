package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.FrameFlags;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;

import static io.mmemu.pgtable.Machine.ADDRESS_BITS;
import static io.mmemu.pgtable.Machine.CLEAN_RW;
import static io.mmemu.pgtable.PageTableEditor.LARGE_LEAF;
import static io.mmemu.pgtable.PageTableEditor.NO_MEMORY;
import static io.mmemu.pgtable.PageTableEditor.OK;
import static io.mmemu.pgtable.PageWalker.NO_TRANSLATION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** mremap's entry move and MADV_FREE's dirty-bit clearing. */
final class PageTableMoveAndCleanTest
{
    private static final long MIB = 1L << 20;
    private static final long SOFT_DIRTY = 0x800L;

    @Test
    void moveCarriesEntriesAndFramesAndMarksThemSoftDirty()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            final long from = 0x1F_E000L;
            final long to = 0x4000_1000L;
            final long[] before = fourPagesOneProtNone(m, from);

            assertEquals(OK, m.editor.move(m.cr3, from, to, 0x4000L, true));
            assertEquals(4, m.editor.done());
            for (int i = 0; i < 4; i++)
            {
                assertEquals(0L, m.entry(m.pteSlot(from + i * 0x1000L)), "source entry " + i + " cleared");
                assertEquals(before[i] | SOFT_DIRTY, m.entry(m.pteSlot(to + i * 0x1000L)), "entry " + i + " moved");
                final long pfn = (before[i] & ADDRESS_BITS) >>> 12;
                assertEquals(1, m.memory.mapcount(pfn));
                assertEquals(1, m.memory.refcount(pfn));
            }
            assertEquals((before[1] & ADDRESS_BITS) | 0x123, m.editor.walker().translate(m.cr3, to + 0x1123L));
            assertEquals(NO_TRANSLATION, m.editor.walker().translate(m.cr3, to + 0x2000L), "still PROT_NONE");

            // root, PDPT, PD 0 with the two source PTs, PD 1 with the destination PT
            final PageTableChecker.Result result = m.check();
            assertEquals(7, result.tables());
            assertEquals(4, result.dataFrames());
            m.unmap(0L, Machine.USER_END);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    /** Four pages from {@code from} (across the PT boundary at 2 MiB), the third made PROT_NONE; their entries. */
    private static long[] fourPagesOneProtNone(final Machine m, final long from)
    {
        m.populate(from, from + 0x4000L);
        m.tlb.begin(TlbFlush.NONE);
        assertEquals(OK, m.editor.changeProtection(m.cr3, from + 0x2000L, from + 0x3000L, 0x100L, false, m.tlb));
        m.tlb.finish();
        final long[] before = new long[4];
        for (int i = 0; i < 4; i++)
        {
            before[i] = m.entry(m.pteSlot(from + i * 0x1000L));
        }
        return before;
    }

    @Test
    void moveLeavesHolesAsHoles()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            final long[] pages = {0x0L, 0x5000L, 0x30_0000L};
            for (final long page : pages)
            {
                m.populate(page, page + 0x1000L);
            }
            final long to = 0x8000_0000L;
            assertEquals(OK, m.editor.move(m.cr3, 0L, to, 0x40_0000L, true));
            assertEquals(3, m.editor.done());
            for (long va = 0; va < 0x40_0000L; va += 0x1000L)
            {
                final boolean mapped = va == pages[0] || va == pages[1] || va == pages[2];
                assertEquals(mapped, m.editor.walker().translate(m.cr3, to + va) != NO_TRANSLATION, String.format("0x%x", va));
                assertEquals(NO_TRANSLATION, m.editor.walker().translate(m.cr3, va));
            }
            assertEquals(3, m.check().dataFrames());
            m.unmap(0L, Machine.USER_END);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void moveOutOfTableFramesKeepsWhatMovedAndStaysConsistent()
    {
        // 128 frames: the zero page, root, PDPT, PD and PT leave exactly 122 for data
        try (Machine m = Machine.full(128 * 4096))
        {
            m.populate(0L, 0x7A000L);
            m.zap(0x78000L, 0x7A000L);
            // two frames free: the destination's PD and first PT; its second PT cannot be had
            final long to = 0x4000_0000L + 0x1F_0000L;
            assertEquals(NO_MEMORY, m.editor.move(m.cr3, 0L, to, 0x78000L, true));
            assertEquals(16, m.editor.done(), "the 16 entries that fit the first destination PT");
            final PageTableChecker.Result result = m.check();
            assertEquals(6, result.tables());
            assertEquals(120, result.dataFrames());
            assertEquals(NO_TRANSLATION, m.editor.walker().translate(m.cr3, 0xF000L));
            assertNotEquals(NO_TRANSLATION, m.editor.walker().translate(m.cr3, to + 0xF000L));
            assertNotEquals(NO_TRANSLATION, m.editor.walker().translate(m.cr3, 0x10000L), "not moved");
            m.unmap(0L, Machine.USER_END);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void aMoveFreezesTheSourceFlushesItMovesFrozenAndThawsTheDestination()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            final long from = 0x1F_E000L;
            final long to = 0x4000_1000L;
            final long[] before = fourPagesOneProtNone(m, from);
            final RecordingFlush flush = new RecordingFlush((start, end) ->
            {
                // the flush comes after every present entry is frozen: nothing translates any more
                for (int i = 0; i < 4; i++)
                {
                    assertEquals(NO_TRANSLATION, m.editor.walker().translate(m.cr3, from + i * 0x1000L));
                }
            });
            m.tlb.begin(flush);
            assertEquals(OK, m.editor.freezeForMove(m.cr3, from, from + 0x4000L, m.tlb));
            assertEquals(3, m.editor.done(), "the three present entries; PROT_NONE is not frozen");
            m.tlb.finish();
            assertEquals(String.format("[0x%x,0x%x)", from, from + 0x4000L), flush.describe());
            for (int i = 0; i < 4; i++)
            {
                final long e = m.entry(m.pteSlot(from + i * 0x1000L));
                assertEquals(i != 2, PageTableEntry.isMoving(e), "entry " + i);
                assertEquals(i != 2 ? PageTableEntry.moving(before[i]) : before[i], e, "entry " + i + " keeps its bits");
                assertTrue(PageTableEntry.isMapped(e) && !SwapEntry.isSwap(e), "a frozen entry still maps its frame");
            }
            assertEquals(OK, m.editor.move(m.cr3, from, to, 0x4000L, false));
            assertEquals(NO_TRANSLATION, m.editor.walker().translate(m.cr3, to), "frozen at the destination until the thaw");
            assertEquals(OK, m.editor.thawMoved(m.cr3, to, to + 0x4000L));
            assertEquals(3, m.editor.done());
            for (int i = 0; i < 4; i++)
            {
                assertEquals(0L, m.entry(m.pteSlot(from + i * 0x1000L)));
                assertEquals(before[i], m.entry(m.pteSlot(to + i * 0x1000L)), "entry " + i + " arrives as it left");
            }
            assertEquals(4, m.check().dataFrames());
            m.unmap(0L, Machine.USER_END);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void aFailedMoveGoesBackFrozenAndThawsTheSourceAsItWas()
    {
        // the machine of moveOutOfTableFramesKeepsWhatMovedAndStaysConsistent: the destination's second PT cannot be had
        try (Machine m = Machine.full(128 * 4096))
        {
            m.populate(0L, 0x7A000L);
            m.zap(0x78000L, 0x7A000L);
            final long[] before = new long[0x78];
            for (int i = 0; i < before.length; i++)
            {
                before[i] = m.entry(m.pteSlot(i * 0x1000L));
            }
            final long to = 0x4000_0000L + 0x1F_0000L;
            m.tlb.begin(TlbFlush.NONE);
            assertEquals(OK, m.editor.freezeForMove(m.cr3, 0L, 0x78000L, m.tlb));
            m.tlb.finish();
            assertEquals(NO_MEMORY, m.editor.move(m.cr3, 0L, to, 0x78000L, false));
            assertEquals(16, m.editor.done());
            assertEquals(NO_TRANSLATION, m.editor.walker().translate(m.cr3, to), "what moved is still frozen");
            // Mremap's way back: the moved entries return frozen, then the source thaws
            assertEquals(OK, m.editor.move(m.cr3, to, 0L, 0x78000L, false));
            assertEquals(16, m.editor.done());
            assertEquals(OK, m.editor.thawMoved(m.cr3, 0L, 0x78000L));
            assertEquals(0x78, m.editor.done());
            for (int i = 0; i < before.length; i++)
            {
                assertEquals(before[i], m.entry(m.pteSlot(i * 0x1000L)), "entry " + i);
            }
            assertEquals(120, m.check().dataFrames());
            m.unmap(0L, Machine.USER_END);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void cleanClearsTheDirtyAndAccessedBitsAndFlushesTheRange()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0L, 0x3000L);
            assertEquals(OK, m.editor.populate(m.cr3, 0x3000L, 0x4000L, CLEAN_RW));
            // PROT_NONE keeps D: 0x067 -> 0x060 | 0x100
            m.tlb.begin(TlbFlush.NONE);
            m.editor.changeProtection(m.cr3, 0x2000L, 0x3000L, 0x100L, false, m.tlb);
            m.tlb.finish();
            final long[] frames = new long[4];
            for (int i = 0; i < 4; i++)
            {
                frames[i] = m.entry(m.pteSlot(i * 0x1000L)) & ADDRESS_BITS;
            }

            RecordingFlush flush = new RecordingFlush();
            m.tlb.begin(flush);
            assertEquals(OK, m.editor.clean(m.cr3, 0L, 0x4000L, m.tlb));
            m.tlb.finish();
            // madvise_free_pte_range: pte_mkold + pte_mkclean, so the clean but accessed entry changes too
            assertEquals(4, m.editor.done(), "three dirty entries and one accessed one");
            assertEquals("[0x0,0x4000)", flush.describe());
            assertEquals(frames[0] | (CLEAN_RW & ~0x20L), m.entry(m.pteSlot(0L)));
            assertEquals(frames[1] | (CLEAN_RW & ~0x20L), m.entry(m.pteSlot(0x1000L)));
            assertEquals(frames[2] | 0x100L, m.entry(m.pteSlot(0x2000L)));
            assertEquals(frames[3] | (CLEAN_RW & ~0x20L), m.entry(m.pteSlot(0x3000L)));

            flush = new RecordingFlush();
            m.tlb.begin(flush);
            assertEquals(OK, m.editor.clean(m.cr3, 0L, 0x4000L, m.tlb));
            m.tlb.finish();
            assertEquals(0, m.editor.done());
            assertEquals("", flush.describe(), "nothing changed, nothing to flush");
            m.check();
        }
    }

    /**
     * MADV_FREE clears D of pages that were written. Unmapped later, such a page must not be taken
     * for a never-written one: it has to be cleared before it is handed out again.
     */
    @Test
    void pageCleanedByMadvFreeIsStillClearedBeforeReuse()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0L, 0x1000L);
            final long pfn = m.editor.walker().translate(m.cr3, 0L) >>> 12;
            final MemorySegment page = m.memory.frames().asSlice(pfn << 12, PhysicalMemory.PAGE_SIZE);
            page.fill((byte)0x6B);

            m.tlb.begin(TlbFlush.NONE);
            assertEquals(OK, m.editor.clean(m.cr3, 0L, 0x1000L, m.tlb));
            m.tlb.finish();
            m.zap(0L, 0x1000L);
            assertEquals(0, m.memory.flags(pfn) & FrameFlags.ZEROED, "a written page is not known to be zero");

            assertEquals(pfn, m.memory.allocateData(m.cache), "the cache hands back the frame it just got");
            assertEquals(-1, page.mismatch(MemorySegment.ofArray(new byte[(int)PhysicalMemory.PAGE_SIZE])),
                "a new anonymous page must read as zero");
        }
    }

    @Test
    void cleanRefusesGigabyteLeaves()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.editor.walker().walkAlloc(m.cr3, 0L);
            final long pdpt = m.entry(m.cr3) & ADDRESS_BITS;
            m.setEntry(pdpt + 8, 0x0000_0000_4000_00E7L);     // 1 GiB leaf, P|RW|US|A|D|PS
            m.tlb.begin(TlbFlush.NONE);
            assertEquals(LARGE_LEAF, m.editor.clean(m.cr3, 0x4000_0000L, 0x4000_1000L, m.tlb));
            assertEquals(OK, m.editor.clean(m.cr3, 0x8000_0000L, 0xC000_0000L, m.tlb), "a hole is nothing to clean");
            m.tlb.finish();
            assertEquals(0x0000_0000_4000_00E7L, m.entry(pdpt + 8));
        }
    }
}
