package io.mmemu.pgtable;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static io.mmemu.pgtable.Machine.ADDRESS_BITS;
import static io.mmemu.pgtable.Machine.DIRTY_RW;
import static io.mmemu.pgtable.PageTableEditor.LARGE_LEAF;
import static io.mmemu.pgtable.PageTableEditor.OK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The one range walker through its visitors: what each does with holes, PT pages and large leaves. */
class RangeWalkerTest
{
    private static final long MIB = 1L << 20;
    /** A 2 MiB leaf at PA 0x40_0000: P|RW|US|PS. */
    private static final long LEAF_2M = 0x0000_0000_0040_0087L;

    /** Builds PT 0 (populated at [0x1000, 0x3000)) and a 2 MiB leaf at PD[1]; returns the PD's address. */
    private static long tablesWithLargeLeaf(final Machine m)
    {
        m.populate(0x1000L, 0x3000L);
        final long pd = pdOf(m);
        m.setEntry(pd + 8, LEAF_2M);
        return pd;
    }

    @Test
    void observeReportsEachUpperEntryOnceEveryPteOfAVisitedTableAndHolesWithoutDescending()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            tablesWithLargeLeaf(m);
            final List<String> seen = new ArrayList<>();
            final TableReader reader = new TableReader()
            {
                @Override
                public boolean hasBytes(final long pfn)
                {
                    return m.memory.isBacked(pfn);
                }

                @Override
                public long word(final long pa)
                {
                    return m.entry(pa);
                }
            };
            final int[] ptes = new int[2];
            RangeWalker.observe(reader, m.cr3, 0x1000L, 0x60_0000L, new TableObserver()
            {
                @Override
                public void entry(final long va, final long entry, final int level)
                {
                    seen.add("entry " + level + " 0x" + Long.toHexString(va) + ((entry & 0x80) != 0 ? " PS" : ""));
                }

                @Override
                public void hole(final long va, final int level)
                {
                    seen.add("hole " + level + " 0x" + Long.toHexString(va));
                }

                @Override
                public void pte(final long va, final long entry)
                {
                    ptes[0]++;
                    if (entry != 0)
                    {
                        ptes[1]++;
                    }
                }
            });
            assertEquals(List.of("entry 4 0x1000", "entry 3 0x1000", "entry 2 0x1000", "entry 2 0x200000 PS",
                "hole 2 0x400000"), seen);
            assertEquals(511, ptes[0], "the PT page's slots from 0x1000");
            assertEquals(2, ptes[1]);
            m.setEntry(pdOf(m) + 8, 0L);
            m.unmap(0L, 0x60_0000L);
        }
    }

    /** The PD of the first GiB. */
    private static long pdOf(final Machine m)
    {
        return m.entry(m.entry(m.cr3) & ADDRESS_BITS) & ADDRESS_BITS;
    }

    @Test
    void observeRefusesATablePointerOutsideTheImage()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0L, 0x1000L);
            final TableReader withoutTheLastTable = new TableReader()
            {
                @Override
                public boolean hasBytes(final long pfn)
                {
                    return pfn != (pdOf(m) >>> 12);
                }

                @Override
                public long word(final long pa)
                {
                    return m.entry(pa);
                }
            };
            final IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> RangeWalker.observe(withoutTheLastTable, m.cr3, 0L, 0x1000L, new TableObserver()
                {
                }));
            assertEquals(true, e.getMessage().startsWith("corrupted tables: a level 2 table"), e.getMessage());
            m.unmap(0L, 0x1000L);
        }
    }

    @Test
    void clearSoftDirtyWriteProtectsPresentEntriesAndClearsTheBitOfProtNoneOnes()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            assertEquals(OK, m.editor.populate(m.cr3, 0L, 0x3000L, DIRTY_RW | PageTableEntry.SOFT_DIRTY));
            // the third page PROT_NONE (P clear, PROTNONE set), soft-dirty
            final long third = m.pteSlot(0x2000L);
            m.setEntry(third, (m.entry(third) & ~PageTableEntry.PRESENT) | PageTableEntry.PROTNONE);
            final RecordingFlush flush = new RecordingFlush();
            m.tlb.begin(flush);
            assertEquals(OK, m.editor.clearSoftDirty(m.cr3, 0L, 0x4000L, m.tlb));
            m.tlb.finish();
            assertEquals(3, m.editor.done());
            for (long va = 0; va < 0x2000L; va += 0x1000L)
            {
                final long e = m.entry(m.pteSlot(va));
                assertEquals(0, e & (PageTableEntry.SOFT_DIRTY | PageTableEntry.WRITABLE), Long.toHexString(e));
                assertEquals(DIRTY_RW & ~PageTableEntry.WRITABLE, e & ~ADDRESS_BITS, "A, D, US, NX kept");
            }
            assertEquals(0, m.entry(third) & PageTableEntry.SOFT_DIRTY);
            assertEquals(PageTableEntry.PROTNONE, m.entry(third) & (PageTableEntry.PROTNONE | PageTableEntry.PRESENT));
            assertEquals(1, flush.ranges().size());
            assertEquals(0L, flush.ranges().get(0)[0]);
            assertEquals(0x4000L, flush.ranges().get(0)[1], "the PT page's part of the range");

            // a second clear finds nothing to change
            m.tlb.begin(TlbFlush.NONE);
            assertEquals(OK, m.editor.clearSoftDirty(m.cr3, 0L, 0x4000L, m.tlb));
            m.tlb.finish();
            assertEquals(0, m.editor.done());
            m.check();
            m.unmap(0L, 0x4000L);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void gigabyteLeavesAreRefusedByEveryVisitorThatChangesEntriesAndKeptByTheOthers()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0L, 0x1000L);
            final long pdpt = m.entry(m.cr3) & ADDRESS_BITS;
            // PDPT[1]: a 1 GiB leaf (PA 1 GiB, beyond this machine: never reached), P|RW|US|PS
            m.setEntry(pdpt + 8, 0x0000_0000_4000_0087L);
            final long gib = 0x4000_0000L;
            m.tlb.begin(TlbFlush.NONE);
            assertEquals(LARGE_LEAF, m.editor.clean(m.cr3, 0L, 2 * gib, m.tlb));
            assertEquals(LARGE_LEAF, m.editor.clearSoftDirty(m.cr3, 0L, 2 * gib, m.tlb));
            m.tlb.finish();
            assertEquals(LARGE_LEAF, m.editor.move(m.cr3, gib, 4 * gib, gib, false));
            assertEquals(2, PageTableChecker.check(m.memory, false, m.cr3).leaves(), "the PTE and the 1 GiB leaf");
            m.zap(0L, 0x1000L);
            m.freeTables(0L, 2 * gib, 0L, 0L, TlbFlush.NONE);
            assertEquals(0x0000_0000_4000_0087L, m.entry(pdpt + 8), "the PDPT holding the leaf stays");
            m.setEntry(pdpt + 8, 0L);
            m.freeTables(0L, 2 * gib, 0L, 0L, TlbFlush.NONE);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }
}
