package io.mmemu.inspect;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.mmemu.pgtable.PageTableEntry.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * ptdump's exact text for hand-built tables. The expected lines were computed from
 * arch/x86/mm/dump_pagetables.c's printf formats ("0x%0*lx-0x%0*lx   ", "%9lu%c ", the 30 flag
 * columns of printk_prot, the level names) with an independent printf (Python's %), not with the
 * code under test; the merging and level rules are those of note_page and mm/pagewalk.c.
 */
class PtdumpFormatTest
{
    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG;
    private static final long USER_RW_NX = PRESENT | WRITABLE | USER | ACCESSED | DIRTY | NO_EXECUTE;

    private PhysicalMemory memory;
    private FrameCache cache;
    private MemorySegment frames;

    @BeforeEach
    void setUp()
    {
        memory = PhysicalMemory.create(16L << 20);
        cache = memory.newCache();
        frames = memory.frames();
    }

    @AfterEach
    void tearDown()
    {
        memory.close();
    }

    private long table(final int level)
    {
        return memory.allocateTable(cache, level) << 12;
    }

    private void set(final long table, final int index, final long entry)
    {
        frames.set(WORD, table + 8L * index, entry);
    }

    @Test
    void anEmptyAddressSpaceIsOneHoleToTheGuardHoleEnd()
    {
        final long root = table(LEVEL_PGD);
        // 0xffff880000000000 / 2^40 = 16777096 exactly, not a whole number of PiB
        assertEquals("---[ User Space ]---\n" +
            "0x0000000000000000-0xffff880000000000    16777096T                               pgd\n",
            Ptdump.render(new LiveMemory(memory), root));
    }

    @Test
    void linesMergeOnEqualFlagsEffectiveProtectionAndLevel()
    {
        final long root = table(LEVEL_PGD);
        final long pud = table(LEVEL_PUD);
        final long pmd = table(LEVEL_PMD);
        final long pt = table(LEVEL_PTE);
        final long ptNoRw = table(LEVEL_PTE);
        final long ptRw = table(LEVEL_PTE);
        set(root, 0, PageTableEntry.table(pud >>> 12));
        set(pud, 0, PageTableEntry.table(pmd >>> 12));
        set(pmd, 0, PageTableEntry.table(pt >>> 12));
        // two pages with the same flags and different frames: one 8K line (the PFN is not compared)
        set(pt, 0, leaf(0x100, USER_RW_NX));
        set(pt, 1, leaf(0x200, USER_RW_NX));
        // read-only: its own line
        set(pt, 2, leaf(0x300, PRESENT | USER | ACCESSED | NO_EXECUTE));
        // PWT, PCD, PAT (bit 7 in a PTE), global, executable
        set(pt, 3, leaf(0x400, PRESENT | USER | ACCESSED | PWT | PCD | PAT_4K | GLOBAL));
        // PROT_NONE: not present, so blank flags, but not empty, so not merged with the holes after it
        set(pt, 4, leaf(0x500, PROTNONE | ACCESSED));
        // two 2 MiB leaves; PAT in a large leaf is bit 12, which PTE_FLAGS_MASK clears: never shown
        set(pmd, 1, largeLeaf(0x400000, USER_RW_NX | PAT_LARGE));
        set(pmd, 2, largeLeaf(0x600000, USER_RW_NX));
        // non-present, non-empty, no PS: noted nowhere, so the 2 MiB leaves' line runs over it
        set(pmd, 3, WRITABLE);
        // the same PTEs under a PMD entry without RW, then under one with it: the effective
        // protection differs, so two lines although the printed flags are the same
        set(pmd, 4, PageTableEntry.table(ptNoRw >>> 12) & ~WRITABLE);
        set(pmd, 5, PageTableEntry.table(ptRw >>> 12));
        for (int i = 0; i < ENTRIES; i++)
        {
            set(ptNoRw, i, leaf(0x1000 + i, USER_RW_NX));
            set(ptRw, i, leaf(0x2000 + i, USER_RW_NX));
        }
        // a read-only global 1 GiB leaf
        set(pud, 1, largeLeaf(1L << 30, PRESENT | USER | ACCESSED | GLOBAL));
        assertEquals(
            "---[ User Space ]---\n" +
            "0x0000000000000000-0x0000000000002000           8K USR RW                     NX pte\n" +
            "0x0000000000002000-0x0000000000003000           4K USR ro                     NX pte\n" +
            "0x0000000000003000-0x0000000000004000           4K USR ro PWT PCD     PAT GLB x  pte\n" +
            "0x0000000000004000-0x0000000000005000           4K                               pte\n" +
            "0x0000000000005000-0x0000000000200000        2028K                               pte\n" +
            "0x0000000000200000-0x0000000000800000           6M USR RW         PSE         NX pmd\n" +
            "0x0000000000800000-0x0000000000a00000           2M USR RW                     NX pte\n" +
            "0x0000000000a00000-0x0000000000c00000           2M USR RW                     NX pte\n" +
            "0x0000000000c00000-0x0000000040000000        1012M                               pmd\n" +
            "0x0000000040000000-0x0000000080000000           1G USR ro         PSE     GLB x  pud\n" +
            "0x0000000080000000-0x0000008000000000         510G                               pud\n" +
            "0x0000008000000000-0xffff880000000000   17179745792G                               pgd\n"
            , Ptdump.render(new LiveMemory(memory), root));
    }
}
