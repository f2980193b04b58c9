package io.mmemu.pgtable;

import java.util.ArrayList;
import java.util.List;

import io.mmemu.phys.FrameFlags;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static io.mmemu.pgtable.Machine.ADDRESS_BITS;
import static io.mmemu.pgtable.Machine.CLEAN_RW;
import static io.mmemu.pgtable.Machine.DIRTY_RW;
import static io.mmemu.pgtable.PageTableEditor.LARGE_LEAF;
import static io.mmemu.pgtable.PageTableEditor.NO_MEMORY;
import static io.mmemu.pgtable.PageTableEditor.OK;
import static io.mmemu.pgtable.PageWalker.NO_TRANSLATION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Range operations: populate, zap, freeTables (with floor and ceiling), changeProtection, and
 * populate running out of memory. Every test ends with the checker and frames back at the baseline.
 */
final class PageTableEditorTest
{
    private static final long MIB = 1L << 20;

    @Test
    void populateZapFreeTablesReturnsEveryFrame()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            // 0x3FFF_E000..0x4000_3000: two pages at the end of PD 0 / PT 511, three at PD 1 / PT 0
            final long start = 0x3FFF_E000L;
            final long end = 0x4000_3000L;
            assertEquals(OK, m.editor.populate(m.cr3, start, end, DIRTY_RW));
            assertEquals(5, m.editor.done());
            final PageTableChecker.Result populated = m.check();
            // root, one PDPT, two PDs, two PTs
            assertEquals(6, populated.tables());
            assertEquals(5, populated.dataFrames());
            assertEquals(m.baseline + 5 + 5, m.memory.framesInUse());
            for (long va = start; va < end; va += 0x1000)
            {
                final PageWalker walker = m.editor.walker();
                assertEquals(PageWalker.WALK_PTE, walker.walk(m.cr3, va));
                assertEquals(DIRTY_RW, walker.entry() & ~ADDRESS_BITS);
                final long pfn = (walker.entry() & ADDRESS_BITS) >>> 12;
                assertEquals(FrameFlags.DATA, m.memory.flags(pfn) & FrameFlags.STATE_MASK);
                assertEquals(1, m.memory.refcount(pfn));
                assertEquals(1, m.memory.mapcount(pfn));
            }
            assertEquals(NO_TRANSLATION, m.editor.walker().translate(m.cr3, start - 0x1000));
            assertEquals(NO_TRANSLATION, m.editor.walker().translate(m.cr3, end));

            // populating again changes nothing
            assertEquals(OK, m.editor.populate(m.cr3, start, end, DIRTY_RW));
            assertEquals(0, m.editor.done());
            assertEquals(m.baseline + 10, m.memory.framesInUse());

            m.tlb.begin(TlbFlush.NONE);
            assertEquals(OK, m.editor.zap(m.cr3, start, end, m.tlb));
            assertEquals(5, m.editor.done());
            assertEquals(m.baseline + 10, m.memory.framesInUse(), "frames wait in the gather for the flush");
            m.tlb.finish();
            assertEquals(m.baseline + 5, m.memory.framesInUse(), "tables stay until freeTables");
            assertEquals(0, m.check().dataFrames());

            m.freeTables(start, end, 0L, 0L, TlbFlush.NONE);
            assertEquals(m.baseline, m.memory.framesInUse());
            assertEquals(1, m.check().tables());

            m.editor.freeRoot(m.cr3);
            assertEquals(1, m.memory.framesInUse(), "only the zero page is left");
        }
    }

    @Test
    void rangeOperationsTakeInterruptsBeforeEachTableWithNoLockHeld()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            // the last page of PT 0, all of PT 1, the first page of PT 2
            final long start = 0x1F_F000L;
            final long end = 0x40_1000L;
            final long[] tables = new long[3];
            final int[] calls = new int[1];
            final List<String> held = new ArrayList<>();
            m.editor.takeInterruptsWith(() ->
            {
                calls[0]++;
                for (final long pt : tables)
                {
                    if (pt != 0 && PtLock.owner(m.memory.metadata(), pt) != PtLock.UNLOCKED)
                    {
                        held.add("PT " + pt + " locked during interrupt " + calls[0]);
                    }
                }
            });
            m.populate(start, end);
            assertEquals(3, calls[0], "populate: one interrupt point per table");
            for (int i = 0; i < 3; i++)
            {
                assertEquals(PageWalker.WALK_PTE, m.editor.walker().walk(m.cr3, start + i * 0x20_0000L));
                tables[i] = m.editor.walker().tablePfn();
            }
            calls[0] = 0;
            m.tlb.begin(TlbFlush.NONE);
            assertEquals(OK, m.editor.changeProtection(m.cr3, start, end, PageTableEntry.PRESENT | PageTableEntry.USER, false, m.tlb));
            m.tlb.finish();
            assertEquals(3, calls[0], "mprotect: one interrupt point per table");
            calls[0] = 0;
            m.zap(start, end);
            assertEquals(3, calls[0], "zap: one interrupt point per table");
            assertEquals(List.of(), held);
            m.editor.takeInterruptsWith(PageTableEditor.NO_INTERRUPTS);
            m.unmap(start, end);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void populateFillsOnlyEmptyEntries()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0x1000L, 0x3000L);
            final long first = m.editor.walker().translate(m.cr3, 0x1000L);
            assertEquals(OK, m.editor.populate(m.cr3, 0L, 0x5000L, DIRTY_RW));
            assertEquals(3, m.editor.done());
            assertEquals(first, m.editor.walker().translate(m.cr3, 0x1000L), "existing mapping kept");
            assertEquals(5, m.check().dataFrames());
            m.unmap(0L, 0x5000L);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void zapOfASubRangeLeavesTheRest()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0L, 0x10000L);
            final long kept = m.editor.walker().translate(m.cr3, 0x8000L);
            m.zap(0x4000L, 0x8000L);
            assertEquals(4, m.editor.done());
            final PageWalker walker = m.editor.walker();
            assertNotEquals(NO_TRANSLATION, walker.translate(m.cr3, 0x3FFFL));
            for (long va = 0x4000L; va < 0x8000L; va += 0x1000L)
            {
                assertEquals(NO_TRANSLATION, walker.translate(m.cr3, va));
            }
            assertEquals(kept, walker.translate(m.cr3, 0x8000L));
            assertEquals(12, m.check().dataFrames());
            assertEquals(m.baseline + 3 + 12, m.memory.framesInUse());

            // zapping a hole is a no-op
            m.zap(0x4000_0000L, 0x8000_0000L);
            assertEquals(0, m.editor.done());
            m.unmap(0L, 0x10000L);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void populateAtTheTopOfUserSpace()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0x7FFF_FFFF_0000L, Machine.USER_END);
            assertEquals(16, m.editor.done());
            assertEquals(4, m.check().tables());
            assertNotEquals(NO_TRANSLATION, m.editor.walker().translate(m.cr3, 0x7FFF_FFFF_FFFFL));
            m.unmap(0x7FFF_FFFF_0000L, Machine.USER_END);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    /**
     * One page at 0x20_0000, zapped, then its tables freed between neighbours: a table is freed only
     * when its whole span lies within [floor, ceiling) (ceiling 0: no next neighbour), empty or not.
     * The PT spans 0x20_0000..0x40_0000, the PD 0..1 GiB, the PDPT 0..512 GiB.
     */
    @ParameterizedTest(name = "floor {0} ceiling {1}")
    @CsvSource({
        // floor,  ceiling, tables left, flushed range
        "200000,   201000,  4,           ''",                         // next neighbour inside the PT's span
        "0,        201000,  4,           ''",
        "200000,   0,       3,           '[0x200000,0x400000)'",      // previous neighbour ends where the PT starts
        "1ff000,   400000,  3,           '[0x200000,0x400000)'",      // the PT ends exactly at the ceiling
        "200000,   3ff000,  4,           ''",
        "0,        40000000, 2,          '[0x0,0x40000000)'",         // the PD fits, the PDPT does not
        "0,        0,       1,           '[0x0,0x8000000000)'",       // no neighbours at all
    })
    void freeTablesKeepsTablesSharedWithANeighbour(final String floor, final String ceiling, final long tablesLeft,
        final String flushed)
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0x20_0000L, 0x20_1000L);
            m.zap(0x20_0000L, 0x20_1000L);
            final RecordingFlush flush = new RecordingFlush();
            m.freeTables(0x20_0000L, 0x20_1000L, Long.parseLong(floor, 16), Long.parseLong(ceiling, 16), flush);
            assertEquals(tablesLeft, m.check().tables());
            assertEquals(flushed, flush.describe());
            assertEquals(m.baseline + tablesLeft - 1, m.memory.framesInUse());

            m.freeTables(0x20_0000L, 0x20_1000L, 0L, 0L, TlbFlush.NONE);
            assertEquals(1, m.check().tables());
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void freeTablesKeepsTablesThatStillHoldEntries()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0x20_0000L, 0x20_1000L);
            m.populate(0x40_0000L, 0x40_1000L);
            final long other = m.editor.walker().translate(m.cr3, 0x40_0000L);
            m.unmap(0x20_0000L, 0x20_1000L);
            // root, PDPT, PD (holds the other PT), the other PT
            assertEquals(4, m.check().tables());
            assertEquals(other, m.editor.walker().translate(m.cr3, 0x40_0000L));
            assertEquals(m.baseline + 3 + 1, m.memory.framesInUse());
            m.unmap(0x40_0000L, 0x40_1000L);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void changeProtectionRewritesOnlyProtectionAndHonoursDirtiness()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            final PageWalker walker = m.editor.walker();
            assertEquals(OK, m.editor.populate(m.cr3, 0L, 0x4000L, CLEAN_RW));
            final long[] frames = new long[4];
            for (int i = 0; i < 4; i++)
            {
                frames[i] = walker.translate(m.cr3, i * 0x1000L);
            }

            // read-only: P|US|NX
            RecordingFlush flush = new RecordingFlush();
            m.tlb.begin(flush);
            assertEquals(OK, m.editor.changeProtection(m.cr3, 0L, 0x4000L, 0x8000_0000_0000_0005L, false, m.tlb));
            m.tlb.finish();
            assertEquals(4, m.editor.done());
            assertEquals("[0x0,0x4000)", flush.describe());
            for (int i = 0; i < 4; i++)
            {
                // the frame and A stay: 0x027 - RW 0x002
                assertEquals(frames[i] | 0x8000_0000_0000_0025L, leafAt(m, i * 0x1000L));
            }

            // writable only where the page is exclusive anonymous memory: none is (populate's pages
            // are not marked), so nothing changes and nothing is flushed
            flush = new RecordingFlush();
            m.tlb.begin(flush);
            assertEquals(OK, m.editor.changeProtection(m.cr3, 0L, 0x4000L, 0x8000_0000_0000_0007L, true, m.tlb));
            m.tlb.finish();
            assertEquals(0, m.editor.done());
            assertEquals("", flush.describe());

            // page 2 exclusive (as a fault's page is), page 1 dirty but not: only page 2 becomes writable
            m.memory.markAnonExclusive(frames[2] >>> 12);
            walker.walk(m.cr3, 0x1000L);
            m.setEntry(walker.slot(), walker.entry() | 0x040L);
            m.tlb.begin(TlbFlush.NONE);
            assertEquals(OK, m.editor.changeProtection(m.cr3, 0L, 0x4000L, 0x8000_0000_0000_0007L, true, m.tlb));
            m.tlb.finish();
            assertEquals(1, m.editor.done());
            assertEquals(frames[2] | 0x8000_0000_0000_0027L, leafAt(m, 0x2000L));
            walker.walk(m.cr3, 0x1000L);
            m.setEntry(walker.slot(), walker.entry() & ~0x040L);
            assertEquals(frames[1] | 0x8000_0000_0000_0025L, leafAt(m, 0x1000L));

            // PROT_NONE: P, RW, US, NX cleared, G set; frames kept, nothing translates
            m.tlb.begin(TlbFlush.NONE);
            assertEquals(OK, m.editor.changeProtection(m.cr3, 0L, 0x4000L, 0x100L, false, m.tlb));
            m.tlb.finish();
            assertEquals(4, m.editor.done());
            assertEquals(frames[0] | 0x120L, leafAt(m, 0L));
            assertEquals(frames[2] | 0x120L, leafAt(m, 0x2000L));
            for (int i = 0; i < 4; i++)
            {
                assertEquals(NO_TRANSLATION, walker.translate(m.cr3, i * 0x1000L));
            }
            final PageTableChecker.Result none = m.check();
            assertEquals(4, none.dataFrames());
            assertEquals(4, none.leaves());

            // and back: the same frames reappear
            m.tlb.begin(TlbFlush.NONE);
            assertEquals(OK, m.editor.changeProtection(m.cr3, 0L, 0x4000L, 0x8000_0000_0000_0007L, false, m.tlb));
            m.tlb.finish();
            for (int i = 0; i < 4; i++)
            {
                assertEquals(frames[i], walker.translate(m.cr3, i * 0x1000L));
            }

            // PROT_NONE pages are still freed by zap
            m.tlb.begin(TlbFlush.NONE);
            m.editor.changeProtection(m.cr3, 0L, 0x4000L, 0x100L, false, m.tlb);
            m.tlb.finish();
            m.unmap(0L, 0x4000L);
            assertEquals(4, m.editor.done(), "zap cleared the PROT_NONE entries");
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void zeroPageIsNeverMadeWritableNorFreed()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            final long zero = m.memory.zeroPagePfn();
            // a read-only data page (P|US|A|NX) and, next to it, a read fault's mapping of the zero page written by hand
            assertEquals(OK, m.editor.populate(m.cr3, 0x10_0000L, 0x10_1000L, 0x8000_0000_0000_0025L));
            final PageWalker walker = m.editor.walker();
            walker.walk(m.cr3, 0x10_1000L);
            m.setEntry(walker.slot(), (zero << 12) | 0x8000_0000_0000_0025L);
            m.check();

            m.tlb.begin(TlbFlush.NONE);
            assertEquals(OK, m.editor.changeProtection(m.cr3, 0x10_0000L, 0x10_2000L, 0x8000_0000_0000_0007L, false, m.tlb));
            m.tlb.finish();
            assertEquals(1, m.editor.done(), "only the data page changed");
            assertEquals((zero << 12) | 0x8000_0000_0000_0025L, leafAt(m, 0x10_1000L));
            m.check();

            m.unmap(0x10_0000L, 0x10_2000L);
            assertEquals(2, m.editor.done(), "zap cleared both entries");
            assertEquals(FrameFlags.ZERO_PAGE, m.memory.flags(zero) & FrameFlags.STATE_MASK);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void gigabyteLeavesAreSkippedByPopulateAndRefusedByZapAndMprotect()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            final long below = 0x3FFF_F000L;
            final long above = 0x8000_0000L;
            m.populate(below, below + 0x1000L);
            final long pdpt = m.entry(m.cr3) & ADDRESS_BITS;
            // PDPT[1]: 1 GiB leaf at PA 1 GiB (beyond this machine: never reached), P|RW|US|PS = 0x087
            m.setEntry(pdpt + 8, 0x0000_0000_4000_0087L);

            assertEquals(OK, m.editor.populate(m.cr3, below, above + 0x1000L, DIRTY_RW));
            assertEquals(1, m.editor.done(), "the page above, not the 1 GiB leaf (the page below was there)");
            assertEquals(0x0000_0000_4000_0087L, m.entry(pdpt + 8));

            m.tlb.begin(TlbFlush.NONE);
            assertEquals(LARGE_LEAF, m.editor.changeProtection(m.cr3, 0x4000_0000L, above, 0x005L, false, m.tlb));
            assertEquals(LARGE_LEAF, m.editor.zap(m.cr3, below, above + 0x1000L, m.tlb));
            m.tlb.finish();
            assertEquals(0x0000_0000_4000_0087L, m.entry(pdpt + 8));

            m.setEntry(pdpt + 8, 0L);
            m.unmap(below, above + 0x1000L);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void populateOutOfDataFramesStopsConsistently()
    {
        // 128 frames: PFN 0 reserved, the zero page, root, PDPT, PD, PT leave 122 for data
        try (Machine m = Machine.full(128 * 4096))
        {
            assertEquals(NO_MEMORY, m.editor.populate(m.cr3, 0L, 0x4000_0000L, DIRTY_RW));
            assertEquals(122, m.editor.done());
            final PageTableChecker.Result result = m.check();
            assertEquals(4, result.tables());
            assertEquals(122, result.dataFrames());
            assertEquals(127, m.memory.framesInUse(), "every frame but PFN 0");
            final PageWalker walker = m.editor.walker();
            assertNotEquals(NO_TRANSLATION, walker.translate(m.cr3, 121 * 0x1000L));
            assertEquals(NO_TRANSLATION, walker.translate(m.cr3, 122 * 0x1000L));

            // still exhausted, still a status
            assertEquals(NO_MEMORY, m.editor.populate(m.cr3, 0L, 0x4000_0000L, DIRTY_RW));
            assertEquals(0, m.editor.done());

            m.unmap(0L, 0x4000_0000L);
            assertEquals(m.baseline, m.memory.framesInUse());
            // the memory is usable again
            assertEquals(OK, m.editor.populate(m.cr3, 0L, 0x7A_000L, DIRTY_RW));
            assertEquals(122, m.editor.done());
            m.check();
            m.unmap(0L, 0x7A_000L);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void populateOutOfTableFramesStopsConsistently()
    {
        // 128 frames: after PFN 0, the zero page, root and the PDPT, 124 are free; one page in each
        // GiB needs a PD, a PT and a data frame: 41 such pages use 123, the 42nd gets its PD only
        try (Machine m = Machine.full(128 * 4096))
        {
            int mapped = 0;
            int status;
            while ((status = m.editor.populate(m.cr3, (long)mapped << 30, ((long)mapped << 30) + 0x1000, DIRTY_RW)) == OK)
            {
                mapped++;
            }
            assertEquals(NO_MEMORY, status);
            assertEquals(0, m.editor.done());
            assertEquals(41, mapped);
            final PageTableChecker.Result result = m.check();
            assertEquals(1 + 1 + 42 + 41, result.tables(), "root, PDPT, 42 PDs (the last one empty), 41 PTs");
            assertEquals(41, result.dataFrames());
            assertEquals(PageWalker.WALK_HOLE, m.editor.walker().walk(m.cr3, 41L << 30));
            assertEquals(2, m.editor.walker().level());

            m.unmap(0L, Machine.USER_END);
            assertEquals(m.baseline, m.memory.framesInUse());
            assertEquals(1, m.check().tables());
        }
    }

    private static long leafAt(final Machine m, final long va)
    {
        assertEquals(PageWalker.WALK_PTE, m.editor.walker().walk(m.cr3, va));
        return m.editor.walker().entry();
    }
}
