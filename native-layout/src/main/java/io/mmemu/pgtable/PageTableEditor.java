package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.FrameCache;
import io.mmemu.phys.FrameFlags;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import static io.mmemu.pgtable.PageWalker.ENTRY;
import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * Range operations on one thread's behalf over the four-level tables: populate, zap, free empty
 * tables, change protection, move, clean, clear soft-dirty; and the one rule for a fault's leaf
 * write ({@link #setLeaf}). Each range operation is a {@link RangeVisitor} of this editor's
 * {@link RangeWalker} (one PT lock acquisition per PT page, not per entry); the visitors are
 * fields, reused by every call.
 * <p>
 * Concurrency contract. Leaf entries change only under their PT page's {@link PtLock}; upper
 * entries change only by CAS from empty ({@link PageWalker#walkAlloc}) or by
 * {@link #freeTables}, which the caller may run only when no thread can install entries in
 * {@code [floor, ceiling)} (the engine guarantees it: no VMA covers that range any more). Readers
 * that do not lock (TLB fills) are safe because frames and tables are freed only through an
 * {@link MmuGather}, after the flush.
 * <p>
 * Status codes: {@link #OK}, {@link #NO_MEMORY} (exhausted; what was done stays done and is
 * consistent), {@link #BAD_ENTRY} (corrupted tables), {@link #LARGE_LEAF} (a 1 GiB leaf, which
 * no operation splits or changes yet; 2 MiB leaves are acted on whole or split, see {@link HugePmd}).
 */
public final class PageTableEditor
{
    public static final int OK = 0;
    public static final int NO_MEMORY = -1;
    public static final int BAD_ENTRY = -2;
    public static final int LARGE_LEAF = -3;
    /** A pageout walk ended early: its budget reached, or the swap area full. Not an error. */
    public static final int STOPPED = -4;

    /** {@link #pageout} modes: see {@link PageoutRange}. */
    public static final int PAGEOUT_COLD = PageoutRange.COLD;
    public static final int PAGEOUT_FORCE = PageoutRange.PAGEOUT;

    /** {@link #swapIn} results. */
    public static final int SWAPPED_IN = 0;
    public static final int SWAP_ENTRY_CHANGED = 1;
    public static final int SWAP_UNDER_WRITEBACK = 2;

    /** {@link #rmapOne} results. */
    public static final int RMAP_ABSENT = 0;
    public static final int RMAP_MAPPED = 1;
    public static final int RMAP_REFERENCED = 2;
    public static final int RMAP_BUSY = 3;
    public static final int RMAP_UNMAPPED = 4;
    /**
     * {@link #rmapOne}'s {@code swapEntry} for a page-cache page: its entries are cleared, not
     * replaced (a later fault finds the page in the cache, or reads it in). A present bit alone, so
     * never a swap entry.
     */
    public static final long RMAP_DROP = PageTableEntry.PRESENT;

    private final PhysicalMemory memory;
    private final MemorySegment frames;
    private final MemorySegment metadata;
    private final PageWalker walker;
    private final FrameCache cache;
    /**
     * Spin, then yield a good while (on oversubscribed cores the holder we wait for is often just
     * descheduled), then park briefly: waits here are for other CPUs' short critical sections.
     */
    private final IdleStrategy idle = new BackoffIdleStrategy(64, 256, 1_000, 50_000);
    private final long token;
    private final long zeroPagePfn;
    private long done;
    /** Where the walker records PT lock holds (owner thread only). */
    LockHoldRecorder holds = LockHoldRecorder.NONE;
    /** What the walker runs before each PT page (owner thread only). */
    Runnable interrupts = NO_INTERRUPTS;
    private final RangeWalker rangeWalker;
    private final HugetlbLeaf hugetlb;
    private final HugePmd huge;
    private final CopyRange copyRange;
    private final ZapRange zapRange;
    private final ProtectRange protectRange;
    private final CleanRange cleanRange;
    private final ClearSoftDirtyRange clearSoftDirtyRange;
    private final PopulateRange populateRange;
    private final MoveRange moveRange;
    private final FreeTablesRange freeTablesRange;
    private final PageoutRange pageoutRange;
    private final FreezeRange freezeRange;
    /**
     * The gather of {@link #thawMoved}, bound to no flush: a thaw makes entries present, which no
     * TLB held, so there is nothing to flush (its visitors record ranges all the same).
     */
    private final MmuGather unflushed;
    /** PT locks this editor holds now, 0 or 1 (owner thread only; for assertions). */
    private int locksHeld;

    /** The default of {@link #takeInterruptsWith}: an editor no CPU owns answers nothing. */
    public static final Runnable NO_INTERRUPTS = () ->
    {
    };

    /** Receives how long each PT lock was held by a range operation (one sample per PT page). */
    @FunctionalInterface
    public interface LockHoldRecorder
    {
        LockHoldRecorder NONE = nanos ->
        {
        };

        void record(long nanos);
    }

    /** Where range operations report their PT lock hold times (none by default). */
    public void recordHoldsTo(final LockHoldRecorder recorder)
    {
        this.holds = recorder;
    }

    /**
     * What a range operation runs before each page-table page it visits, with no lock of this editor
     * held: where a kernel walking a large range would take a pending interrupt. The owning CPU
     * answers TLB shootdowns there, so that another CPU's flush waits for one table's worth of work
     * here, not for the whole munmap, mprotect or populate (nothing by default).
     */
    public void takeInterruptsWith(final Runnable interrupts)
    {
        this.interrupts = interrupts;
    }

    /**
     * @param token this thread's PTE-lock owner token (non-zero, e.g. CPU id + 1).
     */
    public PageTableEditor(final PhysicalMemory memory, final FrameCache cache, final long token)
    {
        if (token == PtLock.UNLOCKED)
        {
            throw new IllegalArgumentException("lock token must be non-zero");
        }
        this.memory = memory;
        this.frames = memory.frames();
        this.metadata = memory.metadata();
        this.cache = cache;
        this.walker = new PageWalker(memory, cache);
        this.token = token;
        this.zeroPagePfn = memory.zeroPagePfn();
        this.rangeWalker = new RangeWalker(this, memory, cache);
        this.huge = new HugePmd(this, memory, cache);
        this.hugetlb = new HugetlbLeaf(this, memory);
        this.zapRange = new ZapRange(this, memory, huge);
        this.protectRange = new ProtectRange(this, memory, huge);
        this.cleanRange = new CleanRange(this, memory, huge);
        this.clearSoftDirtyRange = new ClearSoftDirtyRange(this, frames, huge);
        this.populateRange = new PopulateRange(this, memory, cache);
        this.moveRange = new MoveRange(this, frames, huge);
        this.freeTablesRange = new FreeTablesRange(frames);
        this.copyRange = new CopyRange(this, memory, cache, huge);
        this.pageoutRange = new PageoutRange(this, memory, cache, huge);
        this.freezeRange = new FreezeRange(this, memory, huge);
        this.unflushed = new MmuGather(memory, cache);
    }

    /** This thread's operations on 2 MiB leaves (THP install and split). */
    /** This thread's hugetlb leaf operations. */
    public HugetlbLeaf hugetlb()
    {
        return hugetlb;
    }

    public HugePmd huge()
    {
        return huge;
    }

    public PageWalker walker()
    {
        return walker;
    }

    public FrameCache cache()
    {
        return cache;
    }

    public IdleStrategy idle()
    {
        return idle;
    }

    public long token()
    {
        return token;
    }

    /** Entries changed by the last range operation (populated, zapped, re-protected). */
    public long done()
    {
        return done;
    }

    /** Allocates an empty PML4; its physical address is the new CR3 (four-level paging). */
    public long allocateRoot()
    {
        return allocateRoot(PagingMode.FOUR_LEVEL);
    }

    /**
     * Allocates an empty root table for {@code levels}-level paging (a PML4, or a PML5) and returns
     * the new CR3 word ({@link PagingMode#cr3}), or {@code NO_FRAME}.
     */
    public long allocateRoot(final int levels)
    {
        final long pfn = memory.allocateTable(cache, PagingMode.checked(levels));
        return pfn == NO_FRAME ? NO_FRAME : PagingMode.cr3(pfn << 12, levels);
    }

    /** Frees an empty root table (after {@link #freeTables} over the whole space). */
    public void freeRoot(final long cr3)
    {
        memory.freeTable(cache, cr3 >>> 12);
    }

    /**
     * Takes the PT lock of table page {@code tablePfn}. Every PT lock this editor takes is taken
     * here and released before the public method that took it returns, and at most one at a time
     * (the lock order: no other PT lock, no shootdown wait, while it is held).
     */
    void lockTable(final long tablePfn)
    {
        // messages without concatenation: a disabled assert's bytecode still counts against inlining
        assert locksHeld == 0 : "a second PT lock while holding one";
        PtLock.lock(metadata, tablePfn, token, idle);
        locksHeld++;
    }

    void unlockTable(final long tablePfn)
    {
        assert holdsLock(tablePfn) : "unlocking a PT lock this editor does not hold";
        locksHeld--;
        PtLock.unlock(metadata, tablePfn);
    }

    /** Whether this editor holds the PT lock of {@code tablePfn} (for assertions). */
    public boolean holdsLock(final long tablePfn)
    {
        return locksHeld > 0 && PtLock.owner(metadata, tablePfn) == token;
    }

    /**
     * Whether this editor holds no PT lock: what a thread must be sure of before it waits for other
     * CPUs (a shootdown), which may be waiting for that lock (for assertions).
     */
    public boolean holdsNoLock()
    {
        return locksHeld == 0;
    }

    /** A condition a leaf write re-checks under the PT lock, besides the entry's value. */
    @FunctionalInterface
    public interface LeafCondition
    {
        /** Whether the write may go in; {@code stamp} is what the caller read before it prepared the entry. */
        boolean holds(long stamp);
    }

    /**
     * The rule for writing one leaf entry outside a range operation (a fault's install or upgrade):
     * take the PT lock of {@code table}, and if the entry at {@code slot} still holds
     * {@code expected}, store {@code update}; unlock. Returns whether the update went in; when it
     * did not, another CPU changed the entry first and the caller backs out what it prepared.
     * <p>
     * An empty entry is changed by a plain comparison and a release store: no MMU writes an empty
     * entry, and the lock excludes every other writer; the release publishes the zeroed page and
     * its descriptor to walkers that acquire the entry. A present entry is changed by CAS, because
     * an MMU may set its A/D bits without the lock.
     */
    public boolean setLeaf(final long table, final long slot, final long expected, final long update)
    {
        // no condition here, not an always-true one: the anonymous fault path makes no interface call
        lockTable(table);
        try
        {
            return storeLeaf(slot, expected, update);
        }
        finally
        {
            unlockTable(table);
        }
    }

    /**
     * {@link #setLeaf(long, long, long, long)}, which also requires {@code condition} to hold for
     * {@code stamp} under the lock (a page-cache page not invalidated since it was looked up).
     */
    public boolean setLeaf(final long table, final long slot, final long expected, final long update,
        final LeafCondition condition, final long stamp)
    {
        lockTable(table);
        try
        {
            return condition.holds(stamp) && storeLeaf(slot, expected, update);
        }
        finally
        {
            unlockTable(table);
        }
    }

    /**
     * do_wp_page's reuse of an anonymous page nobody else holds (wp_can_reuse_anon_folio): under the
     * PT lock of {@code table}, if the entry at {@code slot} still holds {@code expected} and the
     * page it maps has one reference left (this entry's: every other mapping is gone, and no other
     * address space can take a new one but a fork of this one, which takes this lock to copy the
     * entry), marks the page {@linkplain PhysicalMemory#markAnonExclusive exclusive} and stores
     * {@code expected | bits}. Returns false when the page is shared, or when the entry changed
     * (then the caller's copy-on-write install fails on the same comparison and the access retries).
     */
    public boolean reuseIfUnshared(final long table, final long slot, final long expected, final long bits)
    {
        lockTable(table);
        try
        {
            if ((long)ENTRY.getVolatile(frames, slot) != expected)
            {
                return false;
            }
            final long pfn = PageTableEntry.pfn(expected);
            if (memory.refcount(pfn) != 1)
            {
                return false;
            }
            // under the lock: the entry maps the page, so it cannot be freed before the flag is set
            memory.markAnonExclusive(pfn);
            return storeLeaf(slot, expected, expected | bits);
        }
        finally
        {
            unlockTable(table);
        }
    }

    /**
     * do_swap_page's read and install: under the PT lock of {@code table}, if the entry at
     * {@code slot} is still the swap entry {@code expected} and its slot's write-out is done, reads
     * the slot into the fresh page {@code pfn} (the fault's, unpublished), stores {@code update}
     * (which maps it) with a release, and drops the entry's count on the slot. The lock keeps the
     * entry, so the slot is still named and its bytes are the page's last; a write-out still in
     * flight says {@link #SWAP_UNDER_WRITEBACK} (the fault waits and retries), a changed entry
     * {@link #SWAP_ENTRY_CHANGED} (the fault backs out and retries).
     */
    public int swapIn(final long table, final long slot, final long expected, final long update, final long pfn)
    {
        final SwapArea swap = memory.swap();
        final long swapSlot = SwapEntry.offset(expected);
        lockTable(table);
        try
        {
            if ((long)ENTRY.getVolatile(frames, slot) != expected)
            {
                return SWAP_ENTRY_CHANGED;
            }
            if (swap.underWriteback(swapSlot))
            {
                return SWAP_UNDER_WRITEBACK;
            }
            swap.readIn(swapSlot, frames, pfn);
            // release store: the page's bytes and descriptor are visible to whoever acquires the
            // entry; no MMU writes a non-present entry, and the lock excludes every other writer
            ENTRY.setRelease(frames, slot, update);
            swap.free(swapSlot);
            return SWAPPED_IN;
        }
        finally
        {
            unlockTable(table);
        }
    }

    /** The store of {@link #setLeaf}, with the PT lock of the entry's table held. */
    private boolean storeLeaf(final long slot, final long expected, final long update)
    {
        if (expected == 0L)
        {
            if ((long)ENTRY.getOpaque(frames, slot) != 0L)
            {
                return false;
            }
            // release store: the page and its descriptor are visible to whoever acquires the entry
            ENTRY.setRelease(frames, slot, update);
            return true;
        }
        // volatile CAS: an MMU may set A/D on this present entry without the lock
        return (boolean)ENTRY.compareAndSet(frames, slot, expected, update);
    }

    /**
     * Maps a fresh zeroed data page at every empty 4 KiB entry of {@code [start, end)} with
     * {@code leafFlags} (e.g. P|RW|US|A|D|NX), installing tables as needed: MAP_POPULATE of
     * anonymous memory. Entries already set are left alone.
     */
    public int populate(final long cr3, final long start, final long end, final long leafFlags)
    {
        populateRange.leafFlags = leafFlags;
        return run(populateRange, null, cr3, start, end);
    }

    /**
     * Clears every 4 KiB entry in {@code [start, end)}, handing mapped data pages to {@code tlb}
     * (the zero page is not counted). Flushes the gather whenever it fills, between PT pages.
     */
    public int zap(final long cr3, final long start, final long end, final MmuGather tlb)
    {
        return run(zapRange, tlb, cr3, start, end);
    }

    /**
     * Rewrites the protection of every mapped 4 KiB entry in {@code [start, end)}: the bits in
     * {@link PageTableEntry#PROTECTION_MASK} become {@code protection}'s, except that
     * {@link PageTableEntry#WRITABLE} is granted only to exclusive anonymous pages
     * ({@link PhysicalMemory#isAnonExclusive}) when {@code writeOnlyIfExclusive} (a private mapping:
     * can_change_pte_writable — page-cache pages and pages fork shares must fault once, to be copied
     * or reused), and never to the zero page. Frames, A and D stay. Changed ranges go to {@code tlb}
     * for the flush.
     */
    public int changeProtection(final long cr3, final long start, final long end, final long protection,
        final boolean writeOnlyIfExclusive, final MmuGather tlb)
    {
        protectRange.protection = protection;
        protectRange.writeOnlyIfExclusive = writeOnlyIfExclusive;
        return run(protectRange, tlb, cr3, start, end);
    }

    /**
     * fork's copy_page_range: copies the entries of {@code [start, end)} from the tables under
     * {@code cr3} (this thread's process, the parent) into the same addresses under {@code childCr3},
     * write-protecting writable ones on both sides when {@code cow} (is_cow_mapping); see
     * {@link CopyRange} for the rules, the caller's exclusion and its flush. Counters accumulate in
     * {@link #copied()} until its {@code reset}.
     */
    public int copy(final long cr3, final long childCr3, final long start, final long end, final boolean cow)
    {
        copyRange.childCr3 = childCr3;
        copyRange.cow = cow;
        return run(copyRange, null, cr3, start, end);
    }

    /** The counters of {@link #copy} (owner thread only). */
    public CopyRange copied()
    {
        return copyRange;
    }

    /**
     * Moves the entries of {@code [from, from + length)} to {@code [to, to + length)}, as
     * mremap's move_page_tables does: frames keep their contents and counts, entries their bits;
     * tables at the destination are installed as needed. The caller excludes faults on both
     * ranges (they belong to VMAs it holds). mremap moves in three passes, so that no access sees
     * the move half done: {@link #freezeForMove} and the flush of its gather, this, then
     * {@link #thawMoved} of the destination; moved entries are as frozen as they were, so an
     * access to either side faults (and waits for the caller's locks) until the thaw.
     * On {@link #NO_MEMORY} the entries moved so far stay moved ({@link #done()} counts them).
     */
    public int move(final long cr3, final long from, final long to, final long length, final boolean softDirty)
    {
        moveRange.cr3 = cr3;
        moveRange.delta = to - from;
        moveRange.softDirty = softDirty;
        return run(moveRange, null, cr3, from, from + length);
    }

    /**
     * The first pass of mremap's move: every present leaf of {@code [start, end)} is frozen
     * ({@link PageTableEntry#moving}: not present, every bit kept; see {@link FreezeRange}), 2 MiB
     * leaves the range cuts split first. Frozen ranges go to {@code tlb}, whose flush the caller
     * runs before any entry moves. The caller holds what excludes every other writer and every
     * fault on the range (the mmap write lock and the range's VMA write locks), until it thaws.
     */
    public int freezeForMove(final long cr3, final long start, final long end, final MmuGather tlb)
    {
        freezeRange.freeze = true;
        return run(freezeRange, tlb, cr3, start, end);
    }

    /**
     * The last pass of mremap's move (or its undoing): every leaf {@link #freezeForMove} froze in
     * {@code [start, end)} is present again with the bits it had. Nothing to flush.
     */
    public int thawMoved(final long cr3, final long start, final long end)
    {
        freezeRange.freeze = false;
        unflushed.begin(TlbFlush.NONE);
        final int status = run(freezeRange, unflushed, cr3, start, end);
        unflushed.finish();
        return status;
    }

    /**
     * Clears the dirty bit of every mapped entry in {@code [start, end)} (MADV_FREE: the pages
     * become clean, so they may be dropped instead of written back; a later write dirties them
     * again). The frames are marked as having been written, so that they are cleared before reuse.
     * Changed ranges go to {@code tlb}: a stale writable TLB entry would skip setting D.
     */
    public int clean(final long cr3, final long start, final long end, final MmuGather tlb)
    {
        return run(cleanRange, tlb, cr3, start, end);
    }

    /**
     * Clears the soft-dirty bit of every mapped entry in {@code [start, end)} and write-protects the
     * present ones (clear_refs' "4"), so that the next write to each page faults and sets it again.
     * Changed ranges go to {@code tlb}: a stale writable TLB entry would skip that fault.
     */
    public int clearSoftDirty(final long cr3, final long start, final long end, final MmuGather tlb)
    {
        return run(clearSoftDirtyRange, tlb, cr3, start, end);
    }

    /**
     * Unlinks and gathers every empty table below {@code cr3} that maps only addresses inside
     * {@code [floor, ceiling)} and some inside {@code [start, end)}, as Linux's free_pgd_range does
     * with the neighbouring VMAs' bounds. {@code ceiling} 0 means "no upper neighbour". Tables that
     * still hold entries are kept. The caller must guarantee that no thread installs entries in
     * {@code [floor, ceiling)} meanwhile.
     */
    public void freeTables(final long cr3, final long start, final long end, final long floor, final long ceiling,
        final MmuGather tlb)
    {
        freeTablesRange.floor = floor;
        freeTablesRange.ceiling = ceiling;
        freeTablesRange.tlb = tlb;
        // not counted in done(): it reports the zap or populate before it
        rangeWalker.walk(freeTablesRange, cr3, start, end);
        freeTablesRange.tlb = null;
    }

    /**
     * Reclaims anonymous pages of {@code [start, end)} to the machine's swap area, or clears their A
     * bits, as {@code mode} says ({@link #PAGEOUT_COLD}, {@link #PAGEOUT_FORCE}: MADV_COLD and
     * MADV_PAGEOUT; see {@link PageoutRange}), swapping out at most {@code budget} pages.
     * {@code tlb} must be bound to the address space's flush; the caller finishes it (the A bits
     * cleared since the last swap-out are flushed then). The caller holds the range's VMAs (their
     * tables stay). Counters accumulate in {@link #pageoutScanned()} etc. until {@link #resetPageout()}.
     * Returns OK, {@link #STOPPED}, or an error status.
     */
    public int pageout(final long cr3, final long start, final long end, final int mode, final long budget,
        final MmuGather tlb)
    {
        return pageout(cr3, start, end, mode, budget, null, tlb);
    }

    /**
     * {@link #pageout}, and with {@code eviction} non-null ({@link #PAGEOUT_FORCE} only) the
     * page-cache pages only this entry maps are unmapped and offered to it after the flush (see
     * {@link PageoutRange}), with or without a swap area.
     */
    public int pageout(final long cr3, final long start, final long end, final int mode, final long budget,
        final CacheEviction eviction, final MmuGather tlb)
    {
        if (mode != PAGEOUT_COLD && memory.swap() == null && eviction == null)
        {
            return OK;
        }
        pageoutRange.mode = mode;
        pageoutRange.budget = budget;
        pageoutRange.swapFull = false;
        pageoutRange.eviction = eviction;
        try
        {
            return run(pageoutRange, tlb, cr3, start, end);
        }
        finally
        {
            pageoutRange.eviction = null;
        }
    }

    /** Starts {@link #pageout}'s counters from zero. */
    public void resetPageout()
    {
        pageoutRange.reset();
    }

    /** Pages {@link #pageout} looked at since {@link #resetPageout()} (pgscan). */
    public long pageoutScanned()
    {
        return pageoutRange.scanned;
    }

    /** Pages found referenced (A bit set, cleared) since {@link #resetPageout()}. */
    public long pageoutReferenced()
    {
        return pageoutRange.referenced;
    }

    /** Pages swapped out since {@link #resetPageout()} (pgsteal). */
    public long pageoutStolen()
    {
        return pageoutRange.stolen;
    }

    /**
     * One step of an rmap walk over the 4 KiB entry of {@code va} (folio_referenced_one and
     * try_to_unmap_one), under its PT lock. The caller holds what keeps the tables of {@code va}
     * (its VMA's read lock, or the mmap read lock) and a reference on the page {@code pfn}.
     * <ul>
     *   <li>{@code swapEntry == 0}: the reference harvest — an entry mapping the page with its A
     *       bit set has it cleared ({@link #RMAP_REFERENCED}, the range added to {@code tlb} for the
     *       flush); with it clear, {@link #RMAP_MAPPED};</li>
     *   <li>otherwise the unmap — the entry is replaced by {@code swapEntry} (soft-dirty carried;
     *       {@link #RMAP_DROP}: cleared, a set D bit moved to the page-cache page's
     *       {@link io.mmemu.phys.FrameFlags#CACHE_DIRTY}),
     *       the page's mapcount dropped (its reference stays: the caller releases it after the
     *       flush and the write-out), the range added to {@code tlb}: {@link #RMAP_UNMAPPED}. With
     *       {@code duplicate} the slot's count is raised first, under the lock, so a zap of the
     *       entry never sees the count short.</li>
     * </ul>
     * A writable entry is taken only for an {@linkplain PhysicalMemory#isAnonExclusive exclusive}
     * page (its one mapping: after the unmap and the flush its bytes are final), whose swap entry is
     * then exclusive too; {@link #RMAP_BUSY} for a writable entry of any other page (it may change).
     * A 2 MiB leaf mapping the page has its A bit harvested as a whole (pmdp_clear_flush_young) and is
     * split for the unmap (try_to_unmap's TTU_SPLIT_HUGE_PMD); a hugetlb or 1 GiB leaf is
     * {@link #RMAP_BUSY}. {@link #RMAP_ABSENT}: this entry does not map the page.
     */
    public int rmapOne(final long cr3, final long va, final long pfn, final long swapEntry, final boolean duplicate,
        final MmuGather tlb)
    {
        int walked = walker.walk(cr3, va);
        if (walked == PageWalker.WALK_LARGE)
        {
            final long head = PageTableEntry.leafAddress(walker.entry(), walker.level()) >>> 12;
            final long pages = PageTableEntry.coverage(walker.level()) >>> 12;
            if (pfn < head || pfn >= head + pages)
            {
                return RMAP_ABSENT;
            }
            if (walker.level() != PageTableEntry.LEVEL_PMD || memory.isHugetlb(head))
            {
                return RMAP_BUSY;
            }
            final long pmdSlot = walker.slot();
            if (swapEntry == 0)
            {
                return youngHuge(pmdSlot, va & -HugePmd.SIZE, head, tlb);
            }
            huge.split(pmdSlot);
            walked = walker.walk(cr3, va);
        }
        if (walked != PageWalker.WALK_PTE)
        {
            return RMAP_ABSENT;
        }
        final long table = walker.tablePfn();
        final long slot = walker.slot();
        lockTable(table);
        try
        {
            long e = (long)ENTRY.getVolatile(frames, slot);
            while (true)
            {
                if (!PageTableEntry.isPresent(e) || PageTableEntry.pfn(e) != pfn)
                {
                    return RMAP_ABSENT;
                }
                final boolean exclusive = memory.isAnonExclusive(pfn);
                final boolean cached = (memory.flags(pfn) & FrameFlags.FILE_LRU) != 0;
                // an anonymous page mapped writable by one of several entries may change under the walk;
                // a cache page's dirtiness is gathered from its entries' D bits as they are cleared,
                // and judged only once no entry maps it (MappedFile.evict)
                if (PageTableEntry.isWritable(e) && !exclusive && !cached)
                {
                    return RMAP_BUSY;
                }
                final long update;
                if (swapEntry == 0)
                {
                    if (!PageTableEntry.isAccessed(e))
                    {
                        return RMAP_MAPPED;
                    }
                    update = e & ~PageTableEntry.ACCESSED;
                }
                else if (swapEntry == RMAP_DROP)
                {
                    update = 0;
                }
                else
                {
                    update = swapEntry | ((e & PageTableEntry.SOFT_DIRTY) != 0 ? SwapEntry.SOFT_DIRTY : 0)
                        | (exclusive ? SwapEntry.EXCLUSIVE : 0);
                }
                // volatile CAS: an MMU may set A/D without the lock; only those can change under it
                final long witness = (long)ENTRY.compareAndExchange(frames, slot, e, update);
                if (witness != e)
                {
                    e = witness;
                    continue;
                }
                break;
            }
            tlb.addRange(va, va + PhysicalMemory.PAGE_SIZE);
            if (swapEntry == 0)
            {
                return RMAP_REFERENCED;
            }
            if (swapEntry == RMAP_DROP)
            {
                if (PageTableEntry.isDirty(e))
                {
                    // try_to_unmap_one: if (pte_dirty(pteval)) folio_mark_dirty(folio)
                    memory.markCacheDirty(pfn);
                }
            }
            else if (duplicate)
            {
                memory.swap().duplicate(SwapEntry.offset(swapEntry));
            }
            memory.unmapData(pfn);
            return RMAP_UNMAPPED;
        }
        finally
        {
            unlockTable(table);
        }
    }

    /**
     * The reference harvest of a 2 MiB leaf at {@code pmdSlot} mapping the huge page at {@code head}:
     * its A bit tested and cleared under the PMD table's PT lock, the 2 MiB range at {@code haddr}
     * added to {@code tlb} when it was set.
     */
    private int youngHuge(final long pmdSlot, final long haddr, final long head, final MmuGather tlb)
    {
        final long table = pmdSlot >>> 12;
        lockTable(table);
        try
        {
            long e = (long)ENTRY.getVolatile(frames, pmdSlot);
            while (true)
            {
                if (!PageTableEntry.isHugePmd(e) || PageTableEntry.leafAddress(e, PageTableEntry.LEVEL_PMD) >>> 12 != head)
                {
                    // split or zapped since the walk: the next pass looks again
                    return RMAP_BUSY;
                }
                if (!PageTableEntry.isAccessed(e))
                {
                    return RMAP_MAPPED;
                }
                // volatile CAS: an MMU may set D without the lock
                final long witness = (long)ENTRY.compareAndExchange(frames, pmdSlot, e, e & ~PageTableEntry.ACCESSED);
                if (witness == e)
                {
                    break;
                }
                e = witness;
            }
        }
        finally
        {
            unlockTable(table);
        }
        tlb.addRange(haddr, haddr + HugePmd.SIZE);
        return RMAP_REFERENCED;
    }

    /** Whether the last {@link #pageout} found the swap area full. */
    public boolean pageoutSwapFull()
    {
        return pageoutRange.swapFull;
    }

    /** One range operation: {@code v} over {@code [start, end)}, its count kept for {@link #done()}. */
    private int run(final RangeVisitor v, final MmuGather tlb, final long cr3, final long start, final long end)
    {
        v.tlb = tlb;
        final int status = rangeWalker.walk(v, cr3, start, end);
        done = v.done;
        v.tlb = null;
        return status;
    }
}
