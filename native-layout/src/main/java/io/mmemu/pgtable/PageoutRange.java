package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.FrameCache;
import io.mmemu.phys.FrameFlags;
import io.mmemu.phys.LruFlags;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;

import static io.mmemu.pgtable.PageWalker.ENTRY;

/**
 * MADV_COLD and MADV_PAGEOUT over one range of page tables (mm/madvise.c's
 * madvise_cold_or_pageout_pte_range); reclaim proper goes through the LRU lists and the reverse map
 * (the engine's Reclaimer and Rmap, with {@link PageTableEditor#rmapOne}). Two modes:
 * <ul>
 *   <li>{@link #COLD}: the A bit of every anonymous page, and of every page-cache page this entry
 *       alone maps, is cleared and the page deactivated (folio_deactivate: to the inactive list,
 *       where the next scan finds it unreferenced);</li>
 *   <li>{@link #PAGEOUT}: every eligible page is swapped out, referenced or not (reclaim_pages
 *       with ignore_references).</li>
 * </ul>
 * Eligible: a present entry mapping a backed anonymous page that this entry alone holds
 * ({@code ANON_EXCLUSIVE}, one reference: no gather, copy or reclaim in flight), when the machine
 * has a swap area. Pages fork shares are left, as Linux leaves them ("do not interfere with other
 * mappings"); so are the zero pages and phantom frames.
 * <p>
 * With {@link #eviction} set (PAGEOUT of a file VMA whose file the caller may write:
 * can_do_file_pageout), a page-cache page on the LRU that this entry alone maps (folio_mapcount
 * 1) is paged out too, as reclaim_pages does it: under the PT lock its entry is cleared (a set D
 * bit moved to the page's {@link FrameFlags#CACHE_DIRTY}, try_to_unmap_one's folio_mark_dirty),
 * the entry's reference kept; after the flush the page is offered to {@link #eviction}, which
 * drops it from its file's cache when it is clean and nothing else holds it. A dirty page stays
 * cached, unmapped: only kswapd writes a file page back in shrink_folio_list (madvise leaves it
 * to the flusher), which the host shows (PageoutHostTest).
 * Nothing of this needs a swap area.
 * A 2 MiB leaf is split (as shrink_folio_list splits a THP it cannot swap whole) unless it is the
 * huge zero page or the mode is {@link #COLD}.
 * <p>
 * Swap-out of one page, in the order that keeps every access right: under the PT lock, a slot is
 * allocated naming the page (the swap cache: a fault that finds the entry waits until the page
 * is written) and the entry is replaced by CAS with the swap entry (type 0, exclusive, soft-dirty
 * carried); after the PT page, with no lock held, the range is flushed from every TLB (no store
 * reaches the page after that), then each page is written to its slot and released.
 * Status codes are {@link PageTableEditor}'s; {@link PageTableEditor#STOPPED} when the budget of
 * pages to swap out is reached or the swap area is full.
 */
final class PageoutRange extends RangeVisitor
{
    static final int COLD = 0;
    static final int PAGEOUT = 2;

    private final PageTableEditor editor;
    private final PhysicalMemory memory;
    private final MemorySegment frames;
    private final FrameCache cache;
    private final HugePmd huge;
    private final long zeroPagePfn;
    /** {@link #pendingSlots}' mark of a page-cache page (no slot: it goes to {@link #eviction}). */
    private static final long CACHE_PAGE = -1;
    /** Pages unmapped under the current PT page's lock, waiting for the flush and their write-out. */
    private final long[] pendingPfns = new long[PageTableEntry.ENTRIES];
    private final long[] pendingSlots = new long[PageTableEntry.ENTRIES];
    private int pending;
    /** Set by the editor before each walk: the mode, and how many pages it may swap out at most. */
    int mode;
    long budget;
    /** Set by the editor before each walk: where page-cache pages go (null: they are left alone). */
    CacheEviction eviction;
    /** Counters since {@link #reset}: pages looked at, found referenced, swapped out (pgscan, pgsteal). */
    long scanned;
    long referenced;
    long stolen;
    /** Whether the last walk stopped because the swap area was full. */
    boolean swapFull;

    PageoutRange(final PageTableEditor editor, final PhysicalMemory memory, final FrameCache cache, final HugePmd huge)
    {
        super(PAGEOUT_KIND, false, true);
        this.editor = editor;
        this.memory = memory;
        this.frames = memory.frames();
        this.cache = cache;
        this.huge = huge;
        this.zeroPagePfn = memory.zeroPagePfn();
    }

    void reset()
    {
        scanned = 0;
        referenced = 0;
        stolen = 0;
        swapFull = false;
    }

    int large(final long slot, final long entry, final long va, final int level)
    {
        if (level != PageTableEntry.LEVEL_PMD || mode == COLD
            || memory.isHugeZeroPage(PageTableEntry.leafAddress(entry, level) >>> 12))
        {
            return NEXT;
        }
        huge.split(slot);
        return DESCEND;
    }

    int ptes(final long slot, final long va, final int count)
    {
        assert editor.holdsLock(slot >>> 12) : "pageout without the PT lock";
        final SwapArea swap = memory.swap();
        long changed = 0;
        for (long s = slot, end = slot + ((long)count << 3); s < end; s += 8)
        {
            long e = (long)ENTRY.getOpaque(frames, s);
            if (eviction != null && mode != COLD && cacheEligible(e))
            {
                scanned++;
                unmapCachePage(s, e);
                changed++;
                continue;
            }
            if (mode == COLD ? !eligible(e) && !cacheEligible(e) : !eligible(e) || swap == null)
            {
                continue;
            }
            scanned++;
            if (mode == COLD)
            {
                // folio_deactivate, under the PT lock that keeps the page mapped
                memory.lru().deactivatePage(PageTableEntry.pfn(e));
                // ptep_test_and_clear_young: CAS, an MMU may set D meanwhile; the walker gathers the
                // range, and the caller's flush makes later accesses set A again
                while (PageTableEntry.isAccessed(e))
                {
                    final long witness = (long)ENTRY.compareAndExchange(frames, s, e, e & ~PageTableEntry.ACCESSED);
                    if (witness == e)
                    {
                        referenced++;
                        changed++;
                        break;
                    }
                    e = witness;
                }
                continue;
            }
            if (stolen >= budget)
            {
                break;
            }
            final long pfn = PageTableEntry.pfn(e);
            final long swapSlot = swap.allocate(pfn);
            if (swapSlot == SwapArea.NO_SLOT)
            {
                swapFull = true;
                break;
            }
            final long swapEntry = SwapEntry.of(0, swapSlot) | SwapEntry.EXCLUSIVE
                | ((e & PageTableEntry.SOFT_DIRTY) != 0 ? SwapEntry.SOFT_DIRTY : 0);
            // volatile CAS: an MMU may set A/D without the lock (then the page was just used: kept)
            if ((long)ENTRY.compareAndExchange(frames, s, e, swapEntry) != e)
            {
                swap.cancel(swapSlot);
                continue;
            }
            memory.unmapData(pfn);
            pendingPfns[pending] = pfn;
            pendingSlots[pending] = swapSlot;
            pending++;
            stolen++;
            changed++;
        }
        done += changed;
        return PageTableEditor.OK;
    }

    /**
     * A present entry of a page-cache page on the LRU that no other entry maps (the page may be
     * held otherwise: the eviction judges that after the flush). Under the PT lock.
     */
    private boolean cacheEligible(final long e)
    {
        if (!PageTableEntry.isPresent(e))
        {
            return false;
        }
        final long pfn = PageTableEntry.pfn(e);
        return pfn != zeroPagePfn && memory.isBacked(pfn)
            && (memory.flags(pfn) & (FrameFlags.STATE_MASK | FrameFlags.FILE_LRU)) == (FrameFlags.DATA | FrameFlags.FILE_LRU)
            && (memory.lruFlags(pfn) & LruFlags.LRU) != 0
            && memory.mapcount(pfn) == 1;
    }

    /**
     * try_to_unmap_one of page-cache entry {@code e} at {@code s}, under its PT lock: cleared, its
     * D bit moved to the page, its mapcount dropped; the entry's reference waits with the page
     * for the flush (the walker gathered the range).
     */
    private void unmapCachePage(final long s, final long e0)
    {
        long e = e0;
        while (true)
        {
            // volatile CAS: an MMU may set A/D without the lock, and a D bit lost here would lose a write
            final long witness = (long)ENTRY.compareAndExchange(frames, s, e, 0L);
            if (witness == e)
            {
                break;
            }
            e = witness;
        }
        final long pfn = PageTableEntry.pfn(e);
        if (PageTableEntry.isDirty(e))
        {
            memory.markCacheDirty(pfn);
        }
        memory.unmapData(pfn);
        pendingPfns[pending] = pfn;
        pendingSlots[pending] = CACHE_PAGE;
        pending++;
    }

    /** A present entry of an anonymous page only it holds (under the PT lock: the page stays held meanwhile). */
    private boolean eligible(final long e)
    {
        if (!PageTableEntry.isPresent(e))
        {
            return false;
        }
        final long pfn = PageTableEntry.pfn(e);
        return pfn != zeroPagePfn && memory.isBacked(pfn)
            && (memory.flags(pfn) & (FrameFlags.STATE_MASK | FrameFlags.ANON_EXCLUSIVE)) == (FrameFlags.DATA | FrameFlags.ANON_EXCLUSIVE)
            && memory.refcount(pfn) == 1;
    }

    /**
     * After a PT page, no lock held: the pages unmapped there are flushed from every TLB, written
     * to their slots and released. {@link PageTableEditor#STOPPED} ends the walk.
     */
    int afterTable()
    {
        if (pending > 0)
        {
            // the walker has gathered this PT page's range: after this flush no CPU stores to the pages
            tlb.flush();
            final SwapArea swap = memory.swap();
            for (int i = 0; i < pending; i++)
            {
                if (pendingSlots[i] == CACHE_PAGE)
                {
                    // no entry maps it now: dropped if clean and held by the cache and this alone
                    eviction.evict(pendingPfns[i], cache);
                }
                else
                {
                    swap.writeOut(pendingSlots[i], frames);
                }
                memory.releaseData(cache, pendingPfns[i], false);
            }
            pending = 0;
        }
        return swapFull || (mode != COLD && stolen >= budget) ? PageTableEditor.STOPPED : PageTableEditor.OK;
    }
}
