package io.mmemu.pgtable;

/**
 * The x86-64 page-table entry, Intel SDM vol. 3A §4.5 (4-level paging), with Linux's software
 * bits. The only place that knows the bit layout: everything else composes and decodes entries
 * through these constants and methods.
 * <pre>
 *  bit  0 P     present              bit  7 PS    page size (PDPT: 1 GiB, PD: 2 MiB); PAT in a PT entry
 *  bit  1 RW    writable             bit  8 G     global; Linux's PROTNONE when P is clear
 *  bit  2 US    user                 bit  9       software: Linux _PAGE_SPECIAL
 *  bit  3 PWT   write-through        bit 10       software: Linux _PAGE_UFFD_WP
 *  bit  4 PCD   cache disable        bit 11       software: Linux _PAGE_SOFT_DIRTY
 *  bit  5 A     accessed             bits 12..51  physical frame number (2 MiB leaf: 21..51, 1 GiB: 30..51)
 *  bit  6 D     dirty (leaf)         bit 52       software: mmemu's MOVING (see {@link #moving})
 *                                    bit 63 NX    no execute
 * </pre>
 */
public final class PageTableEntry
{
    public static final long PRESENT = 1L;
    public static final long WRITABLE = 1L << 1;
    public static final long USER = 1L << 2;
    public static final long PWT = 1L << 3;
    public static final long PCD = 1L << 4;
    public static final long ACCESSED = 1L << 5;
    public static final long DIRTY = 1L << 6;
    /** PS in PDPT and PD entries: this entry is a 1 GiB or 2 MiB leaf. */
    public static final long PAGE_SIZE = 1L << 7;
    /** PAT in a 4 KiB leaf (same bit as PS). */
    public static final long PAT_4K = 1L << 7;
    /** PAT in a 2 MiB or 1 GiB leaf. */
    public static final long PAT_LARGE = 1L << 12;
    public static final long GLOBAL = 1L << 8;
    /** Linux: a non-present entry with this bit maps a PROT_NONE page that keeps its frame. */
    public static final long PROTNONE = GLOBAL;
    public static final long SPECIAL = 1L << 9;
    public static final long UFFD_WP = 1L << 10;
    public static final long SOFT_DIRTY = 1L << 11;
    public static final long NO_EXECUTE = 1L << 63;
    /**
     * A software bit the MMU ignores (bits 52..58 are available to software; Linux uses 57 and 58):
     * with PRESENT clear and {@link #PROTNONE} set, a present entry mremap's move has in flight
     * ({@link #moving}). Never set in any other entry: a PROT_NONE entry lacks it, a swap entry has
     * no PROTNONE, an empty entry is 0.
     */
    public static final long MOVING = 1L << 52;

    public static final long PHYS_MASK = ((1L << 52) - 1) & ~0xFFFL;
    public static final long PHYS_MASK_2M = ((1L << 52) - 1) & ~((1L << 21) - 1);
    public static final long PHYS_MASK_1G = ((1L << 52) - 1) & ~((1L << 30) - 1);

    /** What Linux puts in an entry that points at a user page table: P|RW|US|A|D (_PAGE_TABLE). */
    public static final long TABLE_FLAGS = PRESENT | WRITABLE | USER | ACCESSED | DIRTY;

    /** Protection bits a leaf's {@code mprotect} may change (Linux's _PAGE_CHG_MASK complement). */
    public static final long PROTECTION_MASK = PRESENT | WRITABLE | USER | PWT | PCD | GLOBAL | NO_EXECUTE;

    public static final int LEVEL_PTE = 1;
    public static final int LEVEL_PMD = 2;
    public static final int LEVEL_PUD = 3;
    /** The PML4: Linux's pgd with four-level paging, its p4d with five. */
    public static final int LEVEL_PML4 = 4;
    /** The PML4 as the root of four-level paging (Linux's pgd there). */
    public static final int LEVEL_PGD = LEVEL_PML4;
    /** The PML5: the root of five-level paging ({@link PagingMode}). */
    public static final int LEVEL_PML5 = 5;
    public static final int ENTRIES = 512;

    private PageTableEntry()
    {
    }

    /** Bits of the virtual address that select the entry at {@code level}: 12 + 9 × (level − 1). */
    public static int shift(final int level)
    {
        return 3 + 9 * level;
    }

    /** Bytes mapped by one entry at {@code level}: 4 KiB, 2 MiB, 1 GiB, 512 GiB, 256 TiB. */
    public static long coverage(final int level)
    {
        return 1L << shift(level);
    }

    /** Index of {@code va}'s entry in its table at {@code level}. */
    public static int index(final long va, final int level)
    {
        return (int)(va >>> shift(level)) & (ENTRIES - 1);
    }

    public static boolean isPresent(final long entry)
    {
        return (entry & PRESENT) != 0;
    }

    /** Linux's pte_present(): present, or PROT_NONE holding its frame. */
    public static boolean isMapped(final long entry)
    {
        return (entry & (PRESENT | PROTNONE)) != 0;
    }

    public static boolean isProtNone(final long entry)
    {
        return (entry & (PRESENT | PROTNONE)) == PROTNONE;
    }

    /**
     * The present leaf {@code entry} (any level) frozen for mremap's two-pass move: PRESENT cleared,
     * so an MMU's walk faults on it and the fault waits for the move's locked VMA; every other bit
     * kept, and PROTNONE and {@link #MOVING} set. With PROTNONE it stays {@linkplain #isMapped mapped}
     * (pte_present, as a PROT_NONE entry), so it keeps its frame and counts, is a leaf to
     * {@link #isHugePmd} and {@link #isLargeLeaf}, and is never taken for a swap entry. A user leaf
     * never carries G (the PROTNONE bit while present), so {@link #settled} gives the entry back exactly.
     */
    public static long moving(final long entry)
    {
        assert (entry & (PRESENT | GLOBAL | MOVING)) == PRESENT : "only a present user leaf is frozen for a move";
        return (entry & ~PRESENT) | PROTNONE | MOVING;
    }

    /** Whether {@code entry} is a leaf frozen by {@link #moving}. */
    public static boolean isMoving(final long entry)
    {
        return (entry & (PRESENT | PROTNONE | MOVING)) == (PROTNONE | MOVING);
    }

    /** The present leaf {@link #moving} froze, given back (A/D and every other bit as frozen). */
    public static long settled(final long entry)
    {
        assert isMoving(entry) : "settling an entry no move froze";
        return (entry & ~(PROTNONE | MOVING)) | PRESENT;
    }

    public static boolean isWritable(final long entry)
    {
        return (entry & WRITABLE) != 0;
    }

    public static boolean isUser(final long entry)
    {
        return (entry & USER) != 0;
    }

    public static boolean isAccessed(final long entry)
    {
        return (entry & ACCESSED) != 0;
    }

    public static boolean isDirty(final long entry)
    {
        return (entry & DIRTY) != 0;
    }

    public static boolean isNoExecute(final long entry)
    {
        return entry < 0;
    }

    /** Whether a mapped entry at {@code level} is a leaf (PT level, or PS in a PD/PDPT entry). */
    public static boolean isLeaf(final long entry, final int level)
    {
        return level == LEVEL_PTE || ((level == LEVEL_PMD || level == LEVEL_PUD) && (entry & PAGE_SIZE) != 0);
    }

    /** Physical address of the table or 4 KiB page the entry points at. */
    public static long address(final long entry)
    {
        return entry & PHYS_MASK;
    }

    public static long pfn(final long entry)
    {
        return (entry & PHYS_MASK) >>> 12;
    }

    /** Physical address of a leaf at {@code level}, excluding PAT and reserved low bits of large leaves. */
    public static long leafAddress(final long entry, final int level)
    {
        return switch (level)
        {
            case LEVEL_PMD -> entry & PHYS_MASK_2M;
            case LEVEL_PUD -> entry & PHYS_MASK_1G;
            default -> entry & PHYS_MASK;
        };
    }

    /** An entry pointing at the page table in frame {@code pfn}. */
    public static long table(final long pfn)
    {
        return (pfn << 12) | TABLE_FLAGS;
    }

    /** A 4 KiB leaf for frame {@code pfn} with protection and state bits {@code flags}. */
    public static long leaf(final long pfn, final long flags)
    {
        return (pfn << 12) | (flags & ~PHYS_MASK);
    }

    /**
     * A 2 MiB (level 2) or 1 GiB (level 3) leaf for the physical address {@code pa}, aligned to the
     * leaf's size. Bit 12 is the large leaf's PAT: it comes from {@link #PAT_LARGE} in
     * {@code flags}, never from {@code pa}, whose bits below 2 MiB are ignored.
     */
    public static long largeLeaf(final long pa, final long flags)
    {
        return (pa & PHYS_MASK_2M) | PAGE_SIZE | (flags & (~PHYS_MASK | PAT_LARGE));
    }

    /**
     * The 4 KiB leaf for frame {@code pfn}, one subpage of the 2 MiB leaf {@code pmd}, as
     * split_huge_pmd writes it: the same protection and state bits, PS dropped, PAT moved from
     * bit 12 to bit 7.
     */
    public static long subpageLeaf(final long pmd, final long pfn)
    {
        return (pfn << 12) | (pmd & ~PHYS_MASK & ~PAGE_SIZE) | ((pmd & PAT_LARGE) != 0 ? PAT_4K : 0);
    }

    /**
     * Whether {@code entry} is a large leaf at {@code level} (PS in a PMD or PUD entry), present or
     * PROT_NONE (a hugetlb leaf keeps its page when made inaccessible: huge_pte_modify).
     */
    public static boolean isLargeLeaf(final long entry, final int level)
    {
        return (level == LEVEL_PMD || level == LEVEL_PUD) && (entry & PAGE_SIZE) != 0 && isMapped(entry);
    }

    /**
     * Whether {@code entry}, a PMD entry, is a 2 MiB leaf: present, or PROT_NONE holding its page
     * (Linux's pmd_trans_huge with pmd_present: change_huge_pmd keeps a PROT_NONE huge page whole).
     */
    public static boolean isHugePmd(final long entry)
    {
        return (entry & PAGE_SIZE) != 0 && isMapped(entry);
    }

    /** The entry with its protection replaced by {@code protection}, keeping frame and state bits. */
    public static long withProtection(final long entry, final long protection)
    {
        return (entry & ~PROTECTION_MASK) | (protection & PROTECTION_MASK);
    }

    /** Canonical 48-bit address (four-level paging): bits 63..47 all equal. See {@link PagingMode#isCanonical}. */
    public static boolean isCanonical(final long va)
    {
        return PagingMode.isCanonical(va, PagingMode.FOUR_LEVEL);
    }

    /** Names of the set bits, in Intel's order; for decoders and diagnostics. */
    public static String describe(final long entry, final int level)
    {
        final StringBuilder sb = new StringBuilder();
        final boolean large = level != LEVEL_PTE && (entry & PAGE_SIZE) != 0;
        bit(sb, entry, PRESENT, "P");
        bit(sb, entry, WRITABLE, "RW");
        bit(sb, entry, USER, "US");
        bit(sb, entry, PWT, "PWT");
        bit(sb, entry, PCD, "PCD");
        bit(sb, entry, ACCESSED, "A");
        bit(sb, entry, DIRTY, "D");
        bit(sb, entry, PAGE_SIZE, level == LEVEL_PTE ? "PAT" : "PS");
        bit(sb, entry, GLOBAL, isPresent(entry) ? "G" : "PROTNONE");
        bit(sb, entry, SPECIAL, "SPECIAL");
        bit(sb, entry, UFFD_WP, "UFFD_WP");
        bit(sb, entry, SOFT_DIRTY, "SOFT_DIRTY");
        if (large)
        {
            bit(sb, entry, PAT_LARGE, "PAT");
        }
        bit(sb, entry, MOVING, "MOVING");
        bit(sb, entry, NO_EXECUTE, "NX");
        return sb.toString();
    }

    private static void bit(final StringBuilder sb, final long entry, final long bit, final String name)
    {
        if ((entry & bit) != 0)
        {
            if (sb.length() > 0)
            {
                sb.append(' ');
            }
            sb.append(name);
        }
    }

    /** First address after {@code va} that starts a new entry at {@code level} (0 on wrap past 2^64). */
    public static long nextBoundary(final long va, final int level)
    {
        final long size = coverage(level);
        return (va + size) & -size;
    }
}
