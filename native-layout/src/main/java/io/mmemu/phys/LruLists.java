package io.mmemu.phys;

import java.lang.foreign.MemorySegment;

import static io.mmemu.phys.FrameDescriptor.FLAGS;
import static io.mmemu.phys.FrameDescriptor.LRU_FLAGS;
import static io.mmemu.phys.FrameDescriptor.LRU_NEXT;
import static io.mmemu.phys.FrameDescriptor.LRU_PREV;
import static io.mmemu.phys.FrameDescriptor.REFCOUNT;
import static io.mmemu.phys.FrameMapping.INDEX;
import static io.mmemu.phys.FrameMapping.MAPPING;
import static io.mmemu.phys.FrameDescriptor.offset;

/**
 * The machine's LRU lists (one node, one lruvec; mm/vmscan.c, include/linux/mm_inline.h): inactive
 * and active, anonymous and file, doubly linked through the frame descriptors' {@code lruNext} and
 * {@code lruPrev} (32-bit PFNs, read unsigned; 0 ends a list, as PFN 0 is never a data page). New pages enter at the
 * head of an inactive list (folio_add_lru); reclaim takes from the tail (isolate), and puts back at
 * the head (putback). A transparent huge page is one entry, its head frame
 * ({@link FrameFlags#LARGE_FOLIO}), counted 512 pages, until a leaf of it is split.
 * <p>
 * Guarded by this object's monitor, the LRU lock (lruvec->lru_lock): the heads, tails and counts
 * below, and in every data page's descriptor the {@link LruFlags} word and the links, all read and
 * written with plain accesses under it (the word's first store precedes the page's publication).
 * Freeing a page is decided under it too: a page in a CPU's add batch is left to the batch's
 * drain, which also runs under it, so the two never need a CAS between them. A page's
 * {@link FrameMapping} words are stored before it joins a list (a staged page's by its batch's
 * drain before the drain takes the lock; a huge page's tails by {@link #splitFolio}, under it), so
 * reclaim, which isolates under the lock, reads them complete. Lock order: a PT lock, then this;
 * nothing is taken inside it.
 * <p>
 * Membership follows the frame's life: {@link PhysicalMemory} adds a data page when it allocates it
 * for an address space (an anonymous page, a huge page, a page-cache page) and removes it when its
 * last reference goes; reclaim isolates a page only with a reference of its own (folio_try_get), so
 * an isolated page is never freed until reclaim puts it back or lets it go.
 */
public final class LruLists
{
    /** The lists, in Linux's enum lru_list order. */
    public static final int INACTIVE_ANON = 0;
    public static final int ACTIVE_ANON = 1;
    public static final int INACTIVE_FILE = 2;
    public static final int ACTIVE_FILE = 3;
    public static final int LISTS = 4;

    private final MemorySegment metadata;
    /** The {@link FrameMapping} array: a huge page's words, copied to its tails at a split. */
    private final MemorySegment mappings;
    /** Guarded by {@code this}: each list's head (newest) and tail (oldest) PFN, and its size in pages. */
    private final long[] heads = new long[LISTS];
    private final long[] tails = new long[LISTS];
    private final long[] pages = new long[LISTS];

    LruLists(final MemorySegment metadata, final MemorySegment mappings)
    {
        this.metadata = metadata;
        this.mappings = mappings;
    }

    /** The list a page's flags word and {@link LruFlags} word put it on. */
    public static int listOf(final int flags, final int lruFlags)
    {
        return ((flags & FrameFlags.FILE_LRU) != 0 ? INACTIVE_FILE : INACTIVE_ANON) + ((lruFlags & LruFlags.ACTIVE) != 0 ? 1 : 0);
    }

    /** The list {@code pfn}'s words put it on. Under the lock. */
    private int listOf(final long off)
    {
        return listOf((int)FLAGS.get(metadata, off), (int)LRU_FLAGS.get(metadata, off));
    }

    /** Pages on list {@code lru} (a huge folio counts its 512). */
    public synchronized long size(final int lru)
    {
        return pages[lru];
    }

    /**
     * folio_add_lru for a transparent huge page, which never waits in an add batch (as Linux moves
     * a large folio at once): {@code head}, just allocated and not yet visible to anyone else, its
     * {@link FrameMapping} words stored, joins the head of the inactive anonymous list as one entry
     * of 512 pages.
     */
    void addHuge(final long head)
    {
        final long off = offset(head);
        synchronized (this)
        {
            LRU_FLAGS.set(metadata, off, LruFlags.LRU | LruFlags.LARGE_FOLIO);
            linkHead(INACTIVE_ANON, head);
        }
    }

    /**
     * folio_add_lru's first half: page {@code pfn}, just allocated and not yet visible to anyone
     * else, is bound for its inactive list (anonymous, or file as its {@link FrameFlags#FILE_LRU}
     * says) through its CPU's {@link LruAddBatch}; {@link #addBatch} links it.
     */
    void stage(final long pfn)
    {
        final long off = offset(pfn);
        assert ((int)FLAGS.get(metadata, off) & FrameFlags.STATE_MASK) == FrameFlags.DATA
            && (int)LRU_FLAGS.get(metadata, off) == 0 : "staging a page that is no fresh data page";
        // plain stores, like the rest of the new page's descriptor: nobody else sees the page until
        // its entry is published with a release, and every later change is under the lock
        LRU_FLAGS.set(metadata, off, LruFlags.IN_ADD_BATCH);
    }

    /**
     * folio_batch_move_lru: the staged pages {@code pfns[0..n)} join the heads of their inactive
     * lists under one taking of the lock. A page freed while staged ({@link FrameFlags#FREED_IN_BATCH})
     * is not linked: such pages are moved to the front of {@code pfns}, and their number returned,
     * for the caller to free.
     */
    int addBatch(final long[] pfns, final int n)
    {
        int freed = 0;
        synchronized (this)
        {
            for (int i = 0; i < n; i++)
            {
                final long pfn = pfns[i];
                final long off = offset(pfn);
                final int lruFlags = (int)LRU_FLAGS.get(metadata, off);
                assert (lruFlags & LruFlags.IN_ADD_BATCH) != 0 : "a batched page without IN_ADD_BATCH";
                if ((lruFlags & LruFlags.FREED_IN_BATCH) != 0)
                {
                    // its last reference is gone (the free, under this lock, saw IN_ADD_BATCH and
                    // left it to us); nobody else can touch it now
                    LRU_FLAGS.set(metadata, off, 0);
                    pfns[freed++] = pfn;
                    continue;
                }
                LRU_FLAGS.set(metadata, off, LruFlags.LRU);
                linkHead(listOf((int)FLAGS.get(metadata, off), LruFlags.LRU), pfn, LruFlags.LRU);
            }
        }
        return freed;
    }

    /**
     * The free of a page whose last reference is gone: whether it may be freed now. A page on a
     * list is unlinked (lruvec_del_folio); a page still in a CPU's add batch is marked
     * {@link LruFlags#FREED_IN_BATCH} and left to the batch's drain (false); a page reclaim
     * holds isolated is on no list, and cannot be freed meanwhile.
     */
    synchronized boolean removeFreed(final long pfn)
    {
        one[0] = pfn;
        claimFrees(one, 1, -1L);
        return (one[0] & LEFT_IN_BATCH) == 0;
    }

    /**
     * release_pages' LRU half: {@link #removeFreed} for each of {@code pfns[0..n)} (masked with
     * {@code pfnMask}), the lock taken once for all; an entry whose page is left to its add batch's
     * drain gets {@link #LEFT_IN_BATCH} set.
     */
    synchronized void removeFreed(final long[] pfns, final int n, final long pfnMask)
    {
        claimFrees(pfns, n, pfnMask);
    }

    /**
     * {@link #removeFreed} for the {@code frames} frames of a block from {@code head} that goes
     * back whole (a huge page's: never in an add batch), under one taking of the lock.
     */
    synchronized void removeFreedBlock(final long head, final int frames)
    {
        for (long pfn = head; pfn < head + frames; pfn++)
        {
            one[0] = pfn;
            claimFrees(one, 1, -1L);
            assert (one[0] & LEFT_IN_BATCH) == 0 : "a huge page's frame in an add batch";
        }
    }

    /** In a batch of {@link #removeFreed(long[], int, long)}: the page is left to its add batch's drain (PFNs never reach bit 62). */
    static final long LEFT_IN_BATCH = 1L << 62;

    /** Guarded by {@code this}: the one-page batch of {@link #removeFreed(long)} and {@link #removeFreedBlock}. */
    private final long[] one = new long[1];

    /**
     * For each page of {@code pfns[0..n)} (masked with {@code pfnMask}) whose last reference is
     * gone: off its list if it was on one, its word cleared; or, when it is still in an add batch,
     * marked for the drain to free and its entry given {@link #LEFT_IN_BATCH}. Under the lock, like
     * the drain: one of the two sees the other's word. The one loop every free goes through, its
     * body written out here (a helper per page would be compiled on its own first, too big to
     * inline after, and called once a page).
     */
    private void claimFrees(final long[] pfns, final int n, final long pfnMask)
    {
        assert Thread.holdsLock(this) : "a free decided without the LRU lock";
        for (int i = 0; i < n; i++)
        {
            final long pfn = pfns[i] & pfnMask;
            final long off = offset(pfn);
            final int lruFlags = (int)LRU_FLAGS.get(metadata, off);
            if ((lruFlags & LruFlags.IN_ADD_BATCH) != 0)
            {
                LRU_FLAGS.set(metadata, off, lruFlags | LruFlags.FREED_IN_BATCH);
                pfns[i] |= LEFT_IN_BATCH;
                continue;
            }
            if ((lruFlags & LruFlags.LRU) != 0)
            {
                // the links stay as they are: they mean nothing once the word says the page is off
                unlinkLinks(listOf((int)FLAGS.get(metadata, off), lruFlags), pfn, lruFlags);
            }
            LRU_FLAGS.set(metadata, off, 0);
        }
    }

    /**
     * isolate_lru_folios: takes up to {@code max} entries from the tail of list {@code lru} into
     * {@code out}, each with one reference of the caller's (folio_try_get) and off its list; an
     * entry whose last reference is being dropped (refcount 0: its free will unlink it) is moved to
     * the head instead. At most {@code scan} entries are looked at. Returns how many were taken.
     */
    public int isolate(final int lru, final int max, final int scan, final long[] out)
    {
        int taken = 0;
        synchronized (this)
        {
            for (int looked = 0; looked < scan && taken < max && tails[lru] != 0; looked++)
            {
                final long pfn = tails[lru];
                final long off = offset(pfn);
                if (!tryGet(off))
                {
                    unlink(lru, pfn);
                    linkHead(lru, pfn);
                    continue;
                }
                unlink(lru, pfn);
                clearBits(off, LruFlags.LRU);
                out[taken++] = pfn;
            }
        }
        return taken;
    }

    /** folio_try_get: a reference, unless the count is 0 (the page is being freed). Volatile CAS. */
    private boolean tryGet(final long off)
    {
        int refs = (int)REFCOUNT.getVolatile(metadata, off);
        while (refs > 0)
        {
            final int witness = (int)REFCOUNT.compareAndExchange(metadata, off, refs, refs + 1);
            if (witness == refs)
            {
                return true;
            }
            refs = witness;
        }
        return false;
    }

    /**
     * shrink_active_list's deactivation: up to {@code max} entries from the tail of active list
     * {@code active} move to the head of its inactive list (their A bits are left for the inactive
     * scan's folio_referenced, which activates a page used since). Returns the entries moved.
     */
    public int deactivate(final int active, final int max)
    {
        assert (active & 1) == 1 : "not an active list";
        int moved = 0;
        synchronized (this)
        {
            for (; moved < max && tails[active] != 0; moved++)
            {
                final long pfn = tails[active];
                unlink(active, pfn);
                clearBits(offset(pfn), LruFlags.ACTIVE);
                linkHead(active - 1, pfn);
            }
        }
        return moved;
    }

    /**
     * folio_deactivate (MADV_COLD): a page on an active list moves to the head of its inactive list;
     * a page isolated or already inactive is left. The caller keeps the page mapped meanwhile.
     */
    public void deactivatePage(final long pfn)
    {
        final long off = offset(pfn);
        synchronized (this)
        {
            final int lruFlags = (int)LRU_FLAGS.get(metadata, off);
            if ((lruFlags & (LruFlags.LRU | LruFlags.ACTIVE)) == (LruFlags.LRU | LruFlags.ACTIVE))
            {
                final int lru = listOf(off);
                unlink(lru, pfn);
                clearBits(off, LruFlags.ACTIVE);
                linkHead(lru - 1, pfn);
            }
        }
    }

    /**
     * folio_putback_lru: a page reclaim isolated goes back to the head of the active list when
     * {@code active}, else of the inactive one. The caller then drops its reference (which may
     * free the page, and so unlink it again).
     */
    public void putback(final long pfn, final boolean active)
    {
        final long off = offset(pfn);
        synchronized (this)
        {
            final int lruFlags = (int)LRU_FLAGS.get(metadata, off);
            assert (lruFlags & LruFlags.LRU) == 0 : "putting back a page that is on a list";
            LRU_FLAGS.set(metadata, off, (lruFlags & ~LruFlags.ACTIVE) | LruFlags.LRU | (active ? LruFlags.ACTIVE : 0));
            linkHead(listOf(off), pfn);
        }
    }

    /**
     * A leaf of the huge page at {@code head} was split: if it is still one folio, its tails become
     * entries of their own on its list (lru_add_split_folio), next to the head or, when reclaim holds
     * the head isolated, at the head of the head's list. The page count does not change.
     */
    public void splitFolio(final long head, final int frames)
    {
        final long headOff = offset(head);
        synchronized (this)
        {
            final int lruFlags = (int)LRU_FLAGS.get(metadata, headOff);
            if ((lruFlags & LruFlags.LARGE_FOLIO) == 0)
            {
                return;
            }
            final int lru = listOf(headOff);
            clearBits(headOff, LruFlags.LARGE_FOLIO);
            final boolean listed = (lruFlags & LruFlags.LRU) != 0;
            if (listed)
            {
                // the head's entry counted the whole folio; it now counts its own page
                pages[lru] -= frames - 1;
            }
            final long mapping = (long)MAPPING.get(mappings, FrameMapping.offset(head));
            final long index = (long)INDEX.get(mappings, FrameMapping.offset(head));
            final int tailBits = LruFlags.LRU | (lruFlags & LruFlags.ACTIVE);
            for (int i = 1; i < frames; i++)
            {
                final long off = offset(head + i);
                FrameMapping.set(mappings, head + i, mapping, index + i);
                // a huge page is anonymous: its tails, like its head, have no FILE_LRU to copy
                LRU_FLAGS.set(metadata, off, tailBits);
                linkHead(lru, head + i, tailBits);
            }
        }
    }

    /** Clears {@code bits} of a data page's {@link LruFlags} word. Under the lock. */
    private void clearBits(final long off, final int bits)
    {
        assert Thread.holdsLock(this) : "LRU flags changed without the LRU lock";
        assert ((int)FLAGS.get(metadata, off) & FrameFlags.STATE_MASK) == FrameFlags.DATA : "LRU bits on a frame that is not a data page";
        LRU_FLAGS.set(metadata, off, (int)LRU_FLAGS.get(metadata, off) & ~bits);
    }

    /** Pages an entry counts: a huge folio's 512, else 1. */
    private int entryPages(final long pfn)
    {
        return entryPages((int)LRU_FLAGS.get(metadata, offset(pfn)));
    }

    private static int entryPages(final int lruFlags)
    {
        return (lruFlags & LruFlags.LARGE_FOLIO) != 0 ? PhysicalMemory.HUGE_FRAMES : 1;
    }

    /** The next PFN toward the tail of the list the descriptor at {@code off} is on (0: it is the tail). Under the lock. */
    private long next(final long off)
    {
        return Integer.toUnsignedLong((int)LRU_NEXT.get(metadata, off));
    }

    /** The previous PFN toward the head (0: it is the head). Under the lock. */
    private long prev(final long off)
    {
        return Integer.toUnsignedLong((int)LRU_PREV.get(metadata, off));
    }

    private void setNext(final long off, final long pfn)
    {
        LRU_NEXT.set(metadata, off, (int)pfn);
    }

    private void setPrev(final long off, final long pfn)
    {
        LRU_PREV.set(metadata, off, (int)pfn);
    }

    private void linkHead(final int lru, final long pfn)
    {
        linkHead(lru, pfn, (int)LRU_FLAGS.get(metadata, offset(pfn)));
    }

    /** Links {@code pfn}, whose {@link LruFlags} word (its LARGE_FOLIO bit) is {@code lruFlags}, at the head of {@code lru}. */
    private void linkHead(final int lru, final long pfn, final int lruFlags)
    {
        assert Thread.holdsLock(this) : "LRU list changed without the LRU lock";
        final long off = offset(pfn);
        final long first = heads[lru];
        setPrev(off, 0L);
        setNext(off, first);
        if (first != 0)
        {
            setPrev(offset(first), pfn);
        }
        else
        {
            tails[lru] = pfn;
        }
        heads[lru] = pfn;
        pages[lru] += entryPages(lruFlags);
    }

    private void unlink(final int lru, final long pfn)
    {
        unlinkLinks(lru, pfn, (int)LRU_FLAGS.get(metadata, offset(pfn)));
    }

    /**
     * Unlinks {@code pfn}, whose {@link LruFlags} word is {@code lruFlags}, from {@code lru}; its
     * own links are left as they are (they mean nothing until it is linked again, which sets them).
     */
    private void unlinkLinks(final int lru, final long pfn, final int lruFlags)
    {
        assert Thread.holdsLock(this) : "LRU list changed without the LRU lock";
        final long off = offset(pfn);
        final long prev = prev(off);
        final long next = next(off);
        if (prev != 0)
        {
            setNext(offset(prev), next);
        }
        else
        {
            heads[lru] = next;
        }
        if (next != 0)
        {
            setPrev(offset(next), prev);
        }
        else
        {
            tails[lru] = prev;
        }
        pages[lru] -= entryPages(lruFlags);
    }

    /** Receives every entry of the lists, for an invariant check. */
    @FunctionalInterface
    public interface EntryVisitor
    {
        void entry(int lru, long pfn, int pages);
    }

    /**
     * Walks every list under the lock, checking its links, its entries' flags and its count, and
     * hands each entry to {@code visitor}. Throws {@link IllegalStateException} naming the first
     * inconsistency. For tests and the invariant checker, with reclaim quiescent or not.
     */
    public synchronized void check(final EntryVisitor visitor)
    {
        for (int lru = 0; lru < LISTS; lru++)
        {
            long counted = 0;
            long prev = 0;
            for (long pfn = heads[lru]; pfn != 0; pfn = next(offset(pfn)))
            {
                final long off = offset(pfn);
                final int flags = (int)FLAGS.get(metadata, off);
                final int lruFlags = (int)LRU_FLAGS.get(metadata, off);
                if ((flags & (FrameFlags.STATE_MASK | FrameFlags.HUGETLB)) != FrameFlags.DATA || (lruFlags & LruFlags.LRU) == 0
                    || listOf(flags, lruFlags) != lru)
                {
                    throw new IllegalStateException("LRU list " + lru + " holds PFN " + pfn + " with flags "
                        + FrameFlags.describe(flags) + ", LRU flags " + LruFlags.describe(lruFlags));
                }
                if (prev(off) != prev)
                {
                    throw new IllegalStateException("LRU list " + lru + ": PFN " + pfn + " has a wrong back link");
                }
                final int n = entryPages(pfn);
                counted += n;
                visitor.entry(lru, pfn, n);
                prev = pfn;
            }
            if (prev != tails[lru] || counted != pages[lru])
            {
                throw new IllegalStateException("LRU list " + lru + ": tail " + tails[lru] + " (walked to " + prev + "), "
                    + pages[lru] + " pages counted, " + counted + " linked");
            }
        }
    }
}
