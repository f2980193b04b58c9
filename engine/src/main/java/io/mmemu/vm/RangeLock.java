package io.mmemu.vm;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The one way a writer (a syscall or anything else that changes the VMA tree) starts and ends in
 * an address space: the mmap lock, the ownership of address ranges, and the per-VMA write locks
 * behind one API (issue 15).
 * <p>
 * <b>Spans.</b> A writer {@linkplain #acquire owns} the whole of each range it works on,
 * {@code [start, end)}, holes included (mremap: the old and the new range; fork and exec: the
 * whole user range), from the start of the operation until {@link #release}. While it owns a span,
 * no other writer changes anything that meets it, so a writer may drop the mmap lock in the middle
 * ({@link #unlockTree}: a sectioned munmap's or MAP_FIXED's zap) and find everything in its span as
 * it left it when it takes the lock again ({@link #lockTree}). A writer whose range meets a span
 * another writer owns waits, offline, until that writer releases, then tries again. A writer whose
 * range is only known once it has looked at the tree (a gap search, a stack's growth) takes the mmap
 * lock first and {@linkplain #claim claims} the range it found; a claim that meets another writer's
 * span waits for it and makes the caller look again.
 * <p>
 * <b>Modes.</b> In mmap-lock mode a writer holds the mmap write lock from acquire to release
 * (Linux before 6.4), so no writer ever meets another's span; the spans are still recorded, so the
 * same assertions hold in both modes. In per-VMA mode faults never take the mmap lock: they
 * read-lock the VMA ({@link Vma}); a writer write-locks ({@linkplain #lockVma drains}) the VMAs it
 * replaces or removes. Faults never take this range lock either, except stack growth, which is a
 * writer.
 * <p>
 * <b>The invariant</b> that makes a writer's neighbours safe to read and merge with: whenever a
 * writer holds the mmap write lock, every VMA that meets a span owned by another writer lies inside
 * that span and is write-locked by it (a munmap's placeholders, a MAP_FIXED's born-locked VMA), and
 * every write-locked VMA in the tree belongs to such a span. It holds because a writer drops the
 * mmap lock while owning a span only once the VMAs there are its locked ones (split at the span's
 * ends), and every other writer changes only VMAs that meet its own span, plus unlocked neighbours
 * it merges with (locked VMAs never merge) — which by the invariant meet no other span. A writer
 * whose range touches another writer's locked VMA that will stay (a replacement) waits for that
 * writer first ({@link #neighbourConflict}), so that what it merges with is settled. So a writer
 * holding the mmap lock sees, in the tree, every other writer's munmap as not yet done (its
 * placeholders have the old VMAs' ranges and flags) and every MAP_FIXED replacement as done; its
 * result is the one Linux gives in that order — but a replacement is in the tree before its old
 * pages are gone, so an answer read from one waits for its writer first ({@link #settledUnderLock}).
 * <p>
 * <b>Guarded by.</b> The mmap lock ({@link ReentrantReadWriteLock}, fair): held for writing, the
 * VMA tree's publication ({@code AddressSpace.tree}), the program break, {@link #writeLockedAt};
 * held for reading by faults in mmap-lock mode, by a populate across its range ({@link Populate},
 * in both modes), by a sectioned munmap's table freeing and by views.
 * This object's monitor: the owner records ({@link #owners}, each {@link Owner}'s fields) and the
 * waiter count. Memory ordering: spans are registered and unregistered inside the monitor, and a
 * writer checks them inside it, so a release happens-before the waiter's next check; a span is
 * registered only while its writer holds the mmap write lock, so while a writer holds that lock no
 * other span can appear and a check-then-register is atomic against every other writer. What an
 * owner changed before releasing (with the mmap lock: the tree) is visible to the next writer
 * through the mmap lock.
 * <p>
 * <b>Lock order.</b> Waiting for a span is done holding nothing (no mmap lock, no span of one's
 * own: a failed {@link #claim} gives up the caller's spans before it waits), so span waits cannot
 * form a cycle. Then: mmap lock → this monitor (a leaf, never held while waiting for anything but
 * a release) and mmap lock → VMA write lock → PTE lock.
 */
final class RangeLock
{
    /** Spans one writer may own at once: mremap's two ranges, each widened once by a merge. */
    private static final int MAX_SPANS = 4;

    /**
     * What one writer owns. Records are reused (a CPU runs one syscall at a time, so there are
     * never more live records than CPUs writing); all fields guarded by the RangeLock's monitor.
     */
    private static final class Owner
    {
        /** The writer's CPU, null while the record is free. */
        Cpu cpu;
        /** Whether other writers must respect the spans (registered under the mmap write lock). */
        boolean active;
        /** Span k is {@code [spans[2k], spans[2k+1])}, unsigned, end exclusive. */
        final long[] spans = new long[2 * MAX_SPANS];
        int count;
        /** How many of the spans came with {@link #acquire}: what a failed claim takes again. */
        int initial;
        /** Bumped at every release: a waiter waits for the number it saw to change. */
        long releases;
        /**
         * Whether the writer published a VMA born locked that stays ({@link #bornLocked}: a MAP_FIXED
         * replacement, whose old pages go after it is in the tree), so that the tree shows it done
         * in its spans while accesses may still go through what it replaced ({@link #settledUnderLock}).
         */
        boolean ahead;
    }

    private final boolean perVma;
    private final ReentrantReadWriteLock mmapLock = new ReentrantReadWriteLock(true);
    /** When the current mmap write lock holder took it (guarded by the write lock). */
    private long writeLockedAt;
    /** Every owner record ever needed, free ones included (guarded by this). */
    private Owner[] owners = new Owner[0];
    /** Writers blocked in {@link #awaitRelease} (guarded by this): release notifies only when there are any. */
    private int waiters;

    RangeLock(final LockingMode locking)
    {
        this.perVma = locking == LockingMode.PER_VMA;
    }

    // ---------------------------------------------------------------- writers

    /** Takes the mmap write lock and owns no span yet: for a writer that finds its range in the tree, then {@link #claim}s it. */
    void acquire(final Cpu cpu)
    {
        acquire(cpu, 0, 0, 0, 0);
    }

    /** Takes the mmap write lock and the span {@code [start, end)}, waiting for any writer that owns part of it. */
    void acquire(final Cpu cpu, final long start, final long end)
    {
        acquire(cpu, start, end, 0, 0);
    }

    /** As {@link #acquire(Cpu, long, long)} for two spans at once (an empty one, start == end, is none). */
    void acquire(final Cpu cpu, final long start, final long end, final long start2, final long end2)
    {
        final Owner me;
        synchronized (this)
        {
            assert find(cpu) == null : "a writer acquires the range lock once: " + cpu.id;
            me = freeRecord(cpu);
            add(me, start, end);
            add(me, start2, end2);
            me.initial = me.count;
        }
        register(cpu, me);
    }

    /**
     * Under the mmap write lock: adds {@code [start, end)}, found by looking at the tree, to the
     * caller's spans. When another writer owns part of it, gives up the caller's spans and the mmap
     * lock, waits for that writer, then takes the mmap lock and the spans given to
     * {@link #acquire} again, and returns false: whatever the caller read from the tree is stale,
     * and it must look again (it must not have changed anything yet).
     */
    boolean claim(final Cpu cpu, final long start, final long end)
    {
        assert holdsTree();
        final Owner me;
        final Owner busy;
        final long seen;
        synchronized (this)
        {
            me = find(cpu);
            assert me != null && me.active : "claim without acquire";
            final Owner overlapping = conflict(me, start, end);
            busy = overlapping != null ? overlapping : neighbourConflict(cpu, me, start, end);
            if (busy == null)
            {
                add(me, start, end);
                return true;
            }
            seen = giveUp(me, busy);
        }
        retakeAfter(cpu, me, busy, seen);
        return false;
    }

    /**
     * Under the mmap write lock, for an answer the caller read from the tree over
     * {@code [start, end)} beyond its own spans — a refusal or a success: brk's room above the
     * break and the stack guard gap there, a gap search (the whole tree), a stack's growth past its
     * neighbour — whether it stands. It does unless a VMA another writer published
     * {@linkplain #bornLocked born locked} and keeps (a per-VMA MAP_FIXED's replacement, in the tree
     * while that writer zaps the old pages without the mmap lock) meets the range: the tree shows
     * that writer done, but accesses still go through what it replaced (a present entry, a TLB
     * hit), so an answer read from the new VMA would order the caller after a writer that a later
     * access sees not done (the checker's {@code brk-refused-by-a-half-done-map-fixed.mm}). On
     * Linux both hold the mmap write lock, so no syscall sees a MAP_FIXED half done. Then, as a
     * failed {@link #claim}, gives up the caller's claimed spans and the mmap lock, waits for that
     * writer, takes the lock and the initial spans again, and returns false: look again (the caller
     * must not have changed anything yet). A munmap's placeholders are not waited for: they show the
     * tree before it, and no access sees it done before they go.
     */
    boolean settledUnderLock(final Cpu cpu, final long start, final long end)
    {
        assert holdsTree();
        final Owner me;
        Owner busy = null;
        final long seen;
        synchronized (this)
        {
            me = find(cpu);
            assert me != null && me.active : "settledUnderLock without acquire";
            final long last = Long.compareUnsigned(end, start) < 0 ? -1L : end;
            for (final Owner other : owners)
            {
                if (other != me && other.active && other.ahead && start != end && meets(other, start, last))
                {
                    busy = other;
                    break;
                }
            }
            if (busy == null)
            {
                return true;
            }
            seen = giveUp(me, busy);
        }
        retakeAfter(cpu, me, busy, seen);
        return false;
    }

    /**
     * {@link #settledUnderLock} for a gap search's answer, an address or ENOMEM (mmap without
     * MAP_FIXED, mremap's move to a new area): the search may have read any VMA below TASK_SIZE (the
     * hint's neighbour, every gap above the one it took, a bottom-up fallback's every gap), and a
     * replacement that filled a gap, or made or unmade a stack's guard gap, changes where the
     * mapping goes.
     */
    boolean searchSettled(final Cpu cpu)
    {
        return settledUnderLock(cpu, 0, cpu.mm.taskSize());
    }

    /**
     * Caller holds this monitor and the mmap write lock, and must wait for {@code busy}: gives up
     * the spans claimed since {@link #acquire} (waiters own nothing, so span waits form no cycle;
     * the initial spans are kept in the record) and returns the release count to wait past, read
     * in the same hold as the conflict (a writer may release without the mmap lock).
     */
    private long giveUp(final Owner me, final Owner busy)
    {
        me.active = false;
        me.count = me.initial;
        wake(me);
        return busy.releases;
    }

    /** After {@link #giveUp}: lets go of the mmap lock, waits for {@code busy} offline, then takes the lock and the initial spans again. */
    private void retakeAfter(final Cpu cpu, final Owner me, final Owner busy, final long seen)
    {
        unlockTree(cpu);
        awaitRelease(cpu, busy, seen);
        register(cpu, me);
    }

    /**
     * Under the mmap write lock: adds {@code [start, end)} to the caller's spans where the invariant
     * says no other writer can own any of it (a range of unlocked VMAs next to the caller's span, that
     * a new VMA born locked takes in by merging). Meeting another span there is a bug.
     */
    void widen(final Cpu cpu, final long start, final long end)
    {
        assert holdsTree();
        synchronized (this)
        {
            final Owner me = find(cpu);
            assert me != null && me.active : "widen without acquire";
            final Owner busy = conflict(me, start, end);
            if (busy != null)
            {
                throw new IllegalStateException(String.format("span %x-%x, widened over unlocked VMAs, meets another writer's", start, end));
            }
            for (int k = 0; k < me.count; k++)
            {
                if (Long.compareUnsigned(me.spans[2 * k], end) <= 0 && Long.compareUnsigned(start, me.spans[2 * k + 1]) <= 0)
                {
                    // overlapping or touching: one span, so repeated merges (a move of many pieces) add none
                    me.spans[2 * k] = Long.compareUnsigned(start, me.spans[2 * k]) < 0 ? start : me.spans[2 * k];
                    me.spans[2 * k + 1] = Long.compareUnsigned(end, me.spans[2 * k + 1]) > 0 ? end : me.spans[2 * k + 1];
                    return;
                }
            }
            add(me, start, end);
        }
    }

    /** Ends the caller's ownership (waking writers that wait for it), then drops the mmap write lock if it holds it. */
    void release(final Cpu cpu)
    {
        cpu.mm.settleCommitment(cpu);
        synchronized (this)
        {
            final Owner me = find(cpu);
            assert me != null : "release without acquire";
            assert !perVma || leavesNothingLocked(cpu, me);
            me.active = false;
            me.count = 0;
            me.ahead = false;
            me.cpu = null;
            wake(me);
        }
        if (mmapLock.isWriteLockedByCurrentThread())
        {
            unlockTree(cpu);
        }
    }

    /**
     * A writer that lets go leaves no VMA that meets its spans write-locked (a lock nobody would
     * end: faults there would wait forever). Its spans still stand, so no other writer changes
     * those VMAs meanwhile. Caller holds this monitor; for assertions.
     */
    private static boolean leavesNothingLocked(final Cpu cpu, final Owner me)
    {
        final VmaTree tree = cpu.mm.tree();
        for (int k = 0; k < me.count; k++)
        {
            final long start = me.spans[2 * k];
            final long end = me.spans[2 * k + 1];
            for (int i = tree.indexAfter(start); i < tree.size(); i++)
            {
                final Vma vma = tree.get(i);
                if (Long.compareUnsigned(end, start) > 0 && Long.compareUnsigned(vma.start, end) >= 0)
                {
                    break;
                }
                assert !vma.isLocked() : "writer on CPU " + cpu.id + " left " + vma + " locked";
            }
        }
        return true;
    }

    /** Whether the caller owns all of {@code [start, end)} (the union of its spans covers it). */
    boolean owns(final Cpu cpu, final long start, final long end)
    {
        synchronized (this)
        {
            final Owner me = find(cpu);
            if (me == null || !me.active)
            {
                return false;
            }
            long at = start;
            boolean advanced = true;
            while (Long.compareUnsigned(at, end) < 0 && advanced)
            {
                advanced = false;
                for (int k = 0; k < me.count; k++)
                {
                    final long s = me.spans[2 * k];
                    final long e = me.spans[2 * k + 1];
                    if (Long.compareUnsigned(s, at) <= 0 && Long.compareUnsigned(at, e) < 0)
                    {
                        at = e;
                        advanced = true;
                    }
                }
            }
            return Long.compareUnsigned(at, end) >= 0;
        }
    }

    /**
     * For a lockless lookup (a per-VMA fault) about to answer "nothing usable at
     * {@code va}" from the tree it read: that tree may be one of another writer's intermediate
     * steps (mremap unmaps the shrunk tail before it moves the rest; munmap's placeholders go
     * before its tables), which no sequential order shows. Linux's lookup falls back to
     * mmap_read_lock there and so waits for the writer. If another writer owns {@code va}, waits
     * (offline, holding nothing) until it releases and returns false: look up again. Returns true
     * when no other writer owns {@code va}; the answer then stands if the tree the caller read is
     * still the published one — every writer publishes its last tree before it releases, and
     * claims its span before it publishes anything, so an unchanged tree is not an intermediate one.
     */
    boolean settled(final Cpu cpu, final long va)
    {
        return settled(cpu, va, va + 1);
    }

    /**
     * {@link #settled(Cpu, long)} for a whole range: if another writer owns part of
     * {@code [start, end)}, waits (offline, holding nothing) until it releases and returns false;
     * true when none does. A populate calls it after letting go of the mmap lock when it found,
     * under the lock, a writer half-way through its range ({@link #ownedByAnother}).
     */
    boolean settled(final Cpu cpu, final long start, final long end)
    {
        final Owner busy;
        final long seen;
        synchronized (this)
        {
            busy = conflict(find(cpu), start, end);
            if (busy == null)
            {
                return true;
            }
            seen = busy.releases;
        }
        awaitRelease(cpu, busy, seen);
        return false;
    }

    /** Whether a writer other than the caller owns part of {@code [start, end)}. */
    boolean ownedByAnother(final Cpu cpu, final long start, final long end)
    {
        synchronized (this)
        {
            final Owner me = find(cpu);
            for (final Owner other : owners)
            {
                if (other != me && other.active && meets(other, start, end))
                {
                    return true;
                }
            }
            return false;
        }
    }

    /** Caller's record, registered once no other writer owns part of its spans; returns holding the mmap write lock. */
    private void register(final Cpu cpu, final Owner me)
    {
        while (true)
        {
            lockTree(cpu);
            final Owner busy;
            final long seen;
            synchronized (this)
            {
                final Owner overlapping = conflict(me);
                busy = overlapping != null ? overlapping : neighbourConflict(cpu, me);
                if (busy == null)
                {
                    me.active = true;
                    return;
                }
                // only per-VMA writers drop the mmap lock while they own a span
                assert perVma : "a span met under the mmap lock in mmap-lock mode";
                seen = busy.releases;
            }
            unlockTree(cpu);
            awaitRelease(cpu, busy, seen);
        }
    }

    /** Waits, holding nothing and offline, until {@code other}'s release count moves past {@code seen}. */
    private void awaitRelease(final Cpu cpu, final Owner other, final long seen)
    {
        assert !mmapLock.isWriteLockedByCurrentThread() && mmapLock.getReadHoldCount() == 0;
        cpu.beforeBlocking();
        boolean interrupted = false;
        synchronized (this)
        {
            waiters++;
            while (other.releases == seen)
            {
                try
                {
                    wait();
                }
                catch (final InterruptedException ex)
                {
                    interrupted = true;
                }
            }
            waiters--;
        }
        if (interrupted)
        {
            Thread.currentThread().interrupt();
        }
        cpu.afterBlocking();
    }

    /** Caller holds this monitor: marks a release of {@code me}'s spans and wakes the waiters. */
    private void wake(final Owner me)
    {
        me.releases++;
        if (waiters > 0)
        {
            notifyAll();
        }
    }

    /** Caller holds this monitor. */
    private Owner find(final Cpu cpu)
    {
        for (final Owner owner : owners)
        {
            if (owner.cpu == cpu)
            {
                return owner;
            }
        }
        return null;
    }

    /** Caller holds this monitor: a free record, given to {@code cpu}. */
    private Owner freeRecord(final Cpu cpu)
    {
        for (final Owner owner : owners)
        {
            if (owner.cpu == null)
            {
                owner.cpu = cpu;
                owner.count = 0;
                return owner;
            }
        }
        final Owner owner = new Owner();
        owner.cpu = cpu;
        owners = Arrays.copyOf(owners, owners.length + 1);
        owners[owners.length - 1] = owner;
        return owner;
    }

    /** Caller holds this monitor. An end below its start (an address range that wraps) means up to the top. */
    private static void add(final Owner me, final long start, final long end)
    {
        if (start == end)
        {
            return;
        }
        if (me.count == MAX_SPANS)
        {
            throw new IllegalStateException("more than " + MAX_SPANS + " spans");
        }
        me.spans[2 * me.count] = start;
        me.spans[2 * me.count + 1] = Long.compareUnsigned(end, start) < 0 ? -1L : end;
        me.count++;
    }

    /** Caller holds this monitor: an active writer other than {@code me} owning part of one of {@code me}'s spans. */
    private Owner conflict(final Owner me)
    {
        for (int k = 0; k < me.count; k++)
        {
            final Owner busy = conflict(me, me.spans[2 * k], me.spans[2 * k + 1]);
            if (busy != null)
            {
                return busy;
            }
        }
        return null;
    }

    /** Caller holds this monitor. */
    private Owner conflict(final Owner me, final long start, final long end)
    {
        if (start == end)
        {
            return null;
        }
        final long last = Long.compareUnsigned(end, start) < 0 ? -1L : end;
        for (final Owner other : owners)
        {
            if (other != me && other.active && meets(other, start, last))
            {
                return other;
            }
        }
        return null;
    }

    /** Caller holds this monitor and the mmap write lock: {@link #neighbourConflict(Cpu, Owner, long, long)} over every span of {@code me}. */
    private Owner neighbourConflict(final Cpu cpu, final Owner me)
    {
        for (int k = 0; k < me.count; k++)
        {
            final Owner busy = neighbourConflict(cpu, me, me.spans[2 * k], me.spans[2 * k + 1]);
            if (busy != null)
            {
                return busy;
            }
        }
        return null;
    }

    /**
     * Caller holds this monitor and the mmap write lock: the other writer whose locked VMA touches
     * {@code [start, end)} from outside and stays when that writer is done (a MAP_FIXED or mremap
     * replacement, published born locked before the old pages are gone), or null. An edit next to
     * such a VMA merges with it in Linux's order after its writer and with what it replaced in the
     * order before, but a locked VMA never merges: so the edit waits for the writer. A munmap's
     * placeholders do not count: they go, and not merging with them is the order after the munmap.
     */
    private Owner neighbourConflict(final Cpu cpu, final Owner me, final long start, final long end)
    {
        if (!perVma || start == end || !anotherActive(me))
        {
            return null;
        }
        final VmaTree tree = cpu.mm.tree();
        if (start != 0)
        {
            final Vma prev = tree.find(start - 1);
            if (prev != null && prev.end == start && prev.isLocked() && !prev.isPlaceholder())
            {
                final Owner busy = conflict(me, prev.start, prev.end);
                if (busy != null)
                {
                    return busy;
                }
            }
        }
        if (Long.compareUnsigned(end, start) > 0 && end != -1L)
        {
            final Vma next = tree.find(end);
            if (next != null && next.start == end && next.isLocked() && !next.isPlaceholder())
            {
                return conflict(me, next.start, next.end);
            }
        }
        return null;
    }

    /** Caller holds this monitor: whether a writer other than {@code me} owns spans now (else no VMA is another's). */
    private boolean anotherActive(final Owner me)
    {
        for (final Owner other : owners)
        {
            if (other != me && other.active)
            {
                return true;
            }
        }
        return false;
    }

    private static boolean meets(final Owner owner, final long start, final long end)
    {
        for (int k = 0; k < owner.count; k++)
        {
            if (Long.compareUnsigned(owner.spans[2 * k], end) < 0 && Long.compareUnsigned(start, owner.spans[2 * k + 1]) < 0)
            {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- the mmap lock

    /** The mmap lock for writing alone: an owner taking it back mid-operation, or an exclusive view. */
    void lockTree(final Cpu cpu)
    {
        final ReentrantReadWriteLock.WriteLock lock = mmapLock.writeLock();
        if (!lock.tryLock())
        {
            cpu.goOffline();
            lock.lock();
            cpu.goOnline();
        }
        if (lock.getHoldCount() == 1)
        {
            writeLockedAt = System.nanoTime();
        }
    }

    void unlockTree(final Cpu cpu)
    {
        final ReentrantReadWriteLock.WriteLock lock = mmapLock.writeLock();
        if (lock.getHoldCount() == 1)
        {
            CpuStats.record(cpu.stats.mmapWriteHold, System.nanoTime() - writeLockedAt);
        }
        lock.unlock();
    }

    /** Whether the calling thread holds the mmap lock for writing: the precondition of every tree change. */
    boolean holdsTree()
    {
        return mmapLock.isWriteLockedByCurrentThread();
    }

    /** The mmap lock for reading (a fault in mmap-lock mode, table freeing, a view); a CPU that has to wait goes offline meanwhile. */
    void lockShared(final Cpu cpu)
    {
        final ReentrantReadWriteLock.ReadLock lock = mmapLock.readLock();
        if (!tryFair(lock))
        {
            cpu.goOffline();
            lock.lock();
            cpu.goOnline();
        }
    }

    /**
     * The mmap lock for reading if no writer holds it (the rmap's trylock, vmf_anon_prepare's
     * mmap_read_trylock); never waits. It does not defer to writers that only wait for the lock:
     * what needs it holds it briefly, and each of its callers must exclude only a writer at work —
     * deferring, a reclaim that walks page after page of one busy process (mmap-lock mode, writers
     * queueing between the faults' holds) found nearly every page busy and OOM-killed it with swap
     * to spare.
     */
    boolean tryLockShared()
    {
        // the untimed tryLock barges, fair or not
        return mmapLock.readLock().tryLock();
    }

    void unlockShared()
    {
        mmapLock.readLock().unlock();
    }

    boolean holdsShared()
    {
        return mmapLock.getReadHoldCount() > 0;
    }

    private static boolean tryFair(final ReentrantReadWriteLock.ReadLock lock)
    {
        try
        {
            // the timed form honours fairness: readers do not barge past a waiting writer
            return lock.tryLock(0, TimeUnit.NANOSECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    // ---------------------------------------------------------------- VMA write locks

    /**
     * Per-VMA mode: write-locks a VMA about to be replaced or removed, waiting for the faults in
     * flight on it (nothing to do in mmap-lock mode: the write lock already excludes faults). A VMA
     * already locked must be one this writer locked (born locked, or drained before) inside its own
     * spans; an unlocked one must meet no other writer's span (the invariant above).
     */
    void lockVma(final Cpu cpu, final Vma vma)
    {
        assert holdsTree();
        assert vma.isLocked() ? owns(cpu, vma.start, vma.end) : !ownedByAnother(cpu, vma.start, vma.end) :
            "writer on CPU " + cpu.id + " changes " + vma + ", which another writer owns";
        if (perVma && !vma.isLocked())
        {
            vma.writeLock(cpu);
        }
    }

    /** A copy of {@code vma} born locked, inside the caller's spans: a placeholder or a replacement published before the old pages are gone. */
    Vma bornLocked(final Cpu cpu, final Vma vma)
    {
        assert holdsTree() && owns(cpu, vma.start, vma.end) : "born-locked " + vma + " outside the writer's span";
        synchronized (this)
        {
            // from here to the release, an answer read from this writer's spans waits for it (settledUnderLock)
            find(cpu).ahead = true;
        }
        return vma.lockedCopy();
    }

    /** A munmap's placeholder for {@code vma}: born locked, gone when the munmap is done. */
    Vma placeholder(final Cpu cpu, final Vma vma)
    {
        assert holdsTree() && owns(cpu, vma.start, vma.end) : "placeholder " + vma + " outside the writer's span";
        return vma.placeholderCopy();
    }

    /**
     * Ends the lock on a VMA born locked that stays in the tree (after its old pages are gone).
     * Under the mmap write lock, which the caller then keeps until {@link #release}: a VMA in a
     * span another writer owns is locked whenever a writer holds the mmap lock (the invariant
     * above), so an unlocked one there would be merged or split by a writer that takes the mmap
     * lock before this one's release.
     */
    void unlockVma(final Cpu cpu, final Vma vma)
    {
        assert holdsTree() && owns(cpu, vma.start, vma.end) : "VMA unlocked outside the mmap write lock or the writer's span";
        CpuStats.record(cpu.stats.vmaLockHold, vma.unlock());
    }

    /**
     * Ends the lock on a VMA this writer {@linkplain #lockVma drained} and keeps in the tree
     * unchanged (mremap's source after a failed or MREMAP_DONTUNMAP move). It may reach past the
     * writer's spans: the caller has held the mmap write lock since it locked it, so no other
     * writer has seen it locked and the invariant above is whole again when the caller lets go.
     */
    void unlockDrained(final Cpu cpu, final Vma vma)
    {
        assert holdsTree();
        if (perVma)
        {
            CpuStats.record(cpu.stats.vmaLockHold, vma.unlock());
        }
    }

    /** A VMA left the tree: in per-VMA mode its lock ends for good and the faults waiting on it look again. */
    void retire(final Cpu cpu, final Vma vma)
    {
        if (perVma)
        {
            CpuStats.record(cpu.stats.vmaLockHold, vma.retire());
        }
    }
}
