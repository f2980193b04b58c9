package io.mmemu.pgtable;

/**
 * Four- or five-level paging (CR4.LA57, Intel SDM vol. 3A §4.5): how many levels a walk from CR3
 * takes and how wide the virtual address is. An address space's mode is fixed when its root is
 * allocated, and rides in its CR3 word: bit 0, which the hardware ignores while PCIDs are off,
 * carries LA57, so every walk from a CR3 knows its top level without another parameter.
 * <p>
 * Levels are the hardware's, counted from the leaf: 1 PT, 2 PD, 3 PDPT, 4 PML4, 5 PML5. Linux
 * names them pte, pmd, pud, p4d and pgd; with four levels the p4d is folded into the pgd, so the
 * PML4 is the pgd (arch/x86/include/asm/pgtable_64_types.h).
 */
public final class PagingMode
{
    public static final int FOUR_LEVEL = 4;
    public static final int FIVE_LEVEL = 5;
    /** The CR3 word's LA57 bit (an ignored bit of the real register without PCIDs). */
    public static final long CR3_LA57 = 1L;

    private PagingMode()
    {
    }

    /** The CR3 word of a root table at physical {@code root} walked with {@code levels} levels. */
    public static long cr3(final long root, final int levels)
    {
        return levels == FIVE_LEVEL ? root | CR3_LA57 : root;
    }

    /** The number of levels, which is also the top level, of the tables {@code cr3} points at. */
    public static int levels(final long cr3)
    {
        return FOUR_LEVEL + (int)(cr3 & CR3_LA57);
    }

    /** {@code levels}, checked: 4 or 5, else an {@link IllegalArgumentException} naming the value. */
    public static int checked(final int levels)
    {
        if (levels != FOUR_LEVEL && levels != FIVE_LEVEL)
        {
            throw new IllegalArgumentException("paging must be 4 or 5 levels: " + levels);
        }
        return levels;
    }

    /** {@code text} as the command line and programs write a level count ({@code 4}, {@code 5}), or a one-line reason. */
    public static int parse(final String text)
    {
        return switch (text.strip())
        {
            case "4" -> FOUR_LEVEL;
            case "5" -> FIVE_LEVEL;
            default -> throw new IllegalArgumentException("paging must be 4 or 5 (levels), not '" + text.strip() + "'");
        };
    }

    /** Virtual address bits: 48 or 57 (__VIRTUAL_MASK_SHIFT + 1). */
    public static int addressBits(final int levels)
    {
        return 12 + 9 * levels;
    }

    /** The end of the user half: 2^47 or 2^56 (TASK_SIZE_MAX plus its guard page). */
    public static long userEnd(final int levels)
    {
        return 1L << (addressBits(levels) - 1);
    }

    /** The whole of the address space the root maps, kernel half included: 2^48 or 2^57. */
    public static long span(final int levels)
    {
        return 1L << addressBits(levels);
    }

    /** Canonical: bits 63 down to the top address bit all equal. */
    public static boolean isCanonical(final long va, final int levels)
    {
        final long high = va >> (addressBits(levels) - 1);
        return high == 0 || high == -1;
    }

    /** Linux's name of {@code level} in a {@code levels}-level table tree: pgd, p4d, pud, pmd, pte. */
    public static String levelName(final int level, final int levels)
    {
        return switch (level)
        {
            case PageTableEntry.LEVEL_PTE -> "pte";
            case PageTableEntry.LEVEL_PMD -> "pmd";
            case PageTableEntry.LEVEL_PUD -> "pud";
            case PageTableEntry.LEVEL_PML4 -> levels == FIVE_LEVEL ? "p4d" : "pgd";
            case PageTableEntry.LEVEL_PML5 -> "pgd";
            default -> throw new IllegalArgumentException("no level " + level);
        };
    }

    /** How views name the mode: "4-level" or "5-level (LA57)". */
    public static String describe(final int levels)
    {
        return levels == FIVE_LEVEL ? "5-level (LA57)" : "4-level";
    }

    /** The header line every view starts with. */
    public static String header(final int levels)
    {
        return "paging: " + describe(levels);
    }
}
