package io.mmemu.pgtable;

/**
 * x86-64's non-present PTE that names a swap slot (arch/x86/include/asm/pgtable_64.h,
 * {@code __swp_entry}): the swap area's type in bits 59..63, the slot's offset inverted in bits
 * 9..58 (the L1TF mitigation: a stale walk of such an entry points far above any real frame), and
 * bits 0 (present), 8 (the PROT_NONE alias), 7, 5 and 6 clear. Bits 1..4 carry software flags the
 * decoding ignores: soft-dirty in bit 1 ({@code _PAGE_SWP_SOFT_DIRTY}) and the anonymous page's
 * exclusivity in bit 3 ({@code _PAGE_SWP_EXCLUSIVE}). The only code that encodes or decodes one.
 */
public final class SwapEntry
{
    /** SWP_TYPE_BITS: up to 32 swap areas (MAX_SWAPFILES_SHIFT is 5). */
    public static final int TYPE_BITS = 5;
    /** SWP_OFFSET_FIRST_BIT: just above _PAGE_BIT_PROTNONE. */
    public static final int OFFSET_FIRST_BIT = 9;
    /** SWP_OFFSET_SHIFT. */
    public static final int OFFSET_SHIFT = OFFSET_FIRST_BIT + TYPE_BITS;
    /** The largest offset the 50 offset bits hold. */
    public static final long MAX_OFFSET = (1L << (Long.SIZE - OFFSET_SHIFT)) - 1;
    public static final int MAX_TYPE = (1 << TYPE_BITS) - 1;
    /** _PAGE_SWP_SOFT_DIRTY (_PAGE_RW's bit, unused while not present). */
    public static final long SOFT_DIRTY = 1L << 1;
    /** _PAGE_SWP_EXCLUSIVE (_PAGE_PWT's bit): the swapped-out anonymous page was exclusive. */
    public static final long EXCLUSIVE = 1L << 3;

    private SwapEntry()
    {
    }

    /** __swp_entry(type, offset) as a PTE value. */
    public static long of(final int type, final long offset)
    {
        if (type < 0 || type > MAX_TYPE || offset < 0 || offset > MAX_OFFSET)
        {
            throw new IllegalArgumentException("swap type " + type + " offset " + offset + " out of range");
        }
        return (~offset << OFFSET_SHIFT >>> TYPE_BITS) | ((long)type << (Long.SIZE - TYPE_BITS));
    }

    /** is_swap_pte: not none and not pte_present (which PROT_NONE entries are). */
    public static boolean isSwap(final long pte)
    {
        return pte != 0 && !PageTableEntry.isMapped(pte);
    }

    /** __swp_type. */
    public static int type(final long pte)
    {
        return (int)(pte >>> (Long.SIZE - TYPE_BITS));
    }

    /** __swp_offset. */
    public static long offset(final long pte)
    {
        return ~pte << TYPE_BITS >>> OFFSET_SHIFT;
    }
}
