package io.mmemu.vm;

import java.util.concurrent.atomic.AtomicLong;

import io.mmemu.phys.FrameCache;
import io.mmemu.phys.FrameFlags;
import io.mmemu.phys.LruLists;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;

/**
 * Page reclaim of one machine (mm/vmscan.c): the watermarks, the background reclaimer (kswapd) and
 * direct reclaim, over the anonymous and page-cache pages of every process: anonymous pages go to
 * the machine's {@link SwapArea}, file pages back to their file.
 * <ul>
 *   <li>Watermarks min, low and high, in frames, from the machine's size as
 *       __setup_per_zone_wmarks computes them (min_free_kbytes = sqrt(16 × KiB of memory), clamped
 *       to 128 KiB..256 MiB; low and high a quarter of min, or 0.1% of memory
 *       (watermark_scale_factor 10), above min and above low).</li>
 *   <li>kswapd: a daemon thread, started at the first wake-up, which a cache refill sends when the
 *       buddy allocator holds fewer than {@code low} free frames; it reclaims until {@code high} are
 *       free, or nothing more can go.</li>
 *   <li>direct reclaim: a fault that found no frame (below {@code min}: the allocators are empty,
 *       the per-CPU reserves drained) reclaims a batch itself, with its locks let go, before the
 *       OOM killer is asked ({@link Faults#handle}).</li>
 * </ul>
 * The scan goes through the machine's LRU lists ({@link LruLists}), shrink_lruvec's way: each batch
 * of {@link #SWAP_CLUSTER_MAX} pages is isolated from the tail of an inactive list (file first,
 * then anonymous), after the active list was aged into it while the inactive one is the shorter.
 * Each page is reclaimed through the reverse map ({@link Rmap}, one process at a time, each under
 * tried locks): its A bits harvested from every mapping with the TLB flush (folio_referenced; a
 * referenced page goes back to the active list), then an anonymous page unmapped into a swap entry
 * and written to its slot, a page-cache page unmapped and dropped from its file's cache (written
 * back there first when it is dirty). A page it cannot take goes back to the inactive list.
 * <p>
 * Without a swap area (can_reclaim_anon_pages false: get_scan_count's SCAN_FILE) only the file
 * lists are scanned: page-cache pages are still dropped, anonymous pages stay where they are, and a
 * fault that finds no frame and no file page to drop goes to the OOM killer.
 * <p>
 * Counters are machine-wide vmstat: pgscan, pgsteal (of it, pages fork shared and page-cache pages),
 * pgmajfault, kswapd wake-ups, direct reclaims.
 */
public final class Reclaimer implements AutoCloseable
{
    /** SWAP_CLUSTER_MAX: the batch a direct reclaim aims for. */
    static final int SWAP_CLUSTER_MAX = 32;
    /** Passes over all memory a reclaim makes at most: the first may only clear A bits. */
    private static final int PASSES = 3;

    private final PhysicalMemory memory;
    private final long min;
    private final long low;
    private final long high;
    private final AtomicLong scanned = new AtomicLong();
    private final AtomicLong stolen = new AtomicLong();
    private final AtomicLong majorFaults = new AtomicLong();
    private final AtomicLong sharedStolen = new AtomicLong();
    private final AtomicLong fileStolen = new AtomicLong();
    private final AtomicLong kswapdWakeups = new AtomicLong();
    private final AtomicLong directReclaims = new AtomicLong();
    private final Mappings mappings;
    /** kswapd's state. Guarded by {@code kswapdLock}. */
    private final Object kswapdLock = new Object();
    private Thread kswapd;
    private boolean wakeRequested;
    private boolean running;
    private boolean stopped;

    Reclaimer(final PhysicalMemory memory, final Mappings mappings)
    {
        this.memory = memory;
        this.mappings = mappings;
        final long frames = memory.totalFrames();
        final long kib = frames * (PhysicalMemory.PAGE_SIZE / 1024);
        final long minKib = Math.min(262_144, Math.max(128, (long)Math.sqrt(16.0 * kib)));
        this.min = minKib / (PhysicalMemory.PAGE_SIZE / 1024);
        final long step = Math.max(min / 4, frames * 10 / 10_000);
        this.low = min + step;
        this.high = low + step;
        memory.watchLowMemory(low, this::wake);
    }

    /** The watermarks, in frames. */
    public long minWatermark()
    {
        return min;
    }

    public long lowWatermark()
    {
        return low;
    }

    public long highWatermark()
    {
        return high;
    }

    /** pgscan: pages the reclaim looked at (A bits harvested or pages taken). */
    public long scanned()
    {
        return scanned.get();
    }

    /** pgsteal: pages reclaimed (swapped out, or dropped from the page cache). */
    public long stolen()
    {
        return stolen.get();
    }

    /** pgmajfault: faults that read a page from swap. */
    public long majorFaults()
    {
        return majorFaults.get();
    }

    /** Pages several entries mapped (shared after fork) that the rmap unmapped from all and freed (part of pgsteal). */
    public long sharedStolen()
    {
        return sharedStolen.get();
    }

    /** Page-cache pages reclaim dropped (part of pgsteal): clean ones, and dirty ones written back to their file. */
    public long fileStolen()
    {
        return fileStolen.get();
    }

    public long kswapdWakeups()
    {
        return kswapdWakeups.get();
    }

    public long directReclaims()
    {
        return directReclaims.get();
    }

    void countMajorFault()
    {
        majorFaults.incrementAndGet();
    }

    /**
     * Direct reclaim for a fault on {@code cpu} that found no frame; true when it freed some (the
     * access tries again). The caller holds none of the fault's locks; the CPU is offline meanwhile
     * (the scan waits for other CPUs' acknowledgements through CPUs of its own).
     */
    boolean direct(final Cpu cpu)
    {
        assert cpu.editor.holdsNoLock() && !cpu.mm.rangeLock().holdsShared() : "direct reclaim entered holding a fault's lock";
        directReclaims.incrementAndGet();
        // should_reclaim_retry: a pass that took nothing may have met pages busy for a moment (a VMA
        // a writer holds, pages being written out, A bits it has just cleared), so the fault tries
        // again a bounded number of times, offline between tries, before the OOM killer is asked
        for (int attempt = 0; attempt < MAX_RECLAIM_RETRIES; attempt++)
        {
            if (reclaim(SWAP_CLUSTER_MAX, cpu) > 0)
            {
                return true;
            }
            if (memory.swap() == null && filePages() == 0)
            {
                // should_reclaim_retry's zone_reclaimable_pages: without a swap area only the page
                // cache could give frames, and it holds none (isolated pages aside): no point waiting
                return false;
            }
            // reclaim_throttle(VMSCAN_THROTTLE_NOPROGRESS): a pass that found everything busy (a
            // writer holding the process for a MAP_FIXED or munmap, pages under writeback) waits a
            // little, longer each time, for that to pass, offline so that no shootdown waits for it;
            // a yield alone let the 16 tries run out within one writer's hold, and the OOM killer
            // took a process with swap to spare
            cpu.goOffline();
            try
            {
                Thread.sleep(0, (int)Math.min(999_999, NO_PROGRESS_WAIT_NANOS << Math.min(attempt, 10)));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
            cpu.goOnline();
        }
        return false;
    }

    /** Pages on the file lists (a racy sum): what reclaim can take on a machine without swap. */
    private long filePages()
    {
        final LruLists lru = memory.lru();
        return lru.size(LruLists.INACTIVE_FILE) + lru.size(LruLists.ACTIVE_FILE);
    }

    /** The first no-progress wait of {@link #direct}; it doubles each try, up to a millisecond. */
    private static final long NO_PROGRESS_WAIT_NANOS = 10_000;

    /** MAX_RECLAIM_RETRIES: reclaims without progress a fault makes before the OOM killer runs. */
    private static final int MAX_RECLAIM_RETRIES = 16;

    /**
     * Reclaims up to {@code target} pages from the LRU lists (the anonymous ones only with a swap
     * area), making at most {@link #PASSES} passes' worth of scans over them; returns the pages
     * reclaimed (swapped out or dropped from the page cache). Any thread that is no emulated CPU,
     * no locks held.
     */
    public long reclaim(final long target)
    {
        return reclaim(target, null);
    }

    /**
     * shrink_lruvec over the lists, for {@code self} (direct reclaim; null for kswapd),
     * which is offline meanwhile: every rmap walk attaches a CPU of its own to the process it
     * visits, the faulting one's included, and waits for the acknowledgements of the others.
     */
    private long reclaim(final long target, final Cpu self)
    {
        if (target <= 0)
        {
            return 0;
        }
        if (self != null)
        {
            // lru_add_drain: what this CPU just faulted in joins the lists, where reclaim can find it
            memory.drainAddBatch(self.cache);
            self.goOffline();
        }
        // this thread's cache for the pages freed (kswapd and direct reclaimers run at once)
        final FrameCache cache = memory.newCache();
        try (Rmap rmap = new Rmap(memory, cache))
        {
            return shrink(target, rmap, cache);
        }
        finally
        {
            memory.retireCache(cache);
            if (self != null)
            {
                self.goOnline();
            }
        }
    }

    /**
     * shrink_lruvec: batches from the file and the anonymous inactive lists by turns (file first:
     * a clean page costs no swap slot), each list aged from its active one while it is the shorter
     * (inactive_is_low), until {@code target} pages are taken or every page has been looked at
     * {@link #PASSES} times. Without a swap area only the file lists (get_scan_count's SCAN_FILE).
     */
    private long shrink(final long target, final Rmap rmap, final FrameCache cache)
    {
        final LruLists lru = memory.lru();
        final Pass pass = new Pass();
        // can_reclaim_anon_pages: without a swap area the anonymous lists are neither aged nor scanned
        final boolean swap = memory.swap() != null;
        // enough looks for every page to be seen PASSES times: the first may only clear A bits
        pass.budget = PASSES * (lru.size(LruLists.INACTIVE_FILE) + lru.size(LruLists.ACTIVE_FILE)
            + (swap ? lru.size(LruLists.INACTIVE_ANON) + lru.size(LruLists.ACTIVE_ANON) : 0)) + 2 * SWAP_CLUSTER_MAX;
        boolean file = true;
        boolean anon = swap;
        while (pass.taken < target && pass.budget > 0 && (file || anon))
        {
            if (file)
            {
                file = shrinkList(LruLists.INACTIVE_FILE, rmap, cache, pass);
            }
            if (anon && pass.taken < target)
            {
                anon = shrinkList(LruLists.INACTIVE_ANON, rmap, cache, pass);
            }
        }
        stolen.addAndGet(pass.taken);
        return pass.taken;
    }

    /** One reclaim's progress: pages taken, looks left, the isolated batch. */
    private static final class Pass
    {
        final long[] batch = new long[SWAP_CLUSTER_MAX];
        long taken;
        long budget;
    }

    /**
     * One batch of shrink_inactive_list over {@code inactive} (after shrink_active_list's aging);
     * false when the list has nothing more to give (empty with its active list, or the swap area full).
     */
    private boolean shrinkList(final int inactive, final Rmap rmap, final FrameCache cache, final Pass pass)
    {
        final LruLists lru = memory.lru();
        final long[] batch = pass.batch;
        final int activeList = inactive + 1;
        final long active = lru.size(activeList);
        if (lru.size(inactive) < active)
        {
            scanned.addAndGet(lru.deactivate(activeList, SWAP_CLUSTER_MAX));
        }
        final int n = lru.isolate(inactive, SWAP_CLUSTER_MAX, SWAP_CLUSTER_MAX, batch);
        if (n == 0)
        {
            pass.budget -= SWAP_CLUSTER_MAX;
            return active > 0 && lru.size(activeList) > 0;
        }
        pass.budget -= n;
        scanned.addAndGet(n);
        int i = 0;
        boolean swapFull = false;
        try
        {
            for (; i < n && !swapFull; i++)
            {
                switch (shrinkOne(rmap, batch[i]))
                {
                    case Rmap.RECLAIMED ->
                    {
                        pass.taken++;
                        if (inactive == LruLists.INACTIVE_FILE)
                        {
                            fileStolen.incrementAndGet();
                        }
                        else if (rmap.unmapped() > 1)
                        {
                            sharedStolen.incrementAndGet();
                        }
                    }
                    case Rmap.REFERENCED -> lru.putback(batch[i], true);
                    case Rmap.SWAP_FULL ->
                    {
                        lru.putback(batch[i], false);
                        swapFull = true;
                    }
                    default -> lru.putback(batch[i], false);
                }
                memory.releaseData(cache, batch[i], false);
            }
        }
        finally
        {
            // the swap area filled up, or a walk failed: the rest go back as they were
            for (; i < n; i++)
            {
                lru.putback(batch[i], false);
                memory.releaseData(cache, batch[i], false);
            }
        }
        return !swapFull;
    }

    /** shrink_folio_list for one isolated page: its family's or file's rmap, or back to the list when it has none. */
    private int shrinkOne(final Rmap rmap, final long pfn)
    {
        final long word = memory.mapping(pfn);
        if (!Mappings.isAnon(word))
        {
            final MappedFile file = (memory.flags(pfn) & FrameFlags.FILE_LRU) != 0 ? MappedFile.caching(word) : null;
            if (file == null)
            {
                // shmem, on the anonymous lists as Linux keeps it, is not reclaimed (out of the inactive
                // scan's way); or a file that died, its pages being freed
                return (memory.flags(pfn) & FrameFlags.FILE_LRU) != 0 ? Rmap.KEPT : Rmap.REFERENCED;
            }
            return rmap.reclaimFile(file, memory.index(pfn), pfn);
        }
        final AnonVma root = mappings.anonRoot(word);
        if (root == null)
        {
            // a family whose last process exited: its pages are being freed
            return Rmap.KEPT;
        }
        return rmap.reclaim(root, memory.index(pfn), pfn);
    }

    /** can_madv_lru_vma and a private mapping: where anonymous pages (or private copies of file pages) live. */
    static boolean reclaimable(final Vma vma)
    {
        return !vma.isShared() && (vma.flags & (VmFlags.VM_LOCKED | VmFlags.VM_PFNMAP | VmFlags.VM_HUGETLB)) == 0;
    }

    /** wakeup_kswapd: starts kswapd at the first call; never blocks. */
    void wake()
    {
        synchronized (kswapdLock)
        {
            if (stopped)
            {
                return;
            }
            wakeRequested = true;
            if (kswapd == null)
            {
                kswapd = Thread.ofPlatform().daemon().name("kswapd0").start(this::kswapd);
            }
            else
            {
                kswapdLock.notifyAll();
            }
        }
    }

    /** kswapd's loop: sleep until woken, then reclaim until the high watermark (balance_pgdat). */
    private void kswapd()
    {
        while (true)
        {
            synchronized (kswapdLock)
            {
                running = false;
                kswapdLock.notifyAll();
                while (!wakeRequested && !stopped)
                {
                    try
                    {
                        kswapdLock.wait();
                    }
                    catch (final InterruptedException ex)
                    {
                        stopped = true;
                    }
                }
                if (stopped)
                {
                    return;
                }
                wakeRequested = false;
                running = true;
            }
            kswapdWakeups.incrementAndGet();
            try
            {
                balance();
            }
            catch (final IllegalStateException closed)
            {
                // the machine's memory was closed under a scan: nothing left to reclaim
                synchronized (kswapdLock)
                {
                    stopped = true;
                    running = false;
                    kswapdLock.notifyAll();
                }
                return;
            }
        }
    }

    private void balance()
    {
        while (true)
        {
            final long free = memory.buddy().freeFrames();
            if (free >= high)
            {
                return;
            }
            if (reclaim(Math.max(SWAP_CLUSTER_MAX, high - free)) == 0)
            {
                return;
            }
            synchronized (kswapdLock)
            {
                if (stopped)
                {
                    return;
                }
            }
        }
    }

    /**
     * Waits until kswapd is asleep (for a quiescent check); it may be woken again afterwards. The
     * caller's CPUs must be offline: kswapd's shootdowns wait for every online CPU.
     */
    public void awaitKswapdIdle() throws InterruptedException
    {
        synchronized (kswapdLock)
        {
            while (running || (wakeRequested && kswapd != null && !stopped))
            {
                kswapdLock.wait();
            }
        }
    }

    /** Stops kswapd for good (the machine is going away), waiting for its pass to end. */
    @Override
    public void close()
    {
        final Thread thread;
        synchronized (kswapdLock)
        {
            stopped = true;
            kswapdLock.notifyAll();
            thread = kswapd;
        }
        if (thread != null && thread != Thread.currentThread())
        {
            boolean interrupted = false;
            while (true)
            {
                try
                {
                    thread.join();
                    break;
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
    }
}
