package io.mmemu.phys;

/**
 * The bits of a data page's {@code lru} word ({@link FrameDescriptor#LRU_FLAGS}): where the page
 * stands with the LRU lists. The word is guarded by the LRU lock ({@link LruLists}) and read and
 * written there with plain accesses; it is first written, as {@link #IN_ADD_BATCH} or
 * {@link #LRU}, before the page is published. Whether a page belongs to the file lists is not
 * here: {@link FrameFlags#FILE_LRU} never changes while the page is allocated.
 * <p>
 * These bits were once flags-word bits, changed by CAS and atomic OR/AND because DIRTY,
 * ANON_EXCLUSIVE and CACHE_DIRTY change beside them without the LRU lock; a word of their own
 * makes every change of them a plain store under the lock that already orders them.
 */
public final class LruFlags
{
    /**
     * On one of the machine's LRU lists (Linux's PG_lru); which one {@link #ACTIVE} and
     * {@link FrameFlags#FILE_LRU} say. A page isolated by reclaim is off its list, LRU clear.
     */
    public static final int LRU = 1;
    /** On (or, isolated, bound back to) an active list (PG_active). */
    public static final int ACTIVE = 1 << 1;
    /**
     * The head of a transparent huge page that is one folio on the LRU: one entry for its 512
     * frames, counted 512 pages. Cleared when a leaf of it is split, and its tails become entries
     * of their own (lru_add_split_folio).
     */
    public static final int LARGE_FOLIO = 1 << 2;
    /**
     * Waiting in its allocating CPU's add batch ({@link LruAddBatch}, Linux's per-CPU lru_add
     * folio_batch) to join an inactive list: set before the page is published, replaced by
     * {@link #LRU} when the batch is drained.
     */
    public static final int IN_ADD_BATCH = 1 << 3;
    /**
     * A page whose last reference went while it was {@link #IN_ADD_BATCH}: the batch still names
     * it, so the free is left to the batch's drain. Linux's batch holds a reference instead; a flag
     * keeps every refcount what the mappings and holders make it.
     */
    public static final int FREED_IN_BATCH = 1 << 4;

    private LruFlags()
    {
    }

    public static String describe(final int lru)
    {
        if (lru == 0)
        {
            return "none";
        }
        final StringBuilder sb = new StringBuilder();
        FrameFlags.append(sb, lru, LRU, "lru");
        FrameFlags.append(sb, lru, ACTIVE, "active");
        FrameFlags.append(sb, lru, LARGE_FOLIO, "large-folio");
        FrameFlags.append(sb, lru, IN_ADD_BATCH, "in-add-batch");
        FrameFlags.append(sb, lru, FREED_IN_BATCH, "freed-in-batch");
        return sb.toString();
    }
}
