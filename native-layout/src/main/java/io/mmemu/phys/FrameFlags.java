package io.mmemu.phys;

/**
 * Bits of {@link FrameDescriptor}'s {@code flags} word. A frame is in exactly one of the states
 * FREE (head of a free buddy block), a frame inside a free block (no flag at all), TABLE, DATA,
 * ZERO_PAGE or RESERVED; ZEROED and DIRTY qualify the state. DIRTY (bytes may be non-zero) and
 * CACHE_DIRTY (a page-cache page's bytes are newer than its file's: PG_dirty) are different facts.
 */
public final class FrameFlags
{
    /** Head of a free buddy block of {@code order}. */
    public static final int FREE = 1;
    /** A page-table page (any level). */
    public static final int TABLE = 1 << 1;
    /** A data page mapped into an address space. */
    public static final int DATA = 1 << 2;
    /** The shared zero page: read faults on private anonymous memory map it. */
    public static final int ZERO_PAGE = 1 << 3;
    /** Never handed out (PFN 0, so that physical address 0 can mean "none"). */
    public static final int RESERVED = 1 << 4;
    /**
     * The frame's (block's) bytes are known to be zero, so handing it out as a table or anonymous
     * page needs no clearing. Frames fresh from the host mapping are zero; a data page freed with
     * its dirty bit clear, or a table freed empty, stays zero.
     */
    public static final int ZEROED = 1 << 5;
    /**
     * A data page whose bytes may have been written though no entry records it any more: MADV_FREE
     * cleared its entries' D bits. Freed, it is not ZEROED whatever its last entry says.
     */
    public static final int DIRTY = 1 << 6;
    /**
     * A free frame in a thread's cache or reserve (never in the buddy allocator, whose links share
     * the word) whose only non-zero bytes are in the 64-byte lines its descriptor's {@code lines}
     * records: those are cleared when it is handed out again, by then likely in the cache of the
     * CPU about to store to it, or before it goes back to the buddy allocator.
     */
    public static final int WRITTEN_LINES = 1 << 7;
    /**
     * A DATA page that is anonymous and mapped by exactly one page-table entry, which may therefore
     * make it writable without a copy (Linux's PageAnonExclusive): set when the page is allocated
     * for an anonymous fault or a copy-on-write break and when a write fault reuses it; cleared when
     * fork shares it. Page-cache pages never carry it. Changed by atomic OR/AND (other address
     * spaces mapping the page may mark it {@link #DIRTY} at the same time).
     */
    public static final int ANON_EXCLUSIVE = 1 << 8;

    /**
     * A frame of a hugetlb pool page ({@link HugetlbPool}): it belongs to the pool for the
     * machine's life, free there (no state) or handed out as a DATA page, and never goes back to
     * the buddy allocator. The head frame's {@code order} names its pool.
     */
    public static final int HUGETLB = 1 << 9;

    /**
     * A page-cache page (the file lists; folio_is_file_lru): set when the page is allocated, before
     * it is published, and never changed while it is allocated. Without it a page on the LRU is
     * anonymous. Where the page stands with the lists is its {@link LruFlags} word.
     */
    public static final int FILE_LRU = 1 << 12;
    /**
     * A page-cache page whose bytes are newer than its file's (Linux's PG_dirty; not {@link #DIRTY},
     * which says only that the bytes may be non-zero, for the clearing at free). Set, by atomic OR,
     * when an entry mapping a {@link #FILE_LRU} page is cleared with its D bit set (zap,
     * try_to_unmap, MADV_PAGEOUT: {@code if (pte_dirty(pteval)) folio_mark_dirty(folio)}); tested and
     * cleared, by atomic AND, when reclaim writes the page back to its file (folio_clear_dirty_for_io),
     * which it does only once no entry maps the page, so no D bit can move here meanwhile. A page
     * some entry still maps with D set is dirty too: the flag is the dirtiness the entries no longer
     * record. Anonymous pages (a private mapping's copies of file pages included) never carry it.
     */
    public static final int CACHE_DIRTY = 1 << 16;

    public static final int STATE_MASK = FREE | TABLE | DATA | ZERO_PAGE | RESERVED;

    private FrameFlags()
    {
    }

    public static String describe(final int flags)
    {
        final StringBuilder sb = new StringBuilder();
        append(sb, flags, FREE, "free");
        append(sb, flags, TABLE, "table");
        append(sb, flags, DATA, "data");
        append(sb, flags, ZERO_PAGE, "zero-page");
        append(sb, flags, RESERVED, "reserved");
        append(sb, flags, ZEROED, "zeroed");
        append(sb, flags, DIRTY, "dirty");
        append(sb, flags, WRITTEN_LINES, "written-lines");
        append(sb, flags, ANON_EXCLUSIVE, "anon-exclusive");
        append(sb, flags, HUGETLB, "hugetlb");
        append(sb, flags, FILE_LRU, "file");
        append(sb, flags, CACHE_DIRTY, "cache-dirty");
        return sb.length() == 0 ? "none" : sb.toString();
    }

    /** Appends {@code name}, '|'-separated, when {@code bit} is set in {@code flags} (for this class's and {@link LruFlags}'s describe). */
    static void append(final StringBuilder sb, final int flags, final int bit, final String name)
    {
        if ((flags & bit) != 0)
        {
            if (sb.length() > 0)
            {
                sb.append('|');
            }
            sb.append(name);
        }
    }
}
