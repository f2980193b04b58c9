package io.mmemu.vm;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.RangeWalker;
import io.mmemu.pgtable.SwapEntry;
import io.mmemu.pgtable.TableObserver;
import io.mmemu.pgtable.TableReader;
import io.mmemu.phys.BuddyAllocator;
import io.mmemu.phys.PhysicalMemory;

/**
 * The OOM killer (mm/oom_kill.c) of one machine: when a fault finds no frame (and there is nothing
 * to reclaim), it picks the process with the highest oom_badness — resident pages, swap entries
 * and page-table pages, oom_score_adj 0 for all — and kills it, and reaps it at once
 * (__oom_reap_task_mm: its private pages are zapped; shared ones stay with their object). A fault
 * of another process then tries again; the victim's own fault is {@link Signal#SIGKILL}, and so is
 * every later fault of any of its threads (a fatal signal is pending: {@code Faults.handle}), so
 * none of them sees the reaped memory as fresh zeros; what stays mapped (shared pages) comes back
 * when it exits (exit_mmap: {@link AddressSpace#close}).
 * <p>
 * Linux reaps asynchronously and waits for a victim still being reaped instead of choosing
 * another; here the reap is done before anyone retries, so no second victim is taken while the
 * first still holds what reaping frees.
 * <p>
 * Concurrency: the fault handler calls in after the fault has let go of its locks (VMA read lock
 * or mmap lock, PT locks), as pagefault_out_of_memory runs after the mmap lock is dropped; choosing
 * and marking happen under one lock (oom_lock), which a CPU waits for offline (a reaper's
 * shootdown must not wait for it); reaping runs after that lock is released, as a writer of the
 * victim's address space like any other.
 */
public final class OomKiller
{
    private final PhysicalMemory memory;
    /** The processes on the machine, in creation order (the tie-break: the first of equal badness). */
    private final CopyOnWriteArrayList<AddressSpace> processes = new CopyOnWriteArrayList<>();
    /** oom_lock. */
    private final Object oomLock = new Object();
    /** vmstat's oom_kill. Guarded by oomLock; volatile for readers. */
    private volatile long kills;
    /** Victims whose reap is in flight (MMF_OOM_SKIP not yet set). Guarded by oomLock. */
    private int reaping;

    OomKiller(final PhysicalMemory memory)
    {
        this.memory = memory;
    }

    void register(final AddressSpace mm)
    {
        processes.add(mm);
    }

    void unregister(final AddressSpace mm)
    {
        processes.remove(mm);
    }

    /** The processes on the machine (a live, thread-safe view), for the reclaimer's scan. */
    List<AddressSpace> processes()
    {
        return processes;
    }

    /** Processes killed so far (vmstat's oom_kill). */
    public long kills()
    {
        return kills;
    }

    /**
     * out_of_memory for a fault on {@code cpu} that found no frame. Returns true when the fault
     * should try again (another process was killed and reaped, one was killed since this fault
     * failed, or a victim being reaped was waited for), false when the faulting process is the
     * victim (the fault's outcome is SIGKILL). The
     * caller holds no lock of the fault's: no PT lock, no VMA read lock, no mmap lock.
     */
    boolean outOfMemory(final Cpu cpu)
    {
        assert cpu.editor.holdsNoLock() && !cpu.mm.rangeLock().holdsShared() : "the OOM killer entered holding a fault's lock";
        final AddressSpace self = cpu.mm;
        if (self.oomKilled())
        {
            return false;
        }
        final long seen = kills;
        // the lock and the reap may wait for other CPUs, and other CPUs' shootdowns must not wait for
        // this one meanwhile: offline throughout, back online (TLB flushed) before the access goes on
        cpu.goOffline();
        try
        {
            final AddressSpace victim;
            synchronized (oomLock)
            {
                if (self.oomKilled())
                {
                    return false;
                }
                if (kills != seen)
                {
                    // someone else's kill since this fault failed: its memory may be back already
                    return true;
                }
                if (lastChance(cpu))
                {
                    // __alloc_pages_may_oom's last try under oom_lock: a kill that finished since this
                    // fault failed (or frames freed meanwhile) left room
                    return true;
                }
                if (reaping != 0)
                {
                    // oom_evaluate_task's abort: a victim is still being reaped; wait for its memory
                    // rather than take a second victim, then try again
                    awaitReaped();
                    return true;
                }
                victim = select(self);
                victim.markOomKilled();
                kills = kills + 1;
                reaping++;
            }
            // the OOM reaper frees the victim's private memory now, whoever it is: a process killed
            // by its own fault may have other threads still running, and other processes need the room
            try
            {
                reap(victim);
            }
            finally
            {
                synchronized (oomLock)
                {
                    reaping--;
                    oomLock.notifyAll();
                }
            }
            return victim != self;
        }
        finally
        {
            cpu.goOnline();
        }
    }

    /**
     * Whether a frame can be had now: one is taken and handed back to the caller's cache, where its
     * retried fault finds it (allocation drains every reserve when the buddy is empty).
     */
    private boolean lastChance(final Cpu cpu)
    {
        final long pfn = memory.allocateData(cpu.cache);
        if (pfn == BuddyAllocator.NO_FRAME)
        {
            return false;
        }
        memory.unmapData(pfn);
        memory.releaseData(cpu.cache, pfn, true);
        return true;
    }

    /** Waits, under oomLock (released while waiting) and offline, until no victim is being reaped. */
    private void awaitReaped()
    {
        assert Thread.holdsLock(oomLock);
        boolean interrupted = false;
        while (reaping != 0)
        {
            try
            {
                oomLock.wait();
            }
            catch (final InterruptedException ex)
            {
                interrupted = true;
            }
        }
        if (interrupted)
        {
            Thread.currentThread().interrupt();
        }
    }

    /** The live process with the highest badness; the caller's when no other has more. */
    private AddressSpace select(final AddressSpace self)
    {
        AddressSpace chosen = self;
        long most = badness(self);
        for (final AddressSpace mm : processes)
        {
            if (mm == self || mm.oomKilled())
            {
                continue;
            }
            final long points = badness(mm);
            if (points > most)
            {
                chosen = mm;
                most = points;
            }
        }
        return chosen;
    }

    /**
     * oom_badness with oom_score_adj 0: the pages the process maps (rss; huge leaves count their
     * 4 KiB pages, the zero pages do not count), its swap entries and its page-table pages, the
     * root included. Read from its tables without locks, as the kernel reads its approximate
     * counters: a table changing meanwhile makes the figure approximate, never wrong in kind.
     */
    long badness(final AddressSpace mm)
    {
        final Badness points = new Badness(memory);
        RangeWalker.observe(TableReader.live(memory), mm.cr3(), 0, mm.taskSize(), points);
        return points.points;
    }

    /** Counts what oom_badness counts, entry by entry, as the read-only walk hands them over. */
    private static final class Badness implements TableObserver
    {
        private final PhysicalMemory memory;
        /** The root table. */
        long points = 1;

        Badness(final PhysicalMemory memory)
        {
            this.memory = memory;
        }

        @Override
        public void entry(final long va, final long entry, final int level)
        {
            if (!PageTableEntry.isMapped(entry))
            {
                return;
            }
            // a table page, or a large leaf's 4 KiB pages
            points += PageTableEntry.isLeaf(entry, level) ? data(entry, PageTableEntry.coverage(level) >>> 12) : 1;
        }

        @Override
        public void pte(final long va, final long entry)
        {
            // MM_SWAPENTS: a swapped-out page still counts against its process
            points += PageTableEntry.isMapped(entry) ? data(entry, 1) : SwapEntry.isSwap(entry) ? 1 : 0;
        }

        private long data(final long entry, final long pages)
        {
            final long pfn = PageTableEntry.pfn(entry);
            return !memory.isValid(pfn) || pfn == memory.zeroPagePfn() || memory.isHugeZeroPage(pfn) ? 0 : pages;
        }
    }

    /**
     * __oom_reap_task_mm: zaps the victim's private pages (anonymous memory and private file
     * copies; shared pages stay with their object), owning its whole address space meanwhile so
     * no VMA changes under the zap. Faults of the victim may still run and refill; they find no
     * memory soon enough, and exit frees the rest.
     */
    private static void reap(final AddressSpace victim)
    {
        final Cpu reaper = victim.attachCpu();
        final RangeLock lock = victim.rangeLock();
        lock.acquire(reaper, 0, victim.taskSize());
        try
        {
            final Vma[] vmas = victim.tree().toArray();
            if (victim.perVma())
            {
                // the span is ours: nothing in the tree changes until release; faults are not held up
                lock.unlockTree(reaper);
            }
            for (final Vma vma : vmas)
            {
                if (vma.isShared() || (vma.flags & VmFlags.VM_PFNMAP) != 0)
                {
                    continue;
                }
                if (victim.perVma())
                {
                    Mmap.zapSections(reaper, vma.start, vma.end);
                }
                else
                {
                    VmaEditor.zap(reaper, vma.start, vma.end);
                }
            }
        }
        finally
        {
            lock.release(reaper);
            reaper.close();
        }
    }
}
