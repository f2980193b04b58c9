package io.mmemu.mmu;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The TLB's 2 MiB entries: a 4 KiB miss inside a held 2 MiB translation refills from it, and every flush drops it. */
final class TlbHugeTest
{
    private static final long VA = 0x4020_0000L;
    private static final long FRAME = 0x0800_0000L;

    @Test
    void aMissInsideAHeldHugeTranslationRefillsItsFourKibPiece()
    {
        final Tlb tlb = new Tlb();
        tlb.insertHuge(VA + 0x5123, FRAME + 0x5000, true);
        assertEquals(FRAME + 0x5000 | Tlb.WRITABLE, tlb.lookup(VA + 0x5008, true));
        // another 4 KiB page of the same 2 MiB: not in the 4 KiB array, found in the huge one
        assertEquals(FRAME + 0x1F_F000 | Tlb.WRITABLE, tlb.lookup(VA + 0x1F_FFF8, true));
        assertEquals(FRAME | Tlb.WRITABLE, tlb.lookup(VA, false));
        // outside the 2 MiB page: a miss
        assertEquals(Tlb.MISS, tlb.lookup(VA + 0x20_0000, false));
        assertEquals(Tlb.MISS, tlb.lookup(VA - 0x1000, false));
    }

    @Test
    void aReadOnlyHugeTranslationServesReadsOnlyAndAFlushDropsIt()
    {
        final Tlb tlb = new Tlb();
        tlb.insertHuge(VA, FRAME, false);
        assertEquals(Tlb.MISS, tlb.lookup(VA + 0x3000, true));
        assertEquals(FRAME + 0x3000, tlb.lookup(VA + 0x3000, false));
        tlb.flushAll();
        assertEquals(Tlb.MISS, tlb.lookup(VA + 0x4000, false));
        assertEquals(Tlb.MISS, tlb.lookup(VA, false));
        tlb.insertHuge(VA, FRAME, false);
        tlb.flushPage(VA + 0x7000);
        assertEquals(Tlb.MISS, tlb.lookup(VA + 0x8000, false), "a page flush drops the 2 MiB entry that covers it");
    }
}
