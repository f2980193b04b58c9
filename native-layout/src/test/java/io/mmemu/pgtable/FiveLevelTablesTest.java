package io.mmemu.pgtable;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;

import static io.mmemu.pgtable.Machine.ADDRESS_BITS;
import static io.mmemu.pgtable.Machine.DIRTY_RW;
import static io.mmemu.pgtable.Machine.TABLE_BITS;
import static io.mmemu.pgtable.PageTableEditor.OK;
import static io.mmemu.pgtable.PageWalker.NO_TRANSLATION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Five-level paging in the table layer: the CR3 word's LA57 bit, the PML5 and P4D levels in the
 * range walker's operations (populate, zap, free-tables with floor and ceiling at the P4D level,
 * fork's copy), the page walker and translate, and the checker's level rule. Entries are read by
 * hand, at the indexes Intel's 5-level paging gives (PML5: bits 56..48).
 */
final class FiveLevelTablesTest
{
    private static final long MIB = 1L << 20;
    /** 2^48: the first address of PML5 entry 1. */
    private static final long PML5_1 = 1L << 48;

    private static Machine la57()
    {
        return new Machine(PhysicalMemory.create(16 * MIB), PagingMode.FIVE_LEVEL);
    }

    @Test
    void theCr3WordCarriesTheLevels()
    {
        try (Machine m = la57(); Machine four = Machine.full(4 * MIB))
        {
            assertEquals(PagingMode.CR3_LA57, m.cr3 & 0xFFF);
            assertEquals(0, four.cr3 & 0xFFF);
            assertEquals(5, PagingMode.levels(m.cr3));
            assertEquals(4, PagingMode.levels(four.cr3));
            assertEquals(PageTableEntry.LEVEL_PML5, m.memory.tableLevel(m.cr3 >>> 12));
            assertEquals(PageTableEntry.LEVEL_PML4, four.memory.tableLevel(four.cr3 >>> 12));
        }
    }

    /** Pages on both sides of 2^48 sit under two PML5 entries, each with its own P4D, PUD, PMD and PT. */
    @Test
    void populateAcrossAPml5BoundaryThenUnmapReturnsEveryFrame()
    {
        try (Machine m = la57())
        {
            final long start = PML5_1 - 2 * 4096;
            final long end = PML5_1 + 3 * 4096;
            m.populate(start, end);
            assertEquals(5, m.editor.done());
            assertEquals(9, m.check().tables(), "PML5, and two each of P4D, PUD, PMD, PT");
            final long root = m.cr3 & ADDRESS_BITS;
            final long p4d0 = m.entry(root) & ADDRESS_BITS;
            final long p4d1 = m.entry(root + 8) & ADDRESS_BITS;
            assertEquals(TABLE_BITS, m.entry(root + 8) & ~ADDRESS_BITS);
            assertEquals(PageTableEntry.LEVEL_PML4, m.memory.tableLevel(p4d0 >>> 12));
            assertEquals(PageTableEntry.LEVEL_PML4, m.memory.tableLevel(p4d1 >>> 12));
            // 2^48 - 2 pages: PML5 0, P4D 511, PUD 511, PMD 511, PT 510
            final long pud = m.entry(p4d0 + 8 * 511) & ADDRESS_BITS;
            final long pmd = m.entry(pud + 8 * 511) & ADDRESS_BITS;
            final long pt = m.entry(pmd + 8 * 511) & ADDRESS_BITS;
            final long pte = m.entry(pt + 8 * 510);
            assertEquals(DIRTY_RW, pte & ~ADDRESS_BITS);
            assertEquals((pte & ADDRESS_BITS) | 0x123, m.editor.walker().translate(m.cr3, start + 0x123));
            assertEquals(PageWalker.WALK_PTE, m.editor.walker().walk(m.cr3, PML5_1 + 2 * 4096));
            assertEquals(NO_TRANSLATION, m.editor.walker().translate(m.cr3, end));
            // the same address under a 4-level reading of the root would be another entry: no translation
            assertEquals(NO_TRANSLATION, m.editor.walker().translate(m.cr3 & ~PagingMode.CR3_LA57, PML5_1));
            m.unmap(start, end);
            assertEquals(1, m.check().tables());
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    /** free_pgd_range at the P4D level: a P4D table stays while a neighbour inside its span remains. */
    @Test
    void freeTablesKeepsAP4dTableANeighbourStillNeeds()
    {
        try (Machine m = la57())
        {
            final long va = PML5_1 + 0x1000;
            final long neighbour = PML5_1 + (2L << 39);
            m.populate(va, va + 4096);
            m.populate(neighbour, neighbour + 4096);
            assertEquals(8, m.check().tables(), "PML5, P4D, two each of PUD, PMD, PT");
            m.zap(va, va + 4096);
            // the neighbour's VMA starts at `neighbour`: the ceiling
            m.freeTables(va, va + 4096, 0, neighbour, TlbFlush.NONE);
            assertEquals(5, m.check().tables(), "the first page's PUD, PMD and PT went; the shared P4D stayed");
            m.unmap(neighbour, neighbour + 4096);
            assertEquals(1, m.check().tables());
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    /** fork's copy walks the child's five levels from the child's CR3 word. */
    @Test
    void copyIntoAFiveLevelChild()
    {
        try (Machine m = la57())
        {
            final long childCr3 = m.editor.allocateRoot(PagingMode.FIVE_LEVEL);
            final long va = 0x00ab_cdef_0000_0000L;
            m.populate(va, va + 4 * 4096);
            assertEquals(OK, m.editor.copy(m.cr3, childCr3, va, va + 4 * 4096, true));
            for (int i = 0; i < 4; i++)
            {
                final long parent = m.editor.walker().translate(m.cr3, va + i * 4096L);
                assertTrue(parent != NO_TRANSLATION);
                assertEquals(parent, m.editor.walker().translate(childCr3, va + i * 4096L), "the same frame, shared");
                assertEquals(2, m.memory.mapcount(parent >>> 12));
            }
            PageTableChecker.check(m.memory, m.cr3, childCr3).assertOk();
            m.tlb.begin(TlbFlush.NONE);
            assertEquals(OK, m.editor.zap(childCr3, va, va + 4 * 4096, m.tlb));
            m.editor.freeTables(childCr3, va, va + 4 * 4096, 0, 0, m.tlb);
            m.tlb.finish();
            m.editor.freeRoot(childCr3);
            m.unmap(va, va + 4 * 4096);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    /** A table allocated for one level but linked in at another is a violation: the P4D level is checked too. */
    @Test
    void theCheckerNamesATableAtTheWrongLevel()
    {
        try (Machine m = la57())
        {
            final long pud = m.newTable(PageTableEntry.LEVEL_PUD);
            final long root = m.cr3 & ADDRESS_BITS;
            m.setEntry(root + 8 * 3, pud | TABLE_BITS);
            final PageTableChecker.Result result = PageTableChecker.check(m.memory, m.cr3);
            assertTrue(result.violations().stream().anyMatch(v -> v.contains("records level 3 but is reached at level 4")),
                result.violations()::toString);
            m.setEntry(root + 8 * 3, 0);
            m.memory.freeTable(m.cache, pud >>> 12);
            m.check();
        }
    }
}
