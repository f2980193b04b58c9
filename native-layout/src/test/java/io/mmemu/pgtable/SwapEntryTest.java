package io.mmemu.pgtable;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Swap PTEs against values worked out by hand from pgtable_64.h's macros (unsigned long arithmetic). */
class SwapEntryTest
{
    @Test
    void encodingIsTheKernels()
    {
        // (~offset << 14 >> 5) | type << 59
        assertEquals(0x07fffffffffffe00L, SwapEntry.of(0, 0));
        assertEquals(0x0ffffffffffffc00L, SwapEntry.of(1, 1));
        assertEquals(0x17fffffffdb97400L, SwapEntry.of(2, 0x12345));
        assertEquals(0xf800000000000000L, SwapEntry.of(31, SwapEntry.MAX_OFFSET));
    }

    @Test
    void decodingInvertsItAndIgnoresTheSoftwareFlags()
    {
        for (final long offset : new long[] {0, 1, 0x12345, 1L << 40, SwapEntry.MAX_OFFSET})
        {
            for (final int type : new int[] {0, 1, 7, SwapEntry.MAX_TYPE})
            {
                final long pte = SwapEntry.of(type, offset) | SwapEntry.SOFT_DIRTY | SwapEntry.EXCLUSIVE;
                assertEquals(type, SwapEntry.type(pte));
                assertEquals(offset, SwapEntry.offset(pte));
                assertTrue(SwapEntry.isSwap(pte));
            }
        }
    }

    @Test
    void aSwapEntryIsNeitherPresentNorProtNoneNorHuge()
    {
        for (final long pte : new long[] {SwapEntry.of(0, 0), SwapEntry.of(3, 99), SwapEntry.of(31, SwapEntry.MAX_OFFSET)})
        {
            assertFalse(PageTableEntry.isPresent(pte));
            assertFalse(PageTableEntry.isMapped(pte), "bit 8, PROT_NONE's alias, is clear");
            assertEquals(0, pte & (PageTableEntry.PAGE_SIZE | PageTableEntry.ACCESSED | PageTableEntry.DIRTY),
                "bit 7 (pmd_present looks at it) and the A/D erratum bits are clear");
        }
        assertFalse(SwapEntry.isSwap(0));
        assertFalse(SwapEntry.isSwap(PageTableEntry.PRESENT | 0x1000));
        assertFalse(SwapEntry.isSwap(PageTableEntry.PROTNONE | 0x1000), "a PROT_NONE entry holds its frame");
        assertThrows(IllegalArgumentException.class, () -> SwapEntry.of(32, 0));
        assertThrows(IllegalArgumentException.class, () -> SwapEntry.of(0, SwapEntry.MAX_OFFSET + 1));
    }
}
