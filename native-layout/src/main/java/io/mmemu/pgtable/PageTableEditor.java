package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import static io.mmemu.pgtable.PageTableEntry.ENTRIES;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PGD;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PMD;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PTE;
import static io.mmemu.pgtable.PageWalker.ENTRY;
import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * Range operations on one thread's behalf over the four-level tables: populate, zap, free empty
 * tables, change protection. The one range iterator that the engine's syscalls build on (one PTE
 * lock acquisition per PT page, not per entry).
 * <p>
 * Concurrency contract. Leaf entries change only under their PT page's {@link PtLock}; upper
 * entries change only by CAS from empty ({@link PageWalker#walkAlloc}) or by
 * {@link #freeTables}, which the caller may run only when no thread can install entries in
 * {@code [floor, ceiling)} (the engine guarantees it: no VMA covers that range any more). Readers
 * that do not lock (TLB fills) are safe because frames and tables are freed only through an
 * {@link MmuGather}, after the flush.
 * <p>
 * Status codes: {@link #OK}, {@link #NO_MEMORY} (exhausted; what was done stays done and is
 * consistent), {@link #BAD_ENTRY} (corrupted tables), {@link #LARGE_LEAF} (a 2 MiB / 1 GiB leaf
 * where the operation needs 4 KiB entries; nothing creates them yet).
 */
public final class PageTableEditor
{
    public static final int OK = 0;
    public static final int NO_MEMORY = -1;
    public static final int BAD_ENTRY = -2;
    public static final int LARGE_LEAF = -3;

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
    private LockHoldRecorder holds = LockHoldRecorder.NONE;
    private Runnable interrupts = NO_INTERRUPTS;
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

    /** Allocates an empty PML4; its physical address is the new CR3. */
    public long allocateRoot()
    {
        final long pfn = memory.allocateTable(cache, LEVEL_PGD);
        return pfn == NO_FRAME ? NO_FRAME : pfn << 12;
    }

    /** Frees an empty PML4 (after {@link #freeTables} over the whole space). */
    public void freeRoot(final long cr3)
    {
        memory.freeTable(cache, cr3 >>> 12);
    }

    /**
     * Takes the PT lock of table page {@code tablePfn}. Every PT lock this editor takes is taken
     * here and released before the public method that took it returns, and at most one at a time
     * (the lock order: no other PT lock, no shootdown wait, while it is held).
     */
    private void lockTable(final long tablePfn)
    {
        // messages without concatenation: a disabled assert's bytecode still counts against inlining
        assert locksHeld == 0 : "a second PT lock while holding one";
        PtLock.lock(metadata, tablePfn, token, idle);
        locksHeld++;
    }

    private void unlockTable(final long tablePfn)
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
        done = 0;
        long va = start;
        while (va < end)
        {
            interrupts.run();
            final int status = walker.walkAlloc(cr3, va);
            final long last = Math.min(end, nextBoundary(va, LEVEL_PMD));
            if (status == PageWalker.WALK_LARGE)
            {
                va = nextBoundary(va, walker.level());
                continue;
            }
            if (status != PageWalker.WALK_PTE)
            {
                return status == PageWalker.WALK_NO_MEMORY ? NO_MEMORY : BAD_ENTRY;
            }
            final long pt = walker.tablePfn();
            long slot = walker.slot();
            lockTable(pt);
            try
            {
                for (long a = va; a < last; a += PhysicalMemory.PAGE_SIZE, slot += 8)
                {
                    if ((long)ENTRY.getOpaque(frames, slot) != 0L)
                    {
                        continue;
                    }
                    final long pfn = memory.allocateData(cache);
                    if (pfn == NO_FRAME)
                    {
                        return NO_MEMORY;
                    }
                    // release store: the zeroed page is visible to whoever acquires the entry
                    ENTRY.setRelease(frames, slot, PageTableEntry.leaf(pfn, leafFlags));
                    done++;
                }
            }
            finally
            {
                unlockTable(pt);
            }
            va = last;
        }
        return OK;
    }

    /**
     * Clears every 4 KiB entry in {@code [start, end)}, handing mapped data pages to {@code tlb}
     * (the zero page is not counted). Flushes the gather whenever it fills, between PT pages.
     */
    public int zap(final long cr3, final long start, final long end, final MmuGather tlb)
    {
        return forEachTable(ZAP, cr3, start, end, 0, false, tlb);
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
        return forEachTable(PROTECT, cr3, start, end, protection, writeOnlyIfExclusive, tlb);
    }

    /**
     * Moves the 4 KiB entries of {@code [from, from + length)} to {@code [to, to + length)}, as
     * mremap's move_page_tables does: frames keep their contents and counts, entries their bits;
     * tables at the destination are installed as needed. The caller excludes faults on both
     * ranges (they belong to VMAs it holds) and flushes the source range's TLBs afterwards.
     * On {@link #NO_MEMORY} the entries moved so far stay moved ({@link #done()} counts them).
     */
    public int move(final long cr3, final long from, final long to, final long length, final boolean softDirty)
    {
        done = 0;
        long va = from;
        final long end = from + length;
        while (va < end)
        {
            interrupts.run();
            final int status = walker.walk(cr3, va);
            if (status == PageWalker.WALK_HOLE)
            {
                va = Math.min(end, nextBoundary(va, walker.level()));
                continue;
            }
            if (status == PageWalker.WALK_LARGE)
            {
                return LARGE_LEAF;
            }
            if (status != PageWalker.WALK_PTE)
            {
                return BAD_ENTRY;
            }
            final long srcTable = walker.tablePfn();
            final long srcSlot = walker.slot();
            if ((long)ENTRY.getOpaque(frames, srcSlot) == 0L)
            {
                va += PhysicalMemory.PAGE_SIZE;
                continue;
            }
            final long dest = to + (va - from);
            final int destStatus = walker.walkAlloc(cr3, dest);
            if (destStatus == PageWalker.WALK_NO_MEMORY)
            {
                return NO_MEMORY;
            }
            if (destStatus != PageWalker.WALK_PTE)
            {
                return destStatus == PageWalker.WALK_LARGE ? LARGE_LEAF : BAD_ENTRY;
            }
            final long destTable = walker.tablePfn();
            final long destSlot = walker.slot();
            lockTable(srcTable);
            final long e;
            try
            {
                // exchange: A/D set concurrently by a stale TLB's walk must travel with the entry
                e = (long)ENTRY.getAndSet(frames, srcSlot, 0L);
            }
            finally
            {
                unlockTable(srcTable);
            }
            lockTable(destTable);
            try
            {
                // move_soft_dirty_pte: a moved page is dirty for soft-dirty tracking, when there is any
                ENTRY.setRelease(frames, destSlot, e | (softDirty && PageTableEntry.isMapped(e) ? PageTableEntry.SOFT_DIRTY : 0));
            }
            finally
            {
                unlockTable(destTable);
            }
            done++;
            va += PhysicalMemory.PAGE_SIZE;
        }
        return OK;
    }

    /**
     * Clears the dirty bit of every mapped entry in {@code [start, end)} (MADV_FREE: the pages
     * become clean, so they may be dropped instead of written back; a later write dirties them
     * again). The frames are marked as having been written, so that they are cleared before reuse.
     * Changed ranges go to {@code tlb}: a stale writable TLB entry would skip setting D.
     */
    public int clean(final long cr3, final long start, final long end, final MmuGather tlb)
    {
        return forEachTable(CLEAN, cr3, start, end, 0, false, tlb);
    }

    private static final int ZAP = 0;
    private static final int PROTECT = 1;
    private static final int CLEAN = 2;

    /**
     * The range iterator the entry-changing operations share: walks to each PT page of
     * {@code [start, end)} (skipping holes a whole table level at a time), takes its lock once,
     * applies {@code op} to every slot in range, then reports the changed range to {@code tlb}.
     */
    private int forEachTable(final int op, final long cr3, final long start, final long end, final long protection,
        final boolean writeOnlyIfExclusive, final MmuGather tlb)
    {
        done = 0;
        long va = start;
        while (va < end)
        {
            interrupts.run();
            final int status = walker.walk(cr3, va);
            if (status == PageWalker.WALK_HOLE)
            {
                va = nextBoundary(va, walker.level());
                continue;
            }
            if (status == PageWalker.WALK_LARGE)
            {
                return LARGE_LEAF;
            }
            if (status != PageWalker.WALK_PTE)
            {
                return BAD_ENTRY;
            }
            final long last = Math.min(end, nextBoundary(va, LEVEL_PMD));
            final long pt = walker.tablePfn();
            long slot = walker.slot();
            long changed = 0;
            lockTable(pt);
            final long lockedAt = System.nanoTime();
            try
            {
                for (long a = va; a < last; a += PhysicalMemory.PAGE_SIZE, slot += 8)
                {
                    final boolean hit = switch (op)
                    {
                        case ZAP -> zapSlot(slot, tlb);
                        case PROTECT -> protectSlot(slot, protection, writeOnlyIfExclusive);
                        default -> cleanSlot(slot);
                    };
                    if (hit)
                    {
                        changed++;
                    }
                }
            }
            finally
            {
                unlockTable(pt);
                holds.record(System.nanoTime() - lockedAt);
            }
            if (changed > 0)
            {
                done += changed;
                tlb.addRange(va, last);
                if (op == ZAP && tlb.isFull())
                {
                    tlb.flush();
                }
            }
            va = last;
        }
        return OK;
    }

    /** Clears one entry; true if it was set. Caller holds the PT lock. */
    private boolean zapSlot(final long slot, final MmuGather tlb)
    {
        assert holdsLock(slot >>> 12) : "zap without the PT lock";
        if ((long)ENTRY.getOpaque(frames, slot) == 0L)
        {
            return false;
        }
        // atomic exchange (Linux's ptep_get_and_clear): an MMU may set A/D by CAS without the
        // lock, and a dirty bit lost here would free a written page as clean; a lockless TLB fill
        // may still read the old entry, which is why the frame waits in the gather for the flush
        final long e = (long)ENTRY.getAndSet(frames, slot, 0L);
        if (PageTableEntry.isMapped(e))
        {
            final long pfn = PageTableEntry.pfn(e);
            if (pfn != zeroPagePfn)
            {
                memory.unmapData(pfn);
                tlb.addPage(pfn, !PageTableEntry.isDirty(e));
            }
        }
        return true;
    }

    /** Re-protects one mapped entry; true if it changed. Caller holds the PT lock. */
    private boolean protectSlot(final long slot, final long protection, final boolean writeOnlyIfExclusive)
    {
        assert holdsLock(slot >>> 12) : "change of protection without the PT lock";
        long e = (long)ENTRY.getOpaque(frames, slot);
        while (PageTableEntry.isMapped(e))
        {
            long prot = protection;
            if (PageTableEntry.pfn(e) == zeroPagePfn ||
                ((prot & PageTableEntry.WRITABLE) != 0 && writeOnlyIfExclusive && !memory.isAnonExclusive(PageTableEntry.pfn(e))))
            {
                prot &= ~PageTableEntry.WRITABLE;
            }
            final long updated = PageTableEntry.withProtection(e, prot);
            if (updated == e)
            {
                return false;
            }
            // CAS, not a store: an MMU may set A/D concurrently without the lock
            final long witness = (long)ENTRY.compareAndExchange(frames, slot, e, updated);
            if (witness == e)
            {
                return true;
            }
            e = witness;
        }
        return false;
    }

    /** Clears D of one mapped entry; true if it was dirty. Caller holds the PT lock. */
    private boolean cleanSlot(final long slot)
    {
        assert holdsLock(slot >>> 12) : "clean without the PT lock";
        long e = (long)ENTRY.getOpaque(frames, slot);
        while (PageTableEntry.isMapped(e) && (e & (PageTableEntry.DIRTY | PageTableEntry.ACCESSED)) != 0)
        {
            // madvise_free_pte_range: pte_mkold + pte_mkclean; CAS, an MMU may set A/D concurrently
            final long witness = (long)ENTRY.compareAndExchange(frames, slot, e,
                e & ~(PageTableEntry.DIRTY | PageTableEntry.ACCESSED));
            if (witness == e)
            {
                if (PageTableEntry.isDirty(e))
                {
                    memory.markDirty(PageTableEntry.pfn(e));
                }
                return true;
            }
            e = witness;
        }
        return false;
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
        if (start >= end)
        {
            return;
        }
        freeBelow(cr3 & PageTableEntry.PHYS_MASK, LEVEL_PGD, 0L, start, end, floor, ceiling, tlb);
    }

    private void freeBelow(final long table, final int level, final long base, final long start, final long end,
        final long floor, final long ceiling, final MmuGather tlb)
    {
        final long span = PageTableEntry.coverage(level);
        final int first = start <= base ? 0 : (int)((start - base) / span);
        final long lastExclusive = (end - base + span - 1) / span;
        final int last = (int)Math.min(ENTRIES, lastExclusive);
        for (int i = first; i < last; i++)
        {
            final long slot = table + ((long)i << 3);
            final long e = (long)ENTRY.getAcquire(frames, slot);
            if (!PageTableEntry.isPresent(e) || PageTableEntry.isLeaf(e, level))
            {
                continue;
            }
            final long childBase = base + i * span;
            final long child = PageTableEntry.address(e);
            if (level - 1 > LEVEL_PTE)
            {
                freeBelow(child, level - 1, childBase, start, end, floor, ceiling, tlb);
            }
            final long childEnd = childBase + span;
            final boolean inside = childBase >= floor && (ceiling == 0 || childEnd <= ceiling);
            if (inside && isEmpty(child))
            {
                ENTRY.setRelease(frames, slot, 0L);
                tlb.addTable(child >>> 12);
                tlb.addRange(childBase, childEnd);
                if (tlb.isFull())
                {
                    tlb.flush();
                }
            }
        }
    }

    private boolean isEmpty(final long table)
    {
        for (long s = table; s < table + PhysicalMemory.PAGE_SIZE; s += 8)
        {
            if ((long)ENTRY.getOpaque(frames, s) != 0L)
            {
                return false;
            }
        }
        return true;
    }

    /** First address after {@code va} that starts a new entry at {@code level} (0 on wrap past 2^64). */
    static long nextBoundary(final long va, final int level)
    {
        final long size = PageTableEntry.coverage(level);
        return (va + size) & -size;
    }
}
