package io.mmemu.vm;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

import io.mmemu.pgtable.MmuGather;
import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;

/**
 * Page reclaim of one machine (mm/vmscan.c): the watermarks, the background reclaimer (kswapd) and
 * direct reclaim, over the anonymous pages of every process, into the machine's {@link SwapArea}.
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
 * The scan is a clock over page tables (Linux 2.4's swap_out; MGLRU's page-table walk), not over
 * LRU lists: a hand goes round the processes and their private VMAs one PT page (2 MiB) at a time;
 * a page whose A bit is set is given a second chance (the bit cleared, with the TLB flush
 * folio_referenced does), one whose bit is clear is swapped out ({@link PageTableEditor#pageout}).
 * Each process is scanned through a CPU attached for the scan, each VMA under its read lock
 * (per-VMA locking; one a writer holds is skipped, as rmap's trylock does) or the whole process
 * under the mmap read lock (mmap-lock mode): its tables stay while they are walked.
 * <p>
 * Counters are machine-wide vmstat: pgscan, pgsteal, pgmajfault, kswapd wake-ups, direct reclaims.
 */
public final class Reclaimer implements AutoCloseable
{
    /** SWAP_CLUSTER_MAX: the batch a direct reclaim aims for. */
    static final int SWAP_CLUSTER_MAX = 32;
    /** Passes over all memory a reclaim makes at most: the first may only clear A bits. */
    private static final int PASSES = 3;

    private final PhysicalMemory memory;
    private final OomKiller processes;
    private final long min;
    private final long low;
    private final long high;
    private final AtomicLong scanned = new AtomicLong();
    private final AtomicLong stolen = new AtomicLong();
    private final AtomicLong majorFaults = new AtomicLong();
    private final AtomicLong sharedStolen = new AtomicLong();
    private final AtomicLong kswapdWakeups = new AtomicLong();
    private final AtomicLong directReclaims = new AtomicLong();
    /** The clock hand: the process index and address the next scan starts from. Guarded by {@code this}. */
    private int handProcess;
    private long handVa;
    /** kswapd's state. Guarded by {@code kswapdLock}. */
    private final Object kswapdLock = new Object();
    private Thread kswapd;
    private boolean wakeRequested;
    private boolean running;
    private boolean stopped;

    Reclaimer(final PhysicalMemory memory, final OomKiller processes)
    {
        this.memory = memory;
        this.processes = processes;
        final long frames = memory.totalFrames();
        final long kib = frames * (PhysicalMemory.PAGE_SIZE / 1024);
        final long minKib = Math.min(262_144, Math.max(128, (long)Math.sqrt(16.0 * kib)));
        this.min = minKib / (PhysicalMemory.PAGE_SIZE / 1024);
        final long step = Math.max(min / 4, frames * 10 / 10_000);
        this.low = min + step;
        this.high = low + step;
        if (memory.swap() != null)
        {
            memory.watchLowMemory(low, this::wake);
        }
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

    /** pgsteal: pages reclaimed (swapped out). */
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
        if (memory.swap() == null)
        {
            return false;
        }
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

    /** The first no-progress wait of {@link #direct}; it doubles each try, up to a millisecond. */
    private static final long NO_PROGRESS_WAIT_NANOS = 10_000;

    /** MAX_RECLAIM_RETRIES: reclaims without progress a fault makes before the OOM killer runs. */
    private static final int MAX_RECLAIM_RETRIES = 16;

    /**
     * Reclaims up to {@code target} pages from the processes' anonymous memory, the clock hand going
     * round at most {@link #PASSES} times; returns the pages swapped out. Any thread that is no
     * emulated CPU, no locks held.
     */
    public long reclaim(final long target)
    {
        return reclaim(target, null);
    }

    /**
     * {@link #reclaim(long)} on behalf of {@code self} (direct reclaim; null for kswapd): its own
     * process is scanned through {@code self}, online, as a syscall of its would be; another
     * process through a CPU attached for the scan, with {@code self} offline meanwhile.
     */
    private long reclaim(final long target, final Cpu self)
    {
        if (memory.swap() == null || target <= 0)
        {
            return 0;
        }
        // a snapshot: processes exit (and leave the list) while the hand goes round
        final AddressSpace[] all = processes.processes().toArray(new AddressSpace[0]);
        final int n = all.length;
        if (n == 0)
        {
            return 0;
        }
        final int startProcess;
        final long startVa;
        synchronized (this)
        {
            startProcess = handProcess % n;
            startVa = handVa;
        }
        long taken = 0;
        for (int step = 0; step <= PASSES * n && taken < target; step++)
        {
            final int index = (startProcess + step) % n;
            final long from = step == 0 ? startVa : 0;
            final Shared shared = new Shared();
            final Scan scan;
            long unmapped = 0;
            try
            {
                scan = scan(all[index], from, target - taken, self, shared);
            }
            finally
            {
                // also when the scan failed: the references it took are the rmap's to drop
                unmapped = unmapShared(shared, self);
            }
            taken += scan.stolen + unmapped;
            if (taken >= target || scan.swapFull)
            {
                synchronized (this)
                {
                    handProcess = index;
                    handVa = scan.next;
                }
                break;
            }
        }
        return taken;
    }

    /** Where one process's scan stopped, and what it took. */
    private record Scan(long stolen, long next, boolean swapFull)
    {
    }

    /** Pages a scan found shared and unreferenced, each retained once, for the rmap: page, anon_vma, linear index. */
    private static final class Shared
    {
        long[] pfns = new long[SWAP_CLUSTER_MAX];
        long[] indexes = new long[SWAP_CLUSTER_MAX];
        AnonVma[] anons = new AnonVma[SWAP_CLUSTER_MAX];
        int count;

        void add(final long pfn, final AnonVma anon, final long index)
        {
            if (count == pfns.length)
            {
                pfns = Arrays.copyOf(pfns, count * 2);
                indexes = Arrays.copyOf(indexes, count * 2);
                anons = Arrays.copyOf(anons, count * 2);
            }
            pfns[count] = pfn;
            indexes[count] = index;
            anons[count] = anon;
            count++;
        }
    }

    /**
     * shrink_folio_list's try_to_unmap for the shared pages a scan handed back: each through the
     * {@link Rmap} (which consumes the scan's reference), with {@code self} offline meanwhile (the
     * walks flush the CPUs of every process mapping the page). Returns the pages freed whole.
     */
    private long unmapShared(final Shared shared, final Cpu self)
    {
        if (shared.count == 0)
        {
            return 0;
        }
        if (self != null)
        {
            self.goOffline();
        }
        // this thread's cache for the pages freed (kswapd and direct reclaimers run at once)
        final FrameCache cache = memory.newCache();
        final Rmap rmap = new Rmap(memory, cache);
        long freed = 0;
        int i = 0;
        try
        {
            for (; i < shared.count; i++)
            {
                final int result = rmap.reclaim(shared.anons[i], shared.indexes[i], shared.pfns[i]);
                if (result == Rmap.RECLAIMED)
                {
                    freed++;
                }
                else if (result == Rmap.SWAP_FULL)
                {
                    i++;
                    break;
                }
            }
        }
        finally
        {
            // the pages not walked (the swap area filled up, or a walk failed): the scan's references
            for (; i < shared.count; i++)
            {
                memory.releaseData(cache, shared.pfns[i], false);
            }
            memory.retireCache(cache);
            if (self != null)
            {
                self.goOnline();
            }
        }
        stolen.addAndGet(freed);
        sharedStolen.addAndGet(freed);
        return freed;
    }

    /** One process from {@code from}: its private VMAs, a PT page at a time, until {@code budget} pages are taken. */
    private Scan scan(final AddressSpace mm, final long from, final long budget, final Cpu self, final Shared shared)
    {
        if (self != null && self.mm == mm)
        {
            return scan(mm, from, budget, self, false, shared);
        }
        final Cpu cpu;
        try
        {
            cpu = mm.attachCpu();
        }
        catch (final IllegalStateException closed)
        {
            return new Scan(0, 0, false);
        }
        if (self != null)
        {
            self.goOffline();
        }
        try
        {
            return scan(mm, from, budget, cpu, true, shared);
        }
        finally
        {
            if (self != null)
            {
                self.goOnline();
            }
        }
    }

    /** {@link #scan(AddressSpace, long, long, Cpu)} through {@code cpu}, closed at the end when {@code attached}. */
    private Scan scan(final AddressSpace mm, final long from, final long budget, final Cpu cpu, final boolean attached,
        final Shared shared)
    {
        final boolean perVma = mm.perVma();
        long taken = 0;
        try
        {
            if (!perVma)
            {
                mm.lockRead(cpu);
            }
            try
            {
                final PageTableEditor editor = cpu.editor;
                final MmuGather tlb = cpu.gather;
                for (final Vma vma : mm.tree().toArray())
                {
                    if (vma.end <= from || !reclaimable(vma))
                    {
                        continue;
                    }
                    if (perVma && !vma.tryReadLock())
                    {
                        // a writer holds it: skip, as rmap's trylock does under reclaim
                        continue;
                    }
                    try
                    {
                        for (long lo = Math.max(vma.start, from); lo < vma.end; )
                        {
                            final long hi = Math.min(vma.end, (lo + CHUNK) & ~(CHUNK - 1));
                            editor.resetPageout();
                            final long left = budget - taken - shared.count;
                            // anonymous memory only: a private file mapping's shared pages may be the file's
                            editor.pageoutCollectShared(vma.file == null && vma.anonVma() != null ? (int)Math.min(left, Integer.MAX_VALUE) : 0);
                            tlb.begin(cpu.shootdown);
                            try
                            {
                                editor.pageout(mm.cr3(), lo, hi, PageTableEditor.PAGEOUT_RECLAIM, left, tlb);
                            }
                            finally
                            {
                                editor.pageoutCollectShared(0);
                                tlb.finish();
                                for (int i = 0; i < editor.pageoutShared(); i++)
                                {
                                    shared.add(editor.pageoutSharedPfn(i), vma.anonVma(),
                                        vma.pgoff + ((editor.pageoutSharedVa(i) - vma.start) >>> 12));
                                }
                            }
                            scanned.addAndGet(editor.pageoutScanned());
                            stolen.addAndGet(editor.pageoutStolen());
                            taken += editor.pageoutStolen();
                            if (taken + shared.count >= budget || editor.pageoutSwapFull())
                            {
                                return new Scan(taken, hi, editor.pageoutSwapFull());
                            }
                            lo = hi;
                        }
                    }
                    finally
                    {
                        if (perVma)
                        {
                            vma.readUnlock();
                        }
                    }
                }
                return new Scan(taken, 0, false);
            }
            finally
            {
                if (!perVma)
                {
                    mm.unlockRead();
                }
            }
        }
        finally
        {
            if (attached)
            {
                cpu.close();
            }
        }
    }

    /** One PT page's reach: the scan's step, where the hand may stop. */
    private static final long CHUNK = 1L << 21;

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
