package io.mmemu.bench.workload;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.MappedFile;
import io.mmemu.vm.Mman;
import io.mmemu.vm.MmStats;
import io.mmemu.vm.OpenFile;
import io.mmemu.vm.Signal;
import io.mmemu.vm.ThpMode;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_NORESERVE;
import static io.mmemu.vm.Mman.MAP_POPULATE;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MAP_SHARED;
import static io.mmemu.vm.Mman.PROT_NONE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;

/**
 * The emulator's side: the same loops as host_bench.c, one emulated {@link Cpu} per thread in a
 * fresh {@link AddressSpace} per run. The physical memory outlives the runs (one per backing,
 * grown when a run needs more) so that, as on the host, a run's data frames are memory the process
 * has touched before: with {@link Backing#FULL} a first touch is a host page fault (tens of µs in
 * a VM), which belongs to the host's figure, not the emulator's. Close it when done.
 */
public final class EmulatorLoops implements AutoCloseable
{
    private static final long PAGE = 4096;
    /** A transparent huge page (page_fault1_thp's op). */
    private static final long HUGE = 2L << 20;
    private static final long SLACK = 1L << 30;
    /** Latencies up to a minute, two significant digits (as host_bench's ~3% buckets). */
    private static final long HIGHEST_NS = 60_000_000_000L;

    private PhysicalMemory full;
    private PhysicalMemory tablesOnly;
    /** Bytes of {@link #full} that runs have had in use at once, so the host has backed them. */
    private long fullWarmBytes;

    /** Runs {@code spec} once; throws IllegalStateException when an emulated call fails. */
    public RunResult run(final BenchSpec spec)
    {
        final PhysicalMemory memory = memoryFor(spec);
        final long inUse = (long)spec.threads() * spec.size();
        if (memory == full && inUse > fullWarmBytes)
        {
            // One unmeasured pass per thread: the frames a run cycles through get their host pages.
            try (AddressSpace mm = AddressSpace.create(memory, spec.locking(), AddressSpace.DEFAULT_SECTION))
            {
                run(new BenchSpec(Workload.PAGE_FAULT1, spec.threads(), spec.seconds(), spec.size(), 0, 0,
                    spec.locking(), spec.backing()), mm, true);
            }
            fullWarmBytes = inUse;
        }
        try (AddressSpace mm = AddressSpace.create(memory, spec.locking(), AddressSpace.DEFAULT_SECTION))
        {
            if (spec.workload().hugePages())
            {
                // the policy most distributions ship, and the host's here: MADV_HUGEPAGE regions only
                mm.thp(ThpMode.MADVISE);
            }
            return run(spec, mm, false);
        }
    }

    private PhysicalMemory memoryFor(final BenchSpec spec)
    {
        final long needed = 2L * spec.threads() * (spec.size() + (spec.workload().hugePages() ? HUGE : 0)) +
            (spec.workload().seed() ? spec.bigSize() + spec.bigSize() / 256 : 0) + SLACK;
        if (spec.backing() == Backing.FULL)
        {
            if (full == null || full.totalFrames() * PAGE < needed)
            {
                if (full != null)
                {
                    full.close();
                }
                full = PhysicalMemory.create(Math.max(needed, 8L << 30), Backing.FULL);
                fullWarmBytes = 0;
            }
            return full;
        }
        if (tablesOnly == null || tablesOnly.totalFrames() * PAGE < needed)
        {
            if (tablesOnly != null)
            {
                tablesOnly.close();
            }
            tablesOnly = PhysicalMemory.create(Math.max(needed, 8L << 30), Backing.TABLES_ONLY);
        }
        return tablesOnly;
    }

    /** {@code onePass}: each thread maps, touches and unmaps its size once, untimed (a warm-up). */
    private static RunResult run(final BenchSpec spec, final AddressSpace mm, final boolean onePass)
    {
        final boolean seed = spec.workload().seed();
        final Worker[] workers = new Worker[spec.threads()];
        final CountDownLatch ready = new CountDownLatch(spec.threads());
        final CountDownLatch go = new CountDownLatch(1);
        for (int i = 0; i < workers.length; i++)
        {
            workers[i] = new Worker(mm, spec, onePass, ready, go);
        }

        final Cpu cpu = mm.attachCpu();
        try
        {
            long big = 0;
            if (seed)
            {
                final boolean huge = spec.workload().hugePages();
                big = cpu.mmap(0, spec.bigSize(), PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (huge ? 0 : MAP_POPULATE), -1, 0);
                check(big >= 0, "mmap of the large mapping", big);
                if (huge)
                {
                    // advised first, then populated: huge pages wherever a whole block fits
                    check(cpu.madvise(big, spec.bigSize(), Mman.MADV_HUGEPAGE) == 0, "MADV_HUGEPAGE of the large mapping", -1);
                    final long populated = cpu.madvise(big, spec.bigSize(), Mman.MADV_POPULATE_WRITE);
                    check(populated == 0, "MADV_POPULATE_WRITE of the large mapping", populated);
                }
            }
            cpu.offline();
            for (final Worker w : workers)
            {
                w.start();
            }
            awaitUninterruptibly(ready);
            final long duration = (long)(spec.seconds() * 1e9);
            final long start = System.nanoTime();
            go.countDown();
            long munmapNs = 0;
            long mmapHold = -1;
            long ptlHold = -1;
            long vmaHold = -1;
            if (seed)
            {
                sleepUntil(start + duration / 2);
                final MmStats before = mm.stats();
                final long t0 = System.nanoTime();
                Worker.windowStart = t0;
                final long r = cpu.munmap(big, spec.bigSize());
                final long t1 = System.nanoTime();
                Worker.windowEnd = t1;
                munmapNs = t1 - t0;
                cpu.offline();
                check(r == 0, "munmap of the large mapping", r);
                final MmStats after = mm.stats();
                mmapHold = maxAdded(before.mmapWriteHold(), after.mmapWriteHold());
                ptlHold = maxAdded(before.ptlHold(), after.ptlHold());
                vmaHold = maxAdded(before.vmaLockHold(), after.vmaLockHold());
            }
            if (!onePass)
            {
                sleepUntil(start + duration);
                Worker.stop = true;
            }
            final long[] ops = new long[workers.length];
            final Histogram all = new Histogram(HIGHEST_NS, 2);
            final Histogram window = new Histogram(HIGHEST_NS, 2);
            for (int i = 0; i < workers.length; i++)
            {
                joinUninterruptibly(workers[i]);
                if (workers[i].failure != null)
                {
                    throw new IllegalStateException(workers[i].failure);
                }
                ops[i] = workers[i].ops;
                all.add(workers[i].all);
                window.add(workers[i].window);
            }
            final long elapsed = System.nanoTime() - start;
            return new RunResult(ops, elapsed, seed ? Latency.of(all) : Latency.NONE,
                seed ? Latency.of(window) : Latency.NONE, munmapNs, seed ? spec.bigSize() / PAGE : 0, mmapHold, ptlHold, vmaHold,
                mm.stats().faultWaits());
        }
        finally
        {
            Worker.stop = false;
            Worker.windowStart = Long.MAX_VALUE;
            Worker.windowEnd = Long.MAX_VALUE;
            cpu.close();
        }
    }

    /** The longest value recorded in {@code after} that was not yet in {@code before} (ns); 0 if none. */
    private static long maxAdded(final Histogram before, final Histogram after)
    {
        long max = 0;
        for (final HistogramIterationValue v : after.recordedValues())
        {
            final long value = v.getValueIteratedTo();
            if (after.getCountAtValue(value) > before.getCountAtValue(value))
            {
                max = Math.max(max, after.highestEquivalentValue(value));
            }
        }
        return max;
    }

    private static void check(final boolean ok, final String what, final long result)
    {
        if (!ok)
        {
            throw new IllegalStateException(what + " failed: " + result);
        }
    }

    /** Parks until {@code deadline} (System.nanoTime); the caller's CPU is offline. */
    private static void sleepUntil(final long deadline)
    {
        long left;
        while ((left = deadline - System.nanoTime()) > 0)
        {
            LockSupport.parkNanos(left);
        }
    }

    private static void awaitUninterruptibly(final CountDownLatch latch)
    {
        while (true)
        {
            try
            {
                latch.await(1, TimeUnit.DAYS);
                return;
            }
            catch (final InterruptedException ignored)
            {
                // keep waiting: a run always ends
            }
        }
    }

    private static void joinUninterruptibly(final Thread t)
    {
        while (true)
        {
            try
            {
                t.join();
                return;
            }
            catch (final InterruptedException ignored)
            {
                // keep waiting: the worker ends once stop is set
            }
        }
    }

    @Override
    public void close()
    {
        if (full != null)
        {
            full.close();
            full = null;
        }
        if (tablesOnly != null)
        {
            tablesOnly.close();
            tablesOnly = null;
        }
    }

    /** One loop thread with its own CPU; its counts are read after join. */
    private static final class Worker extends Thread
    {
        /** Set by the runner; read once per mapping as host_bench does. One run at a time per JVM. */
        static volatile boolean stop;
        /**
         * The large munmap's start and end (System.nanoTime), {@code Long.MAX_VALUE} until known;
         * read after each timed fault, which counts in the window when it overlapped it.
         */
        static volatile long windowStart = Long.MAX_VALUE;
        static volatile long windowEnd = Long.MAX_VALUE;

        private final AddressSpace mm;
        private final BenchSpec spec;
        private final boolean onePass;
        private final CountDownLatch ready;
        private final CountDownLatch go;
        final Histogram all = new Histogram(HIGHEST_NS, 2);
        final Histogram window = new Histogram(HIGHEST_NS, 2);
        long ops;
        String failure;
        /** The file the workload maps (page_fault2/3, mmap2), or null for anonymous memory. */
        private MappedFile temporary;
        private OpenFile file;
        private int mapType;

        Worker(final AddressSpace mm, final BenchSpec spec, final boolean onePass, final CountDownLatch ready,
            final CountDownLatch go)
        {
            super("bench-" + spec.workload().cliName());
            this.mm = mm;
            this.spec = spec;
            this.onePass = onePass;
            this.ready = ready;
            this.go = go;
        }

        @Override
        public void run()
        {
            // Attached before the start signal, but online only from its first call.
            final Cpu cpu = mm.attachCpu();
            try
            {
                ready.countDown();
                awaitUninterruptibly(go);
                final Workload workload = spec.workload();
                if (workload.onFile())
                {
                    // will-it-scale: each thread its own tmp file of the mapping's size (mkstemp,
                    // ftruncate, unlink), held open for the whole run so its page cache stays
                    temporary = MappedFile.temporary(spec.size());
                    temporary.open();
                    file = OpenFile.open(temporary, true);
                }
                mapType = workload.shared() ? MAP_SHARED : MAP_PRIVATE | (workload.onFile() ? 0 : MAP_ANONYMOUS);
                switch (workload)
                {
                    case PAGE_FAULT1, PAGE_FAULT1_GUARD, PAGE_FAULT2, PAGE_FAULT3 -> pageFault1(cpu, false);
                    case PAGE_FAULT1_THP -> pageFault1Huge(cpu);
                    case SEED, SEED_THP -> pageFault1(cpu, true);
                    case MMAP1, MMAP2 -> mmap1(cpu);
                }
            }
            catch (final RuntimeException ex)
            {
                failure = ex.toString();
            }
            finally
            {
                cpu.close();
                if (temporary != null)
                {
                    temporary.close(mm.memory());
                }
            }
        }

        private void pageFault1(final Cpu cpu, final boolean timed)
        {
            final long size = spec.size();
            final long guard = spec.workload().guarded() ? PAGE : 0;
            // at least one round, however late this thread starts (as host_bench): a side with no
            // operation has no rate
            do
            {
                // guarded: reserved inaccessible, then all but the last page made writable, so the
                // writable VMA never touches another thread's (mapping it writable and then protecting
                // a guard page would merge it for a moment with the neighbour's, whose faults would wait)
                final long addr = map(cpu, size + guard, guard != 0 ? PROT_NONE : PROT_READ | PROT_WRITE);
                if (addr < 0 || guard != 0 && !makeWritable(cpu, addr, size))
                {
                    return;
                }
                if (spec.workload().hugePages() && cpu.madvise(addr, size, Mman.MADV_HUGEPAGE) != 0)
                {
                    failure = "madvise(MADV_HUGEPAGE) failed";
                    return;
                }
                for (long off = 0; off < size; off += PAGE)
                {
                    final int signal;
                    if (timed)
                    {
                        final long t0 = System.nanoTime();
                        signal = cpu.writeByte(addr + off, 1);
                        final long t1 = System.nanoTime();
                        all.recordValue(Math.min(t1 - t0, HIGHEST_NS));
                        // Overlapped the munmap: includes a fault that waited for all of it.
                        if (t1 > windowStart && t0 < windowEnd)
                        {
                            this.window.recordValue(Math.min(t1 - t0, HIGHEST_NS));
                        }
                    }
                    else
                    {
                        signal = cpu.writeByte(addr + off, 1);
                    }
                    if (signal != Signal.NONE)
                    {
                        failure = Signal.describe(signal, addr + off);
                        return;
                    }
                    ops++;
                }
                if (!unmap(cpu, addr, size + guard) || onePass)
                {
                    return;
                }
            }
            while (!stop);
        }

        /** page_fault1_thp: a write to each 2 MiB block of the aligned part of a MADV_HUGEPAGE mapping. */
        private void pageFault1Huge(final Cpu cpu)
        {
            final long size = spec.size();
            while (!stop)
            {
                final long addr = map(cpu, size + HUGE, PROT_READ | PROT_WRITE);
                if (addr < 0)
                {
                    return;
                }
                final long advised = cpu.madvise(addr, size + HUGE, Mman.MADV_HUGEPAGE);
                if (advised != 0)
                {
                    failure = "madvise(MADV_HUGEPAGE) failed: " + advised;
                    return;
                }
                final long aligned = (addr + HUGE - 1) & -HUGE;
                for (long off = 0; off + HUGE <= size; off += HUGE)
                {
                    final int signal = cpu.writeByte(aligned + off, 1);
                    if (signal != Signal.NONE)
                    {
                        failure = Signal.describe(signal, aligned + off);
                        return;
                    }
                    ops++;
                }
                if (!unmap(cpu, addr, size + HUGE) || onePass)
                {
                    return;
                }
            }
        }

        /** A fresh mapping (anonymous, or of the thread's file) of {@code size}, or -1 with the failure noted. */
        private long map(final Cpu cpu, final long size, final int prot)
        {
            final long addr = cpu.mmap(0, size, prot, mapType, file, 0);
            if (addr < 0)
            {
                failure = "mmap of " + size + " bytes failed: " + addr;
                return -1;
            }
            return addr;
        }

        private boolean makeWritable(final Cpu cpu, final long addr, final long size)
        {
            final long r = cpu.mprotect(addr, size, PROT_READ | PROT_WRITE);
            if (r != 0)
            {
                failure = "mprotect(PROT_READ|PROT_WRITE) of the mapping failed: " + r;
                return false;
            }
            return true;
        }

        private boolean unmap(final Cpu cpu, final long addr, final long size)
        {
            final long r = cpu.munmap(addr, size);
            if (r != 0)
            {
                failure = "munmap failed: " + r;
                return false;
            }
            return true;
        }

        private void mmap1(final Cpu cpu)
        {
            final long size = spec.size();
            // at least one round, however late this thread starts (as host_bench): a side with no
            // operation has no rate
            do
            {
                final long addr = map(cpu, size, PROT_READ | PROT_WRITE);
                if (addr < 0)
                {
                    return;
                }
                if (!unmap(cpu, addr, size))
                {
                    return;
                }
                ops++;
            }
            while (!stop);
        }
    }
}
