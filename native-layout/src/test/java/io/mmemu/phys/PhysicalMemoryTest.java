package io.mmemu.phys;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;
import static io.mmemu.phys.PhysicalMemory.PAGE_SIZE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The frame life cycle: accounting, exhaustion as a status, zeroing, reference counts, tables-only backing. */
final class PhysicalMemoryTest
{
    private static final long MIB = 1L << 20;

    /**
     * A write fault's page has the line its store goes to recorded as written when it is
     * allocated (allocateAnon's {@code lines}), so the store needs no record of its own: a byte
     * stored there without markWritten is still cleared when the frame is reused, though the page
     * is freed as clean (its mapping never dirtied), which without the record would leave it
     * ZEROED as it is.
     */
    @Test
    void aWriteFaultsLineIsRecordedAtAllocation()
    {
        // without poisoning (KASAN, on in the tests, would clear the whole frame at reuse anyway)
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20).disablePoisoning())
        {
            final FrameCache cache = memory.newCache();
            final long offset = 0x1C0;
            final long pfn = memory.allocateAnon(cache, 0b11, 5, PhysicalMemory.lineBit(offset));
            memory.drainAddBatch(cache);
            memory.frames().set(ValueLayout.JAVA_BYTE, (pfn << 12) + offset, (byte) 7);
            memory.releaseData(cache, pfn, true);
            final long again = memory.allocateData(cache);
            assertEquals(pfn, again, "the frame just freed is the next one handed out");
            assertEquals(0, memory.frames().get(ValueLayout.JAVA_BYTE, (again << 12) + offset), "the recorded line was cleared");
        }
    }

    @Test
    void freshMachineHasOnlyTheZeroPageInUse()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16 * MIB))
        {
            assertEquals(4096, memory.totalFrames());
            assertEquals(4096, memory.backedFrames());
            assertNull(memory.phantom());
            assertEquals(FrameFlags.RESERVED, memory.flags(0));
            final long zero = memory.zeroPagePfn();
            assertNotEquals(0, zero);
            assertEquals(FrameFlags.ZERO_PAGE | FrameFlags.ZEROED, memory.flags(zero));
            assertEquals(1, memory.framesInUse());
            assertAllZero(memory, zero);
            assertFalse(memory.isValid(0));
            assertTrue(memory.isValid(4095));
            assertFalse(memory.isValid(4096));
        }
    }

    @Test
    void badSizesAreRejectedWithAMessage()
    {
        assertThrows(IllegalArgumentException.class, () -> PhysicalMemory.create(0));
        assertThrows(IllegalArgumentException.class, () -> PhysicalMemory.create(15 * PAGE_SIZE));
        assertThrows(IllegalArgumentException.class, () -> PhysicalMemory.create(16 * PAGE_SIZE + 1));
        assertThrows(IllegalArgumentException.class, () -> PhysicalMemory.create(-PAGE_SIZE));
        final IllegalArgumentException beyond =
            assertThrows(IllegalArgumentException.class, () -> PhysicalMemory.create((1L << 52) + PAGE_SIZE));
        assertTrue(beyond.getMessage().contains("52-bit"), beyond.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PhysicalMemory.create(MIB, Backing.TABLES_ONLY, 2 * MIB));
        assertThrows(IllegalArgumentException.class, () -> PhysicalMemory.create(MIB, Backing.TABLES_ONLY, 15 * PAGE_SIZE));
        // refused before anything is reserved: every backed PFN must fit a 32-bit LRU link
        final IllegalArgumentException tooMuchBacked = assertThrows(IllegalArgumentException.class,
            () -> PhysicalMemory.create((1L << 44) + PAGE_SIZE, Backing.FULL));
        assertTrue(tooMuchBacked.getMessage().contains("16 TiB"), tooMuchBacked.getMessage());
    }

    @Test
    void exhaustionIsAStatusAndFreeingRestoresTheAccounts()
    {
        // 16 frames: PFN 0 reserved, one zero page, 14 to hand out
        try (PhysicalMemory memory = PhysicalMemory.create(16 * PAGE_SIZE))
        {
            final FrameCache cache = memory.newCache();
            final Set<Long> pfns = new HashSet<>();
            long pfn;
            while ((pfn = memory.allocateData(cache)) != NO_FRAME)
            {
                assertTrue(pfn > 0 && pfn < 16 && pfn != memory.zeroPagePfn(), "frame " + pfn);
                assertTrue(pfns.add(pfn), "frame " + pfn + " handed out twice");
                assertEquals(1 + pfns.size(), memory.framesInUse());
            }
            assertEquals(14, pfns.size());
            assertEquals(NO_FRAME, memory.allocateData(cache), "stays exhausted");
            assertEquals(NO_FRAME, memory.allocateTable(cache, 1));
            assertEquals(15, memory.framesInUse());
            assertEquals(14, memory.dataFrames());
            assertEquals(0, memory.buddy().freeFrames());

            for (final long p : pfns)
            {
                memory.unmapData(p);
                memory.releaseData(cache, p, true);
            }
            assertEquals(1, memory.framesInUse());
            assertEquals(0, memory.dataFrames());
            // the cache holds them; retiring it gives them back to the buddy allocator
            memory.retireCache(cache);
            assertEquals(14, memory.buddy().freeFrames());
            assertEquals(1, memory.framesInUse());

            final FrameCache next = memory.newCache();
            for (int i = 0; i < 14; i++)
            {
                assertNotEquals(NO_FRAME, memory.allocateTable(next, 1));
            }
            assertEquals(NO_FRAME, memory.allocateData(next));
            assertEquals(14, memory.tablePages());
        }
    }

    @Test
    void dirtyDataPageIsClearedBeforeReuse()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16 * MIB))
        {
            final FrameCache cache = memory.newCache();
            final long pfn = memory.allocateData(cache);
            assertAllZero(memory, pfn);
            fill(memory, pfn, (byte)0x5A);
            memory.unmapData(pfn);
            memory.releaseData(cache, pfn, false);
            assertEquals(0, memory.flags(pfn) & FrameFlags.ZEROED);

            // the cache hands back its most recently freed frame first
            assertEquals(pfn, memory.allocateData(cache));
            assertAllZero(memory, pfn);
            assertEquals(FrameFlags.DATA, memory.flags(pfn));

            // the same for a table: a dirty frame must never become a table with stale entries
            fill(memory, pfn, (byte)0xA5);
            memory.unmapData(pfn);
            memory.releaseData(cache, pfn, false);
            assertEquals(pfn, memory.allocateTable(cache, 2));
            assertAllZero(memory, pfn);
            assertEquals(FrameFlags.TABLE, memory.flags(pfn));
            assertEquals(2, memory.tableLevel(pfn));
        }
    }

    /** A clean release is a promise that the bytes are zero: the frame is handed out again as is. */
    @Test
    void cleanReleaseIsTrustedAndSkipsTheClear()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16 * MIB).disablePoisoning())
        {
            final FrameCache cache = memory.newCache();
            final long pfn = memory.allocateData(cache);
            memory.frames().set(ValueLayout.JAVA_BYTE, (pfn << 12) + 100, (byte)7);
            memory.unmapData(pfn);
            memory.releaseData(cache, pfn, true);
            assertEquals(FrameFlags.ZEROED, memory.flags(pfn));
            assertEquals(pfn, memory.allocateData(cache));
            assertEquals(7, memory.frames().get(ValueLayout.JAVA_BYTE, (pfn << 12) + 100));
        }
    }

    /** Stores recorded line by line: those lines alone are cleared when the frame is reused, which reads zero. */
    @Test
    void recordedStoresAreClearedLineByLineWhenReused()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16 * MIB).disablePoisoning())
        {
            final FrameCache cache = memory.newCache();
            for (final int lines : new int[] {1, PhysicalMemory.LINE_CLEAR_LIMIT, PhysicalMemory.LINE_CLEAR_LIMIT + 1, 64})
            {
                final long pfn = memory.allocateData(cache);
                for (int i = 0; i < lines; i++)
                {
                    // the last byte of every line written, and the first byte of the line after the last
                    final long address = (pfn << 12) + (i * 64L * 64 / lines / 64) * 64 + 63;
                    memory.frames().set(ValueLayout.JAVA_BYTE, address, (byte)0x5A);
                    memory.markWritten(address);
                }
                memory.unmapData(pfn);
                memory.releaseData(cache, pfn, false);
                assertEquals(lines <= PhysicalMemory.LINE_CLEAR_LIMIT ? FrameFlags.WRITTEN_LINES : 0, memory.flags(pfn),
                    lines + " lines written");
                assertEquals(pfn, memory.allocateData(cache));
                assertAllZero(memory, pfn);
                memory.unmapData(pfn);
                memory.releaseData(cache, pfn, true);
                assertEquals(pfn, memory.allocateData(cache));
                memory.unmapData(pfn);
                memory.releaseData(cache, pfn, true);
            }
        }
    }

    /**
     * A huge page freed dirty whole (its leaf's D bit) after stores to a few lines of a few subpages
     * comes back to the buddy allocator ZEROED with those lines cleared and, a marked-dirty subpage
     * cleared whole; the subpages nothing wrote are not cleared (they were zero), and the next
     * owner reads zero everywhere.
     */
    @Test
    void aHugePageFreedDirtyClearsOnlyWhatWasWritten()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16 * MIB).disablePoisoning())
        {
            final FrameCache cache = memory.newCache();
            final long head = memory.allocateHugeData(cache, 0, 0);
            final long written = (head << 12) + 3 * 4096L + 64 * 9 + 5;
            memory.frames().set(ValueLayout.JAVA_BYTE, written, (byte)0x5A);
            memory.markWritten(written);
            final long copied = head + 200;
            memory.frames().asSlice(copied << 12, 4096).fill((byte)0x11);
            memory.markDirty(copied);
            // behind the MMU's back (no store recorded, not marked dirty): what the release must not clear
            memory.frames().asSlice((head + 100) << 12, 4096).fill((byte)0x11);
            for (long pfn = head; pfn < head + PhysicalMemory.HUGE_FRAMES; pfn++)
            {
                memory.unmapData(pfn);
            }
            memory.releaseHugeData(cache, head, false);
            assertEquals(FrameFlags.ZEROED, memory.flags(head) & FrameFlags.ZEROED, "back in the buddy allocator, zero");
            assertEquals(0, memory.frames().get(ValueLayout.JAVA_BYTE, written), "the written line cleared");
            assertAllZero(memory, copied);
            assertEquals(0x11, memory.frames().get(ValueLayout.JAVA_BYTE, (head + 100) << 12),
                "a subpage with no recorded write is not cleared");
        }
    }

    /** A frame with written lines that leaves for the buddy allocator is cleared first: the buddy knows only ZEROED. */
    @Test
    void writtenLinesAreClearedBeforeTheBuddyAllocatorTakesTheFrame()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16 * MIB).disablePoisoning())
        {
            final FrameCache cache = memory.newCache();
            final long pfn = memory.allocateData(cache);
            final long address = (pfn << 12) + 64 * 5 + 7;
            memory.frames().set(ValueLayout.JAVA_BYTE, address, (byte)0x5A);
            memory.markWritten(address);
            memory.unmapData(pfn);
            memory.releaseData(cache, pfn, false);
            assertEquals(FrameFlags.WRITTEN_LINES, memory.flags(pfn));
            assertEquals(0x5A, memory.frames().get(ValueLayout.JAVA_BYTE, address), "not cleared while cached");
            cache.drain();
            assertEquals(0, memory.frames().get(ValueLayout.JAVA_BYTE, address), "cleared on the way to the buddy");
            assertAllZero(memory, pfn);
        }
    }

    /** A page marked dirty (its D bit was dropped, its bytes were not) is cleared even when released clean. */
    @Test
    void markedDirtyPageIsNeverReleasedAsZeroed()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16 * MIB))
        {
            final FrameCache cache = memory.newCache();
            final long pfn = memory.allocateData(cache);
            fill(memory, pfn, (byte)0x3C);
            memory.markDirty(pfn);
            assertEquals(FrameFlags.DATA | FrameFlags.DIRTY, memory.flags(pfn));
            memory.unmapData(pfn);
            memory.releaseData(cache, pfn, true);
            assertEquals(0, memory.flags(pfn));
            assertEquals(pfn, memory.allocateData(cache));
            assertAllZero(memory, pfn);
            assertEquals(FrameFlags.DATA, memory.flags(pfn), "a new page starts clean");
        }
    }

    /** Dirty frames go through the buddy allocator, merge with clean ones, and still come back zero. */
    @Test
    void dirtyFramesMergedInTheBuddyAllocatorComeBackZero()
    {
        // 64 frames: 62 to hand out
        try (PhysicalMemory memory = PhysicalMemory.create(64 * PAGE_SIZE))
        {
            final FrameCache cache = memory.newCache();
            final List<Long> pfns = new ArrayList<>();
            long pfn;
            while ((pfn = memory.allocateData(cache)) != NO_FRAME)
            {
                pfns.add(pfn);
            }
            assertEquals(62, pfns.size());
            for (final long p : pfns)
            {
                final boolean dirty = (p & 1) == 0;
                if (dirty)
                {
                    fill(memory, p, (byte)p);
                }
                memory.unmapData(p);
                memory.releaseData(cache, p, !dirty);
            }
            memory.retireCache(cache);

            final FrameCache other = memory.newCache();
            for (int i = 0; i < 62; i++)
            {
                final long p = i % 2 == 0 ? memory.allocateData(other) : memory.allocateTable(other, 1);
                assertNotEquals(NO_FRAME, p);
                assertAllZero(memory, p);
            }
        }
    }

    @Test
    void referencesAndMappingsAreCounted()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16 * MIB))
        {
            final FrameCache cache = memory.newCache();
            final long pfn = memory.allocateData(cache);
            assertEquals(1, memory.refcount(pfn));
            assertEquals(1, memory.mapcount(pfn));
            memory.mapData(pfn);
            assertEquals(2, memory.refcount(pfn));
            assertEquals(2, memory.mapcount(pfn));
            memory.unmapData(pfn);
            memory.releaseData(cache, pfn, false);
            assertEquals(FrameFlags.DATA, memory.flags(pfn), "one reference left");
            assertEquals(2, memory.framesInUse());
            memory.unmapData(pfn);
            memory.releaseData(cache, pfn, false);
            assertEquals(1, memory.framesInUse());
            assertEquals(0, memory.flags(pfn) & FrameFlags.DATA);

            final IllegalStateException ex =
                assertThrows(IllegalStateException.class, () -> memory.releaseData(cache, pfn, false));
            assertTrue(ex.getMessage().contains("released more often than referenced"), ex.getMessage());
        }
    }

    @Test
    void tablesOnlyMachineHandsOutPhantomDataAndRealTables()
    {
        // 1 MiB of PFN space, the first 256 KiB (64 frames) backed: data PFNs are 64..255
        try (PhysicalMemory memory = PhysicalMemory.create(MIB, Backing.TABLES_ONLY, 256 * 1024))
        {
            assertEquals(256, memory.totalFrames());
            assertEquals(64, memory.backedFrames());
            assertEquals(64, memory.phantom().firstPfn());
            assertEquals(192, memory.phantom().frames());
            final FrameCache cache = memory.newCache();
            final Set<Long> data = new HashSet<>();
            long pfn;
            while ((pfn = memory.allocateData(cache)) != NO_FRAME)
            {
                assertTrue(pfn >= 64 && pfn < 256, "phantom frame " + pfn);
                assertFalse(memory.isBacked(pfn));
                assertTrue(memory.isValid(pfn));
                assertTrue(data.add(pfn), "phantom frame " + pfn + " handed out twice");
            }
            assertEquals(192, data.size());
            assertEquals(1 + 192, memory.framesInUse());

            // tables come from the backed part, unaffected by data exhaustion
            final long table = memory.allocateTable(cache, 1);
            assertTrue(table > 0 && table < 64 && memory.isBacked(table));
            assertEquals(1 + 192 + 1, memory.framesInUse());

            for (final long p : data)
            {
                memory.unmapData(p);
                memory.releaseData(cache, p, false);
            }
            memory.freeTable(cache, table);
            assertEquals(1, memory.framesInUse());
            memory.retireCache(cache);
            assertEquals(0, memory.phantom().claimed());
        }
    }

    @Test
    void defaultTablesOnlyShareIsAtLeastSixtyFourMebibytes()
    {
        try (PhysicalMemory small = PhysicalMemory.create(32 * MIB, Backing.TABLES_ONLY);
             PhysicalMemory large = PhysicalMemory.create(64L << 30, Backing.TABLES_ONLY))
        {
            // smaller than the minimum share: all backed, no phantom frames
            assertEquals(small.totalFrames(), small.backedFrames());
            assertNull(small.phantom());
            // 64 GiB: 1/256 is 256 MiB = 65536 frames
            assertEquals(65536, large.backedFrames());
            assertEquals((64L << 30) / PAGE_SIZE - 65536, large.phantom().frames());
        }
    }

    @Test
    void countersSurviveRetiredCaches()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16 * MIB))
        {
            final FrameCache a = memory.newCache();
            memory.allocateTable(a, 1);
            memory.allocateData(a);
            memory.allocateData(a);
            memory.retireCache(a);
            assertEquals(0, a.heldFrames());
            assertEquals(1, memory.tablePages());
            assertEquals(2, memory.dataFrames());
            assertEquals(4, memory.framesInUse());
        }
    }

    private static void fill(final PhysicalMemory memory, final long pfn, final byte value)
    {
        memory.frames().asSlice(pfn << 12, PAGE_SIZE).fill(value);
    }

    private static void assertAllZero(final PhysicalMemory memory, final long pfn)
    {
        final MemorySegment page = memory.frames().asSlice(pfn << 12, PAGE_SIZE);
        final long mismatch = page.mismatch(MemorySegment.ofArray(new byte[(int)PAGE_SIZE]));
        assertEquals(-1, mismatch, "frame " + pfn + " not zero at byte " + mismatch);
    }
}
