package io.mmemu.pgtable;

import io.mmemu.phys.Backing;
import io.mmemu.phys.BuddyAllocator;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;

import static io.mmemu.pgtable.Machine.ADDRESS_BITS;
import static io.mmemu.pgtable.Machine.TABLE_BITS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checker every stress test ends with must itself catch each kind of corruption: tables are
 * built with the editor, then broken by hand one way at a time.
 */
final class PageTableCheckerTest
{
    private static final long MIB = 1L << 20;

    @Test
    void healthyTablesPassAndAreCounted()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0L, 0x3000L);
            m.populate(0x4000_0000L, 0x4000_1000L);
            final PageTableChecker.Result result = PageTableChecker.check(m.memory, m.cr3);
            assertTrue(result.ok(), result.violations()::toString);
            assertEquals(1 + 1 + 2 + 2, result.tables());
            assertEquals(4, result.dataFrames());
            assertEquals(4, result.leaves());
        }
    }

    /** The frames reached are bits; a frame reached again is counted again, not lost. */
    @Test
    void everyEntryMappingAFrameIsCounted()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0L, 0x4000L);
            final long leaf = m.entry(m.pteSlot(0L));
            final long pfn = (leaf & ADDRESS_BITS) >>> 12;
            m.setEntry(m.pteSlot(0x1000L), leaf);
            m.setEntry(m.pteSlot(0x2000L), leaf);
            assertViolation(m, "frame " + pfn + " has mapcount 1 but 3 entries map it");
            m.memory.mapData(pfn);
            m.memory.mapData(pfn);
            // the two frames whose entries were overwritten are still in use: leaked
            assertViolation(m, "frames in use");
            assertEquals(2, PageTableChecker.check(m.memory, false, m.cr3).dataFrames());
            assertTrue(PageTableChecker.check(m.memory, false, m.cr3).ok());
        }
    }

    /** Tables-only at a size whose every data frame is phantom: each counted once, from the bitmap. */
    @Test
    void phantomFramesAreCountedOverTheWholePfnSpace()
    {
        try (Machine m = new Machine(PhysicalMemory.create(4096 * MIB, Backing.TABLES_ONLY, 16 * MIB)))
        {
            m.populate(0L, 1024 * MIB);
            final PageTableChecker.Result result = PageTableChecker.check(m.memory, m.cr3);
            assertTrue(result.ok(), result.violations()::toString);
            assertEquals(262_144, result.dataFrames());
            assertEquals(262_144, result.leaves());
            assertEquals(1 + 1 + 1 + 512, result.tables());
        }
    }

    @Test
    void leakedFrameBreaksAccounting()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0L, 0x1000L);
            assertNotEquals(BuddyAllocator.NO_FRAME, m.memory.allocateData(m.cache));
            assertViolation(m, "frames in use");
            // without accounting (other address spaces exist) it is not a violation
            assertTrue(PageTableChecker.check(m.memory, false, m.cr3).ok());
        }
    }

    @Test
    void frameMappedTwiceWithoutItsCountIsCaught()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0L, 0x1000L);
            final long leaf = m.entry(m.pteSlot(0L));
            m.setEntry(m.pteSlot(0x1000L), leaf);
            assertViolation(m, "mapcount");
            // with the count taken, the double mapping is legal (a shared page)
            m.memory.mapData((leaf & ADDRESS_BITS) >>> 12);
            m.check();
        }
    }

    @Test
    void entryOutsidePhysicalMemoryIsCaught()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0L, 0x1000L);
            m.setEntry(m.pteSlot(0x1000L), (m.memory.totalFrames() << 12) | 0x067L);
            assertViolation(m, "outside physical memory");
        }
    }

    @Test
    void tableReachableTwiceIsCaught()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            final long pd = populatedPd(m);
            m.setEntry(pd + 8, m.entry(pd));
            assertViolation(m, "reachable twice");
        }
    }

    @Test
    void upperEntryToADataPageIsCaught()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            final long pd = populatedPd(m);
            final long data = m.editor.walker().translate(m.cr3, 0L);
            m.setEntry(pd + 8, data | TABLE_BITS);
            assertViolation(m, "flagged data");
        }
    }

    @Test
    void tableAtTheWrongLevelIsCaught()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            final long pd = populatedPd(m);
            m.setEntry(pd + 8, m.newTable(2) | TABLE_BITS);
            assertViolation(m, "records level 2 but is reached at level 1");
        }
    }

    @Test
    void malformedUpperAndLeafEntriesAreCaught()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0L, 0x1000L);
            final long pdpt = m.entry(m.cr3) & ADDRESS_BITS;
            m.setEntry(pdpt + 8, 0x0000_0000_0012_3066L);      // not present, not empty
            assertViolation(m, "non-present, non-empty entry");
            m.setEntry(pdpt + 8, 0L);

            m.setEntry(m.pteSlot(0x1000L), 0x0000_0000_0012_3E06L);  // neither present nor PROT_NONE
            assertViolation(m, "neither PROT_NONE nor empty");
        }
    }

    @Test
    void writableZeroPageIsCaught()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0L, 0x1000L);
            m.setEntry(m.pteSlot(0x1000L), (m.memory.zeroPagePfn() << 12) | 0x067L);
            assertViolation(m, "zero page mapped writable");
            m.setEntry(m.pteSlot(0x1000L), (m.memory.zeroPagePfn() << 12) | 0x065L);
            m.check();
        }
    }

    @Test
    void freedFrameStillMappedIsCaught()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0L, 0x2000L);
            final long leaf = m.entry(m.pteSlot(0L));
            // free the page behind the tables' back, as a missing TLB-gather discipline would
            m.memory.unmapData((leaf & ADDRESS_BITS) >>> 12);
            m.memory.releaseData(m.cache, (leaf & ADDRESS_BITS) >>> 12, false);
            assertViolation(m, "is flagged");
        }
    }

    @Test
    void unclaimedPhantomFrameMappedIsCaught()
    {
        // 1 MiB of PFN space, 512 KiB of it backed: PFNs 128..255 are phantom
        try (Machine m = new Machine(PhysicalMemory.create(MIB, Backing.TABLES_ONLY, 512 * 1024)))
        {
            m.populate(0L, 0x1000L);
            final long data = m.editor.walker().translate(m.cr3, 0L) >>> 12;
            assertTrue(data >= 128 && data < 256, "data frames are phantom: " + data);
            m.check();
            m.setEntry(m.pteSlot(0x1000L), (200L << 12) | 0x067L);
            assertViolation(m, "phantom frame 200 mapped at 0x1000 is free");
            m.setEntry(m.pteSlot(0x1000L), (data << 12) | 0x067L);
            assertViolation(m, "mapped twice");
        }
    }

    @Test
    void assertOkListsTheViolations()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.memory.allocateData(m.cache);
            final AssertionError error = assertThrows(AssertionError.class, m::check);
            assertTrue(error.getMessage().contains("frames in use 3 != tables 1 + data 0 + zero pages 1"), error.getMessage());
        }
    }

    /** Populates the page at 0 and returns the physical address of its PD, followed by hand. */
    private static long populatedPd(final Machine m)
    {
        m.populate(0L, 0x1000L);
        final long pdpt = m.entry(m.cr3) & ADDRESS_BITS;
        return m.entry(pdpt) & ADDRESS_BITS;
    }

    private static void assertViolation(final Machine m, final String fragment)
    {
        final PageTableChecker.Result result = PageTableChecker.check(m.memory, m.cr3);
        assertFalse(result.ok(), "corruption not detected: " + fragment);
        assertTrue(result.violations().stream().anyMatch(v -> v.contains(fragment)),
            () -> "expected a violation mentioning '" + fragment + "', got " + result.violations());
    }
}
