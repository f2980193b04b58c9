package io.mmemu.phys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A slot's word through its life: who holds it, when it is free, what its bytes are. */
class SwapAreaTest
{
    private static final long PAGE = PhysicalMemory.PAGE_SIZE;
    private static final long PFN = 3;

    @Test
    void aSlotIsFreeOnlyWhenNoEntryNamesItAndItsWriteOutIsDone()
    {
        try (SwapArea swap = SwapArea.inMemory(4 * PAGE); Arena arena = Arena.ofConfined())
        {
            final MemorySegment frames = framesWithPattern(arena);
            final long total = swap.freePages();
            final long slot = swap.allocate(PFN);
            assertNotEquals(SwapArea.NO_SLOT, slot);
            assertEquals(total - 1, swap.freePages());
            assertTrue(swap.underWriteback(slot));
            swap.duplicate(slot);
            assertEquals(2, swap.count(slot));
            swap.writeOut(slot, frames);
            assertFalse(swap.underWriteback(slot));
            swap.free(slot);
            assertEquals(total - 1, swap.freePages(), "one entry still names the slot");
            final MemorySegment back = arena.allocate(5 * PAGE, PAGE);
            swap.readIn(slot, back, 4);
            assertEquals(-1L, back.asSlice(4 * PAGE, PAGE).mismatch(frames.asSlice(PFN * PAGE, PAGE)), "the page's bytes");
            swap.free(slot);
            assertEquals(total, swap.freePages());
            assertThrows(IllegalStateException.class, () -> swap.free(slot));
        }
    }

    /**
     * Reclaim unmaps a shared page's entries into its slot one process at a time; a zap may free the
     * entries unmapped so far before it reaches the next. The page under writeback still holds the
     * slot (SWAP_HAS_CACHE), so naming it again is right, and the write-out then leaves it allocated.
     */
    @Test
    void aSlotHeldOnlyByItsPageUnderWritebackCanBeNamedAgain()
    {
        try (SwapArea swap = SwapArea.inMemory(4 * PAGE); Arena arena = Arena.ofConfined())
        {
            final MemorySegment frames = framesWithPattern(arena);
            final long total = swap.freePages();
            final long slot = swap.allocate(PFN);
            swap.free(slot);
            assertEquals(0, swap.count(slot));
            assertTrue(swap.underWriteback(slot), "still held by the page being written");
            assertEquals(total - 1, swap.freePages());
            swap.duplicate(slot);
            swap.writeOut(slot, frames);
            assertEquals(1, swap.count(slot));
            assertEquals(total - 1, swap.freePages());
            swap.free(slot);
            assertEquals(total, swap.freePages());
        }
    }

    @Test
    void aWriteOutWhoseEntriesAreAllGoneFreesTheSlot()
    {
        try (SwapArea swap = SwapArea.inMemory(4 * PAGE); Arena arena = Arena.ofConfined())
        {
            final long total = swap.freePages();
            final long slot = swap.allocate(PFN);
            swap.free(slot);
            swap.writeOut(slot, framesWithPattern(arena));
            assertEquals(total, swap.freePages());
            assertThrows(IllegalStateException.class, () -> swap.duplicate(slot), "a free slot is named by nothing");
        }
    }

    @Test
    void aFullAreaHandsOutNoSlot()
    {
        try (SwapArea swap = SwapArea.inMemory(3 * PAGE))
        {
            assertEquals(2, swap.totalPages(), "slot 0 is the header");
            assertNotEquals(SwapArea.NO_SLOT, swap.allocate(PFN));
            assertNotEquals(SwapArea.NO_SLOT, swap.allocate(PFN + 1));
            assertEquals(SwapArea.NO_SLOT, swap.allocate(PFN + 2));
        }
    }

    private static MemorySegment framesWithPattern(final Arena arena)
    {
        final MemorySegment frames = arena.allocate(4 * PAGE, PAGE);
        for (long i = 0; i < PAGE; i += Long.BYTES)
        {
            frames.set(ValueLayout.JAVA_LONG, PFN * PAGE + i, i * 0x9E3779B97F4A7C15L);
        }
        return frames;
    }
}
