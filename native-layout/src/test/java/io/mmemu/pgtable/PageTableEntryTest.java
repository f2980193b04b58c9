package io.mmemu.pgtable;

import org.junit.jupiter.api.Test;

import static io.mmemu.pgtable.PageTableEntry.LEVEL_PGD;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PMD;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PTE;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PUD;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The entry format against values written by hand from Intel SDM vol. 3A §4.5, tables 4-15 to 4-19
 * (4-level paging). Every expected value below is a literal derived from this bit table, never from
 * the class under test:
 * <pre>
 *  bit  0 P    0x001          bit  7 PS/PAT 0x080       bits 12..51 PFN (4 KiB page or next table)
 *  bit  1 RW   0x002          bit  8 G      0x100       2 MiB leaf: address bits 21..51, PAT = bit 12
 *  bit  2 US   0x004          bit  9 sw     0x200       1 GiB leaf: address bits 30..51, PAT = bit 12
 *  bit  3 PWT  0x008          bit 10 sw     0x400       bits 52..62 ignored / protection key
 *  bit  4 PCD  0x010          bit 11 sw     0x800       bit 63 NX   0x8000_0000_0000_0000
 *  bit  5 A    0x020
 *  bit  6 D    0x040          Linux _PAGE_TABLE = P|RW|US|A|D = 0x067
 * </pre>
 */
final class PageTableEntryTest
{
    /** P|RW|US|A|D = 0x001 + 0x002 + 0x004 + 0x020 + 0x040. */
    private static final long P_RW_US_A_D = 0x067L;
    private static final long NX = 0x8000_0000_0000_0000L;

    @Test
    void aFrozenEntryIsNeitherPresentNorProtNoneNorSwapAndSettlesBackExactly()
    {
        final long rw = PageTableEntry.PRESENT | PageTableEntry.WRITABLE | PageTableEntry.USER | PageTableEntry.ACCESSED
            | PageTableEntry.DIRTY | PageTableEntry.SOFT_DIRTY | PageTableEntry.NO_EXECUTE;
        final long[] leaves = {
            PageTableEntry.leaf(0x12345, rw),
            PageTableEntry.leaf(0x1, PageTableEntry.PRESENT | PageTableEntry.USER | PageTableEntry.SPECIAL),
            PageTableEntry.largeLeaf(0x4020_0000L, rw | PageTableEntry.PAT_LARGE)};
        for (final long e : leaves)
        {
            final long frozen = PageTableEntry.moving(e);
            assertTrue(PageTableEntry.isMoving(frozen));
            assertFalse(PageTableEntry.isPresent(frozen), "the MMU faults on it");
            assertTrue(PageTableEntry.isMapped(frozen), "it keeps its frame for every reader that counts");
            assertFalse(SwapEntry.isSwap(frozen));
            assertEquals(PageTableEntry.pfn(e), PageTableEntry.pfn(frozen));
            assertEquals(e, PageTableEntry.settled(frozen));
            assertFalse(PageTableEntry.isMoving(e));
        }
        assertTrue(PageTableEntry.isHugePmd(PageTableEntry.moving(leaves[2])), "a frozen 2 MiB leaf is still a leaf");
        assertTrue(PageTableEntry.isLargeLeaf(PageTableEntry.moving(leaves[2]), LEVEL_PUD));
        // what else is not present never reads as frozen: PROT_NONE, swap entries (any offset), empty
        assertFalse(PageTableEntry.isMoving(PageTableEntry.withProtection(leaves[0], PageTableEntry.PROTNONE)));
        assertFalse(PageTableEntry.isMoving(SwapEntry.of(0, 0)));
        assertFalse(PageTableEntry.isMoving(SwapEntry.of(0, SwapEntry.MAX_OFFSET)));
        assertFalse(PageTableEntry.isMoving(SwapEntry.of(0, 12345) | SwapEntry.SOFT_DIRTY | SwapEntry.EXCLUSIVE));
        assertFalse(PageTableEntry.isMoving(0L));
    }

    @Test
    void bitConstantsSitWhereTheSdmPutsThem()
    {
        assertEquals(0x001L, PageTableEntry.PRESENT);
        assertEquals(0x002L, PageTableEntry.WRITABLE);
        assertEquals(0x004L, PageTableEntry.USER);
        assertEquals(0x008L, PageTableEntry.PWT);
        assertEquals(0x010L, PageTableEntry.PCD);
        assertEquals(0x020L, PageTableEntry.ACCESSED);
        assertEquals(0x040L, PageTableEntry.DIRTY);
        assertEquals(0x080L, PageTableEntry.PAGE_SIZE);
        assertEquals(0x080L, PageTableEntry.PAT_4K);
        assertEquals(0x1000L, PageTableEntry.PAT_LARGE);
        assertEquals(0x100L, PageTableEntry.GLOBAL);
        assertEquals(0x100L, PageTableEntry.PROTNONE);
        assertEquals(0x200L, PageTableEntry.SPECIAL);
        assertEquals(0x400L, PageTableEntry.UFFD_WP);
        assertEquals(0x800L, PageTableEntry.SOFT_DIRTY);
        assertEquals(NX, PageTableEntry.NO_EXECUTE);
        assertEquals(0x000F_FFFF_FFFF_F000L, PageTableEntry.PHYS_MASK);
        assertEquals(0x000F_FFFF_FFE0_0000L, PageTableEntry.PHYS_MASK_2M);
        assertEquals(0x000F_FFFF_C000_0000L, PageTableEntry.PHYS_MASK_1G);
        assertEquals(P_RW_US_A_D, PageTableEntry.TABLE_FLAGS);
        // P|RW|US|PWT|PCD|G|NX: 0x01 + 0x02 + 0x04 + 0x08 + 0x10 + 0x100, and bit 63
        assertEquals(0x8000_0000_0000_011FL, PageTableEntry.PROTECTION_MASK);
    }

    @Test
    void tableEntryIsFrameAddressWithLinuxPageTableFlags()
    {
        // PFN 0x12345 -> address 0x12345000, | 0x067
        assertEquals(0x0000_0000_1234_5067L, PageTableEntry.table(0x12345L));
        // the highest PFN of a 52-bit physical address space: 2^40 - 1 -> bits 12..51 all set
        assertEquals(0x000F_FFFF_FFFF_F067L, PageTableEntry.table((1L << 40) - 1));
        assertEquals(0x0000_0000_0000_1067L, PageTableEntry.table(1L));
    }

    @Test
    void leafEntryCombinesFrameAndFlags()
    {
        assertEquals(0x8000_0000_1234_5067L, PageTableEntry.leaf(0x12345L, P_RW_US_A_D | NX));
        // P|US|A only (read-only, clean): 0x001 + 0x004 + 0x020
        assertEquals(0x0000_0000_0000_7025L, PageTableEntry.leaf(0x7L, 0x025L));
        // G 0x100, sw 0x200 0x400 0x800 and PAT_4K 0x080 all pass through: 0xF80 | 0x001
        assertEquals(0x0000_0000_000A_BF81L, PageTableEntry.leaf(0xABL, 0xF81L));
    }

    @Test
    void leafFlagsCannotCorruptTheFrameNumber()
    {
        // flags carrying address bits 12..51 are ignored there; only bits 0..11 and 52..63 count
        assertEquals(0x0000_0000_0000_1005L, PageTableEntry.leaf(0x1L, 0x000F_FFFF_FFFF_F005L));
        assertEquals(0x7FF0_0000_0000_2001L, PageTableEntry.leaf(0x2L, 0x7FF0_0000_0000_0001L));
    }

    @Test
    void largeLeafSetsPageSizeAndKeepsTheAlignedAddress()
    {
        // 1 GiB leaf at 1 GiB: 0x40000000 | PS 0x080 | P|RW|US 0x007
        assertEquals(0x0000_0000_4000_0087L, PageTableEntry.largeLeaf(0x4000_0000L, 0x007L));
        // 2 MiB leaf at 2 MiB, P|RW|US|A|D|NX: 0x00200000 | 0x080 | 0x067 | bit 63
        assertEquals(0x8000_0000_0020_00E7L, PageTableEntry.largeLeaf(0x0020_0000L, P_RW_US_A_D | NX));
        // top of the 52-bit space: bits 21..51 set
        assertEquals(0x000F_FFFF_FFE0_0081L, PageTableEntry.largeLeaf(0x000F_FFFF_FFE0_0000L, 0x001L));
    }

    @Test
    void largeLeafCarriesPatAtBit12()
    {
        // PAT of a large leaf is bit 12 (0x1000): 0x00200000 | 0x1000 | PS 0x080 | P 0x001
        assertEquals(0x0000_0000_0020_1081L,
            PageTableEntry.largeLeaf(0x0020_0000L, PageTableEntry.PRESENT | PageTableEntry.PAT_LARGE));
        assertEquals(0x0000_0000_4000_1083L,
            PageTableEntry.largeLeaf(0x4000_0000L, PageTableEntry.PRESENT | PageTableEntry.WRITABLE | PageTableEntry.PAT_LARGE));
    }

    @Test
    void largeLeafIgnoresAddressBitsBelowTwoMebibytes()
    {
        // a stray bit 12 in the address must not turn into PAT, nor bits 13..20 into reserved bits
        assertEquals(0x0000_0000_0020_0081L, PageTableEntry.largeLeaf(0x0020_1000L, 0x001L));
        assertEquals(0x0000_0000_0020_0081L, PageTableEntry.largeLeaf(0x003F_F000L, 0x001L));
    }

    @Test
    void withProtectionReplacesOnlyProtectionBits()
    {
        final long entry = 0x8000_0000_1234_5067L;   // P RW US A D NX, PFN 0x12345
        // P|US: RW and NX go, A D and the frame stay: 0x067 - 0x002 = 0x065
        assertEquals(0x0000_0000_1234_5065L, PageTableEntry.withProtection(entry, 0x005L));
        // PROT_NONE: P RW US cleared, G (PROTNONE) set: 0x060 | 0x100 = 0x160
        assertEquals(0x0000_0000_1234_5160L, PageTableEntry.withProtection(entry, 0x100L));
        // PCD|PWT|NX are protection too: 0x060 | 0x018 | 0x001
        assertEquals(0x8000_0000_1234_5079L, PageTableEntry.withProtection(entry, NX | 0x019L));
        // bits outside the mask in the new protection are ignored (frame, D, A, PS, software)
        assertEquals(0x0000_0000_1234_5061L, PageTableEntry.withProtection(entry, 0x000F_FFFF_FFFF_FEE1L));
    }

    @Test
    void withProtectionKeepsSoftwareAndPatBits()
    {
        // SPECIAL|UFFD_WP|SOFT_DIRTY 0xE00, PAT_4K 0x080, P|RW|US|A 0x027
        final long entry = 0x0000_0000_0000_9EA7L;
        // to read-only P|US: 0xEA7 - 0x002
        assertEquals(0x0000_0000_0000_9EA5L, PageTableEntry.withProtection(entry, 0x005L));
    }

    @Test
    void presentAndProtNoneFollowLinuxPtePresent()
    {
        assertFalse(PageTableEntry.isMapped(0L));
        assertFalse(PageTableEntry.isProtNone(0L));
        assertFalse(PageTableEntry.isPresent(0L));

        final long protNone = 0x0000_0000_1234_5160L;   // G with P clear
        assertTrue(PageTableEntry.isMapped(protNone));
        assertTrue(PageTableEntry.isProtNone(protNone));
        assertFalse(PageTableEntry.isPresent(protNone));

        final long present = 0x0000_0000_1234_5061L;
        assertTrue(PageTableEntry.isMapped(present));
        assertFalse(PageTableEntry.isProtNone(present));
        assertTrue(PageTableEntry.isPresent(present));

        // G with P set is a global page, not PROT_NONE
        final long global = 0x0000_0000_1234_5161L;
        assertTrue(PageTableEntry.isMapped(global));
        assertFalse(PageTableEntry.isProtNone(global));

        // non-present without G (a swap-style entry, software bits only) is not mapped
        final long swapLike = 0x0000_0000_1234_5E00L;
        assertFalse(PageTableEntry.isMapped(swapLike));
        assertFalse(PageTableEntry.isProtNone(swapLike));
    }

    @Test
    void singleBitPredicates()
    {
        final long all = 0x8000_0000_0000_0067L;
        assertTrue(PageTableEntry.isWritable(all));
        assertTrue(PageTableEntry.isUser(all));
        assertTrue(PageTableEntry.isAccessed(all));
        assertTrue(PageTableEntry.isDirty(all));
        assertTrue(PageTableEntry.isNoExecute(all));

        final long none = 0x0000_0000_0000_0001L;
        assertFalse(PageTableEntry.isWritable(none));
        assertFalse(PageTableEntry.isUser(none));
        assertFalse(PageTableEntry.isAccessed(none));
        assertFalse(PageTableEntry.isDirty(none));
        assertFalse(PageTableEntry.isNoExecute(none));
        // bit 62 (protection key) is not NX
        assertFalse(PageTableEntry.isNoExecute(0x4000_0000_0000_0001L));
    }

    @Test
    void leafDependsOnLevelAndPageSize()
    {
        assertTrue(PageTableEntry.isLeaf(0x0000_0000_1234_5001L, LEVEL_PTE));
        assertTrue(PageTableEntry.isLeaf(0x0000_0000_1234_5081L, LEVEL_PTE));    // PAT, still a leaf
        assertFalse(PageTableEntry.isLeaf(0x0000_0000_1234_5067L, LEVEL_PMD));
        assertTrue(PageTableEntry.isLeaf(0x0000_0000_0020_0081L, LEVEL_PMD));
        assertFalse(PageTableEntry.isLeaf(0x0000_0000_1234_5067L, LEVEL_PUD));
        assertTrue(PageTableEntry.isLeaf(0x0000_0000_4000_0081L, LEVEL_PUD));
        // bit 7 of a PML4 entry is reserved, never a 512 GiB page
        assertFalse(PageTableEntry.isLeaf(0x0000_0000_1234_50E7L, LEVEL_PGD));
    }

    @Test
    void addressesDropFlagsIgnoredBitsAndLargePat()
    {
        // NX, ignored bits 52..62 and low flags all fall away
        final long e = 0xFFF0_0000_1234_5FFFL;
        assertEquals(0x0000_0000_1234_5000L, PageTableEntry.address(e));
        assertEquals(0x12345L, PageTableEntry.pfn(e));

        final long onegWithPat = 0x8000_0000_4000_1083L;
        assertEquals(0x0000_0000_4000_0000L, PageTableEntry.leafAddress(onegWithPat, LEVEL_PUD));
        assertEquals(0x0000_0000_4000_0000L, PageTableEntry.leafAddress(onegWithPat, LEVEL_PMD));
        assertEquals(0x0000_0000_4000_1000L, PageTableEntry.leafAddress(onegWithPat, LEVEL_PTE));

        // a 1 GiB leaf ignores bits 21..29 (reserved there), a 2 MiB leaf keeps them
        final long mixed = 0x0000_0000_7FE0_0081L;
        assertEquals(0x0000_0000_4000_0000L, PageTableEntry.leafAddress(mixed, LEVEL_PUD));
        assertEquals(0x0000_0000_7FE0_0000L, PageTableEntry.leafAddress(mixed, LEVEL_PMD));
    }

    @Test
    void shiftAndCoveragePerLevel()
    {
        assertEquals(12, PageTableEntry.shift(LEVEL_PTE));
        assertEquals(21, PageTableEntry.shift(LEVEL_PMD));
        assertEquals(30, PageTableEntry.shift(LEVEL_PUD));
        assertEquals(39, PageTableEntry.shift(LEVEL_PGD));
        assertEquals(0x1000L, PageTableEntry.coverage(LEVEL_PTE));
        assertEquals(0x20_0000L, PageTableEntry.coverage(LEVEL_PMD));
        assertEquals(0x4000_0000L, PageTableEntry.coverage(LEVEL_PUD));
        assertEquals(0x80_0000_0000L, PageTableEntry.coverage(LEVEL_PGD));
    }

    @Test
    void indexPerLevel()
    {
        // PML4 3, PDPT 5, PD 7, PT 9, offset 0xabc:
        // 3<<39 = 0x180_0000_0000, 5<<30 = 0x1_4000_0000, 7<<21 = 0xE0_0000, 9<<12 = 0x9000
        final long va = 0x0000_0181_40E0_9ABCL;
        assertEquals(3, PageTableEntry.index(va, LEVEL_PGD));
        assertEquals(5, PageTableEntry.index(va, LEVEL_PUD));
        assertEquals(7, PageTableEntry.index(va, LEVEL_PMD));
        assertEquals(9, PageTableEntry.index(va, LEVEL_PTE));

        assertIndexes(0L, 0, 0, 0, 0);
        assertIndexes(0x0000_7FFF_FFFF_FFFFL, 255, 511, 511, 511);
        assertIndexes(0x0000_7FFF_FFFF_F000L, 255, 511, 511, 511);
        assertIndexes(0x0000_007F_FFFF_FFFFL, 0, 511, 511, 511);
        assertIndexes(0x0000_0080_0000_0000L, 1, 0, 0, 0);
        assertIndexes(0x0000_0000_3FFF_FFFFL, 0, 0, 511, 511);
        assertIndexes(0x0000_0000_4000_0000L, 0, 1, 0, 0);
        assertIndexes(0x0000_0000_001F_FFFFL, 0, 0, 0, 511);
        assertIndexes(0x0000_0000_0020_0000L, 0, 0, 1, 0);
        // kernel half: the sign-extension bits 48..63 do not leak into the PML4 index
        assertIndexes(0xFFFF_8000_0000_0000L, 256, 0, 0, 0);
        assertIndexes(0xFFFF_FFFF_FFFF_FFFFL, 511, 511, 511, 511);
    }

    @Test
    void canonicalAddressesAtTheEdges()
    {
        assertTrue(PageTableEntry.isCanonical(0L));
        assertTrue(PageTableEntry.isCanonical(0x0000_7FFF_FFFF_FFFFL));
        assertFalse(PageTableEntry.isCanonical(0x0000_8000_0000_0000L));
        assertFalse(PageTableEntry.isCanonical(0x0001_0000_0000_0000L));
        assertFalse(PageTableEntry.isCanonical(0x7FFF_FFFF_FFFF_FFFFL));
        assertFalse(PageTableEntry.isCanonical(0x8000_0000_0000_0000L));
        assertFalse(PageTableEntry.isCanonical(0xFFFF_7FFF_FFFF_FFFFL));
        assertTrue(PageTableEntry.isCanonical(0xFFFF_8000_0000_0000L));
        assertTrue(PageTableEntry.isCanonical(0xFFFF_FFFF_FFFF_FFFFL));
    }

    @Test
    void describeNamesTheBitsByLevel()
    {
        assertEquals("P RW US A D NX", PageTableEntry.describe(0x8000_0000_1234_5067L, LEVEL_PTE));
        // bit 7 is PAT in a PT entry, PS above; bit 12 is PAT only in a large leaf
        assertEquals("P PAT", PageTableEntry.describe(0x0000_0000_1234_5081L, LEVEL_PTE));
        assertEquals("P RW US A D PS PAT", PageTableEntry.describe(0x0000_0000_0020_10E7L, LEVEL_PMD));
        assertEquals("P PS", PageTableEntry.describe(0x0000_0000_4000_0081L, LEVEL_PUD));
        // G is global when present, Linux's PROT_NONE marker when not
        assertEquals("P G", PageTableEntry.describe(0x0000_0000_1234_5101L, LEVEL_PTE));
        assertEquals("A D PROTNONE", PageTableEntry.describe(0x0000_0000_1234_5160L, LEVEL_PTE));
        assertEquals("P PWT PCD SPECIAL UFFD_WP SOFT_DIRTY", PageTableEntry.describe(0x0000_0000_0000_0E19L, LEVEL_PTE));
        assertEquals("", PageTableEntry.describe(0L, LEVEL_PTE));
    }

    private static void assertIndexes(final long va, final int pgd, final int pud, final int pmd, final int pte)
    {
        final String at = String.format("0x%x", va);
        assertEquals(pgd, PageTableEntry.index(va, LEVEL_PGD), at);
        assertEquals(pud, PageTableEntry.index(va, LEVEL_PUD), at);
        assertEquals(pmd, PageTableEntry.index(va, LEVEL_PMD), at);
        assertEquals(pte, PageTableEntry.index(va, LEVEL_PTE), at);
    }
}
