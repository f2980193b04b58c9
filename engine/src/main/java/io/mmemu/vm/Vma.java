package io.mmemu.vm;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import org.agrona.concurrent.IdleStrategy;

/**
 * A virtual memory area: {@code [start, end)} with flags, a page offset and its backing. Immutable
 * in everything a lookup reads (range, flags, pgoff, backing), so a lockless reader of the
 * {@link VmaTree} always sees a self-consistent VMA; a change of any of those replaces the VMA
 * with new ones. Mutable: the anon_vma, assigned once by the first fault (CAS from null) and
 * shared by the pieces a split makes; and the per-VMA lock.
 * <p>
 * <b>The per-VMA lock</b> (the seed's design). One int word: bit 31 {@link #WRITER}, bits 0..30
 * the faults in flight on this VMA, plus a completion: an episode number, odd while a write-lock
 * episode is in progress, whose end waiters wait for on this VMA's monitor (nothing is allocated
 * per episode: MADV_DONTNEED's page-table reclaim write-locks a VMA at every call).
 * <ul>
 *   <li>A fault {@linkplain #tryReadLock() read-locks}: CAS readers+1 unless WRITER is set. While
 *       it holds the read lock the VMA is attached to the tree and unchanged.</li>
 *   <li>A writer {@linkplain #writeLock write-locks}: starts an episode (odd), then sets WRITER
 *       (atomic OR), then waits for the readers to drain (servicing TLB flush requests meanwhile,
 *       since a draining fault may be waiting for this CPU's shootdown acknowledgement).</li>
 *   <li>A VMA may also be born locked: a replacement published before the old pages are gone
 *       (MAP_FIXED, mremap's target, a range being unmapped).</li>
 *   <li>A locked VMA ends either {@linkplain #unlock() unlocked} (it stays attached: WRITER cleared,
 *       then the episode ended) or {@linkplain #retire() retired} (detached: WRITER stays
 *       forever, the episode is ended).</li>
 *   <li>A fault that finds WRITER set {@linkplain #await awaits} the end of the episode it reads
 *       after seeing WRITER, then looks its address up again in the current tree.</li>
 * </ul>
 * Memory ordering: the episode's start is written (volatile) before WRITER is set (volatile RMW),
 * so a fault that sees WRITER also reads that episode's number or a later one — never an ended
 * episode from before, hence no wait that nobody ends. An episode ends (under the monitor, with a
 * notifyAll) after the writer's last change, so a woken fault sees the new tree; a waiter checks
 * the number under the same monitor before it waits, so no wake-up is lost.
 */
final class Vma
{
    private static final VarHandle ANON_VMA;

    static
    {
        try
        {
            ANON_VMA = MethodHandles.lookup().findVarHandle(Vma.class, "anonVma", AnonVma.class);
            LOCK = MethodHandles.lookup().findVarHandle(Vma.class, "lock", int.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    final long start;
    final long end;
    final int flags;
    final long pgoff;
    /** What the VMA maps: a file or the shmem object of shared anonymous memory; null for anonymous memory. */
    final OpenFile file;
    /** The maps name for special VMAs ([heap], [stack]...), or null. */
    final String name;
    @SuppressWarnings("unused") // accessed through ANON_VMA
    private volatile AnonVma anonVma;

    static final int WRITER = 1 << 31;
    private static final int READERS = ~WRITER;
    private static final VarHandle LOCK;
    @SuppressWarnings("unused") // accessed through LOCK
    private volatile int lock;
    /** The write-lock episode: odd while one is in progress. Written by the episode's writer only. */
    private volatile long episode;
    /**
     * When the current write-lock episode began (for hold-time statistics). Guarded by the VMA
     * write lock: written by the writer that sets WRITER (or creates the VMA born locked), read by
     * it when it ends the episode.
     */
    private long lockedAt;
    /**
     * Whether this is a munmap's placeholder: born locked, it leaves the tree when its writer is
     * done, with nothing in its place. Written before the VMA is published (under the mmap write
     * lock), never changed.
     */
    private boolean placeholder;

    Vma(final long start, final long end, final int flags, final long pgoff, final OpenFile file,
        final String name, final AnonVma anonVma)
    {
        this.start = start;
        this.end = end;
        this.flags = flags;
        this.pgoff = pgoff;
        this.file = file;
        this.name = name;
        this.anonVma = anonVma;
    }

    /** The same VMA over {@code [newStart, newEnd)}, pgoff adjusted, flags replaced. */
    Vma slice(final long newStart, final long newEnd, final int newFlags)
    {
        return new Vma(newStart, newEnd, newFlags, pgoff + ((newStart - start) >>> 12), file, name, anonVma());
    }

    Vma slice(final long newStart, final long newEnd)
    {
        return slice(newStart, newEnd, flags);
    }

    /** The same backing and flags over a new range with an explicit pgoff (expansion, merge, move). */
    Vma withRange(final long newStart, final long newEnd, final long newPgoff, final AnonVma newAnonVma)
    {
        return new Vma(newStart, newEnd, flags, newPgoff, file, name, newAnonVma);
    }

    /** A copy of this VMA, born write-locked (published before the old pages are gone). */
    Vma lockedCopy()
    {
        final Vma copy = new Vma(start, end, flags, pgoff, file, name, anonVma());
        copy.episode = 1;
        copy.lockedAt = System.nanoTime();
        copy.lock = WRITER;
        return copy;
    }

    /** A copy of this VMA, born write-locked, that holds the range of a munmap in flight and then goes. */
    Vma placeholderCopy()
    {
        final Vma copy = lockedCopy();
        copy.placeholder = true;
        return copy;
    }

    /** Whether this is a munmap's placeholder (see {@link #placeholderCopy}). */
    boolean isPlaceholder()
    {
        return placeholder;
    }

    /** A fault's read lock: fails when a writer holds or is taking the VMA. */
    boolean tryReadLock()
    {
        int state = (int)LOCK.getVolatile(this);
        while ((state & WRITER) == 0)
        {
            // volatile CAS: acquire for the fault; a writer setting WRITER concurrently makes it fail
            final int witness = (int)LOCK.compareAndExchange(this, state, state + 1);
            if (witness == state)
            {
                return true;
            }
            state = witness;
        }
        return false;
    }

    void readUnlock()
    {
        // volatile decrement: the fault's page-table changes happen-before the writer's drain sees 0
        final int before = (int)LOCK.getAndAdd(this, -1);
        assert (before & READERS) > 0 : "read unlock without a read lock";
    }

    boolean isLocked()
    {
        return ((int)LOCK.getVolatile(this) & WRITER) != 0;
    }

    /** Whether some fault holds the read lock (for assertions: one in flight here must). */
    boolean hasReaders()
    {
        return ((int)LOCK.getVolatile(this) & READERS) != 0;
    }

    /**
     * Takes the write lock and waits for faults in flight to drain. Caller holds the mmap write
     * lock, so writers do not race here. Returns the nanoseconds spent draining.
     */
    long writeLock(final WaitContext cpu)
    {
        lockedAt = System.nanoTime();
        episode = episode + 1;
        // volatile OR after the episode's start: see the class comment
        final int before = (int)LOCK.getAndBitwiseOr(this, WRITER);
        assert (before & WRITER) == 0 : "VMA already write-locked: " + this;
        if ((before & READERS) == 0)
        {
            return 0;
        }
        final long t0 = System.nanoTime();
        final IdleStrategy idle = cpu.idle();
        idle.reset();
        while (((int)LOCK.getVolatile(this) & READERS) != 0)
        {
            cpu.pollWhileWaiting();
            idle.idle();
        }
        return System.nanoTime() - t0;
    }

    /** Ends a write-lock episode of a VMA that stays in the tree; returns how long it was held, ns. */
    long unlock()
    {
        // release: the writer's changes are visible to a fault that read-locks after seeing WRITER clear
        final int before = (int)LOCK.getAndBitwiseAnd(this, READERS);
        assert (before & WRITER) != 0 : "unlock of an unlocked VMA";
        endEpisode();
        return System.nanoTime() - lockedAt;
    }

    /** Ends the life of a locked VMA that has left the tree: WRITER stays, waiters wake. Returns the hold, ns. */
    long retire()
    {
        if ((episode & 1) == 0)
        {
            return 0;
        }
        endEpisode();
        return System.nanoTime() - lockedAt;
    }

    /** Ends the episode in progress and wakes its waiters. */
    private void endEpisode()
    {
        synchronized (this)
        {
            episode = episode + 1;
            notifyAll();
        }
    }

    /**
     * Waits for the current write-lock episode to end: a short bounded spin, then blocking on the
     * completion with the CPU offline (so it cannot hold up a shootdown meanwhile).
     */
    void await(final WaitContext cpu)
    {
        final long waited = episode;
        if ((waited & 1) == 0)
        {
            return;
        }
        for (int spin = 0; spin < 64; spin++)
        {
            if (episode != waited)
            {
                return;
            }
            Thread.onSpinWait();
        }
        cpu.beforeBlocking();
        boolean interrupted = false;
        synchronized (this)
        {
            while (episode == waited)
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
        }
        if (interrupted)
        {
            Thread.currentThread().interrupt();
        }
        cpu.afterBlocking();
    }

    AnonVma anonVma()
    {
        return (AnonVma)ANON_VMA.getAcquire(this);
    }

    /** Sets the anon_vma if none is set; returns the one in place afterwards. */
    AnonVma assignAnonVma(final AnonVma candidate)
    {
        // volatile CAS: the first fault wins; later readers acquire the winner
        final AnonVma witness = (AnonVma)ANON_VMA.compareAndExchange(this, (AnonVma)null, candidate);
        return witness == null ? candidate : witness;
    }

    boolean contains(final long va)
    {
        return va >= start && va < end;
    }

    long pages()
    {
        return (end - start) >>> 12;
    }

    /** The pages this VMA commits (VM_ACCOUNT), 0 when it commits none. */
    long accountedPages()
    {
        return (flags & VmFlags.VM_ACCOUNT) != 0 ? pages() : 0;
    }

    /** vma_is_anonymous: no vm_ops: no file behind it, or a private mapping of /dev/zero. */
    boolean isAnonymous()
    {
        return file == null || file.inode().isDevZero() && !isShared();
    }

    /** VM_MAYSHARE: a shared mapping (of a file or of shmem), whose writes reach the object. */
    boolean isShared()
    {
        return (flags & VmFlags.VM_MAYSHARE) != 0;
    }

    boolean isAccessible()
    {
        return (flags & VmFlags.VM_ACCESS_FLAGS) != 0;
    }

    /**
     * The snapshot views print. {@code [heap]} is not a property of the VMA but of where the program
     * break is (vma_is_initial_heap: an anonymous VMA overlapping {@code [startBrk, brk)}).
     */
    VmaInfo info(final long startBrk, final long brk)
    {
        String mapsName = file != null ? file.inode().path() : name;
        if (mapsName == null && start < brk && end > startBrk)
        {
            mapsName = Brk.HEAP_NAME;
        }
        final MappedFile inode = file != null ? file.inode() : null;
        return new VmaInfo(start, end, flags, pgoff, mapsName, inode == null || inode.isShmem(),
            inode != null ? inode.dev() : 0, inode != null ? inode.inode() : 0, anonVma() != null, Hugetlb.pageSize(this));
    }

    @Override
    public String toString()
    {
        return String.format("vma[%x-%x flags=%x pgoff=%x%s]", start, end, flags, pgoff,
            file != null ? " " + file : "");
    }
}
