package io.mmemu.inspect;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PagingMode;

import static io.mmemu.pgtable.PageTableEntry.LEVEL_PMD;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PTE;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PUD;

/**
 * The user half of an address space's page tables in Linux's ptdump format, as
 * arch/x86/mm/dump_pagetables.c prints {@code /sys/kernel/debug/page_tables/current_user} on an
 * x86-64 kernel (6.x, with mm/ptdump.c and mm/pagewalk.c walking), with 4-level or 5-level paging
 * (the CR3 word says which, {@link PagingMode}). The rules reproduced:
 * <ul>
 *   <li>The walk (mm/pagewalk.c): with 4 levels an empty PML4 entry is one hole at depth 0
 *       ({@code pgd}: the p4d level is folded, and {@code real_depth} reports its holes at the
 *       pgd); with 5 levels an empty PML5 entry is a hole at depth 0 ({@code pgd}) and an empty
 *       PML4 entry one at depth 1 ({@code p4d}, a real level there); an empty PDPT
 *       entry a hole at {@code pud}, an empty PD entry one at {@code pmd}; every one of the 512
 *       entries of a PT page is a {@code pte}, empty or not; a PS entry is a leaf at its level; a
 *       non-present, non-empty, non-PS upper entry is noted nowhere (ptdump only notes leaves).</li>
 *   <li>Merging ({@code note_page}): an entry continues the current line while its flags
 *       ({@code val & PTE_FLAGS_MASK}: every bit outside 12..51, so A, D and the software bits
 *       count), its effective protection and its level are the same as the line's.</li>
 *   <li>Effective protection ({@code effective_prot}): USR and RW ANDed down the levels, NX ORed;
 *       0 for an empty entry.</li>
 *   <li>A line: {@code 0x%016lx-0x%016lx   %9lu%c } (the size divided by 1024 while it divides,
 *       units {@code BKMGTPE}), then 30 columns of flags — {@code USR }, {@code RW }/{@code ro },
 *       {@code PWT }, {@code PCD }, {@code PSE } (above the PTE level), {@code PAT } (bit 7 in a
 *       PTE, bit 12 in a large leaf — which {@code PTE_FLAGS_MASK} has already cleared, so Linux
 *       never shows it there), {@code GLB }, {@code NX }/{@code x  }, each blank when clear and all
 *       blank when the entry is not present — then the level name.</li>
 *   <li>The walk covers {@code [0, PTRS_PER_PGD * PGD_LEVEL_MULT / 2)} (2^47, or 2^56 with 5
 *       levels) and then continues at {@code GUARD_HOLE_END_ADDR} (0xffff880000000000, or
 *       0xff10000000000000 with 5 levels: 16 PGD entries above entry -256): the first entry noted
 *       there crosses the Kernel Space marker and closes the user half's last line, which
 *       therefore ends at that address. Only the {@code ---[ User Space ]---} section is printed.</li>
 * </ul>
 */
public final class Ptdump
{
    /** End of the user half of the walk with 4-level paging: PTRS_PER_PGD * PGD_LEVEL_MULT / 2 ({@link PagingMode#userEnd}). */
    public static final long USER_END = 1L << 47;
    /** Where the walk resumes after the user half: GUARD_HOLE_END_ADDR with 4-level paging. */
    public static final long GUARD_HOLE_END = 0xffff880000000000L;
    /** GUARD_HOLE_END_ADDR with 5-level paging: (-256 + 16) PGD entries of 2^48. */
    public static final long GUARD_HOLE_END_LA57 = 0xff10000000000000L;

    private static final String[] LEVEL_NAMES = {"pgd", "p4d", "pud", "pmd", "pte"};
    private static final String UNITS = "BKMGTPE";
    private static final String NOT_PRESENT = " ".repeat(30);
    /** PTE_FLAGS_MASK: everything but the PFN field (bits 12..51). */
    private static final long FLAGS_MASK = ~(((1L << 52) - 1) & ~0xFFFL);
    private static final long USER_RW = PageTableEntry.USER | PageTableEntry.WRITABLE;

    private Ptdump()
    {
    }

    /** The ptdump text of the user half of the tables rooted at {@code cr3}. */
    public static String render(final MemoryImage memory, final long cr3)
    {
        final int levels = PagingMode.levels(cr3);
        final State state = new State(levels);
        TableWalk.walk(memory, cr3, 0, PagingMode.userEnd(levels), state);
        state.note(levels == PagingMode.FIVE_LEVEL ? GUARD_HOLE_END_LA57 : GUARD_HOLE_END, -1, 0);
        return state.out.toString();
    }

    /**
     * Linux's pagewalk depth of a level: pgd 0, p4d 1, pud 2, pmd 3, pte 4 — with 4 levels the
     * PML4 is the pgd (depth 0), the p4d folded into it; with 5 the PML5 is the pgd and the PML4 the p4d.
     */
    private static int depth(final int level, final int levels)
    {
        return switch (level)
        {
            case PageTableEntry.LEVEL_PML5 -> 0;
            case PageTableEntry.LEVEL_PML4 -> levels == PagingMode.FIVE_LEVEL ? 1 : 0;
            case LEVEL_PUD -> 2;
            case LEVEL_PMD -> 3;
            default -> 4;
        };
    }

    /** struct pg_state with note_page and effective_prot. */
    private static final class State implements TableWalk.Visitor
    {
        final StringBuilder out = new StringBuilder(4096);
        final long[] protLevels = new long[5];
        final int levels;
        int level = -1;
        long currentProt;
        long effectiveProt;
        long startAddress;
        boolean done;

        State(final int levels)
        {
            this.levels = levels;
        }

        @Override
        public void hole(final long va, final int level)
        {
            note(va, depth(level, levels), 0);
        }

        @Override
        public void entry(final long va, final long entry, final int level)
        {
            final int d = depth(level, levels);
            if (level >= PageTableEntry.LEVEL_PML4)
            {
                if (!PageTableEntry.isPresent(entry))
                {
                    // pgd/p4d_none_or_clear_bad: a bad entry is cleared and walked as a hole
                    note(va, d, 0);
                    return;
                }
                effective(d, entry);
                if (levels == PagingMode.FOUR_LEVEL)
                {
                    // the p4d being folded, p4d_entry sees the same PML4 entry as pgd_entry
                    effective(1, entry);
                }
                return;
            }
            effective(d, entry);
            if ((entry & PageTableEntry.PAGE_SIZE) != 0)
            {
                note(va, d, entry);
            }
        }

        @Override
        public void pte(final long va, final long entry)
        {
            effective(4, entry);
            note(va, 4, entry);
        }

        private void effective(final int depth, final long value)
        {
            final long prot = value & FLAGS_MASK;
            if (depth > 0)
            {
                final long higher = protLevels[depth - 1];
                protLevels[depth] = (higher & prot & USER_RW) | ((higher | prot) & PageTableEntry.NO_EXECUTE);
            }
            else
            {
                protLevels[depth] = prot;
            }
        }

        /** note_page: called for every leaf and hole in address order, and once at the end. */
        void note(final long addr, final int newLevel, final long value)
        {
            if (done)
            {
                return;
            }
            final long newProt = value & FLAGS_MASK;
            final long newEff = value == 0 ? 0 : protLevels[newLevel < 0 ? 0 : newLevel];
            if (level == -1)
            {
                currentProt = newProt;
                effectiveProt = newEff;
                level = newLevel;
                out.append("---[ User Space ]---\n");
                return;
            }
            final boolean crossesMarker = Long.compareUnsigned(addr, Long.MIN_VALUE) >= 0;
            if (newProt != currentProt || newEff != effectiveProt || newLevel != level || crossesMarker)
            {
                printLine(addr);
                if (crossesMarker)
                {
                    // the next section would be Kernel Space: the user half ends here
                    done = true;
                    return;
                }
                startAddress = addr;
                currentProt = newProt;
                effectiveProt = newEff;
                level = newLevel;
            }
        }

        private void printLine(final long addr)
        {
            out.append(String.format("0x%016x-0x%016x   ", startAddress, addr));
            long delta = addr - startAddress;
            int unit = 0;
            while ((delta & 1023) == 0 && unit < UNITS.length() - 1)
            {
                delta >>>= 10;
                unit++;
            }
            final String size = Long.toUnsignedString(delta);
            out.append(" ".repeat(Math.max(0, 9 - size.length()))).append(size).append(UNITS.charAt(unit)).append(' ');
            prot(currentProt, level);
        }

        /** printk_prot. */
        private void prot(final long pr, final int depth)
        {
            if ((pr & PageTableEntry.PRESENT) == 0)
            {
                out.append(NOT_PRESENT);
            }
            else
            {
                out.append((pr & PageTableEntry.USER) != 0 ? "USR " : "    ");
                out.append((pr & PageTableEntry.WRITABLE) != 0 ? "RW " : "ro ");
                out.append((pr & PageTableEntry.PWT) != 0 ? "PWT " : "    ");
                out.append((pr & PageTableEntry.PCD) != 0 ? "PCD " : "    ");
                // bit 7 is PSE above the PTE level and PAT in a PTE
                out.append(depth <= 3 && (pr & PageTableEntry.PAGE_SIZE) != 0 ? "PSE " : "    ");
                final boolean pat = (depth == 4 && (pr & PageTableEntry.PAT_4K) != 0) ||
                    ((depth == 3 || depth == 2) && (pr & PageTableEntry.PAT_LARGE) != 0);
                out.append(pat ? "PAT " : "    ");
                out.append((pr & PageTableEntry.GLOBAL) != 0 ? "GLB " : "    ");
                out.append((pr & PageTableEntry.NO_EXECUTE) != 0 ? "NX " : "x  ");
            }
            out.append(LEVEL_NAMES[depth]).append('\n');
        }
    }
}
