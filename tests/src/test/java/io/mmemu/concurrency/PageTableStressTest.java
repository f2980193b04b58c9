package io.mmemu.concurrency;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import io.mmemu.pgtable.MmuGather;
import io.mmemu.pgtable.PageTableChecker;
import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.pgtable.TlbFlush;
import io.mmemu.phys.Backing;
import io.mmemu.phys.BuddyAllocator;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Eight threads, each with its own frame cache, editor and gather (one emulated CPU each), populate,
 * zap, re-protect and walk random overlapping sub-ranges of one address space, with fixed seeds.
 * Each round has two phases separated by barriers:
 * <ol>
 *   <li>mixed operations over the whole region; then, quiescent, the checker (accounting included)
 *       and the ledger: entries populated minus entries zapped, summed over all threads, must be
 *       exactly the leaves the checker finds;</li>
 *   <li>every thread zaps its own 2 MiB slice and frees its tables with the slice as floor and
 *       ceiling, concurrently with the others (freeTables never overlaps a populate of its range,
 *       as the editor's contract requires); then only the tables shared by slices remain.</li>
 * </ol>
 * At the end a full unmap returns frames in use to the baseline. The small-memory variants make
 * populate run out of frames concurrently: a status, never an exception or a corruption.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
final class PageTableStressTest
{
    private static final int THREADS = 8;
    private static final int ROUNDS = 3;
    private static final int OPERATIONS = 1500;
    private static final int MAX_PAGES = 96;

    /** 16 MiB across the 1 GiB line: eight 2 MiB slices (one PT each) under two PDs. */
    private static final long SLICE = 0x20_0000L;
    private static final long REGION_START = 0x4000_0000L - 4 * SLICE;
    private static final long REGION_END = REGION_START + THREADS * SLICE;
    private static final long REGION_PAGES = (REGION_END - REGION_START) >>> 12;
    private static final long USER_END = 0x0000_8000_0000_0000L;

    private static final long ADDRESS_BITS = 0x000F_FFFF_FFFF_F000L;
    /** P|RW|US|A|D|NX. */
    private static final long LEAF = 0x8000_0000_0000_0067L;
    /** Protections the threads switch between: P|US|NX, P|RW|US|NX, PROT_NONE. */
    private static final long[] PROTECTIONS = {0x8000_0000_0000_0005L, 0x8000_0000_0000_0007L, 0x100L};
    /** What LEAF becomes under each: read-only keeps A|D; PROT_NONE clears P, US and NX and sets G. */
    private static final long[] LEAF_STATES = {0x8000_0000_0000_0065L, LEAF, 0x0000_0000_0000_0160L};

    /** Tables left after every slice freed its own: root, PDPT, the two PDs the slices share. */
    private static final long SHARED_TABLES = 4;

    @ParameterizedTest
    @EnumSource(Backing.class)
    void overlappingOperationsKeepTablesAndAccountsConsistent(final Backing backing) throws Throwable
    {
        final PhysicalMemory memory = backing == Backing.FULL ?
            PhysicalMemory.create(128L << 20) :
            PhysicalMemory.create(4L << 30, Backing.TABLES_ONLY);
        final Outcome outcome = run(memory);
        assertEquals(0, outcome.noMemory, "memory is large enough for the whole region");
    }

    @ParameterizedTest
    @EnumSource(Backing.class)
    void populateRunningOutOfFramesConcurrentlyIsAStatus(final Backing backing) throws Throwable
    {
        // FULL: 1024 frames for tables, data and eight caches' stock; the region wants 4096 pages.
        // TABLES_ONLY: 1024 backed frames for tables, 1024 phantom data frames.
        final PhysicalMemory memory = backing == Backing.FULL ?
            PhysicalMemory.create(4L << 20) :
            PhysicalMemory.create(8L << 20, Backing.TABLES_ONLY, 4L << 20);
        final Outcome outcome = run(memory);
        assertTrue(outcome.noMemory > 0, "populate never ran out of frames");
        assertTrue(outcome.populated > 0, "populate never succeeded");
    }

    private record Outcome(long populated, long noMemory)
    {
    }

    private static Outcome run(final PhysicalMemory memory) throws Throwable
    {
        try (memory)
        {
            final FrameCache mainCache = memory.newCache();
            final PageTableEditor mainEditor = new PageTableEditor(memory, mainCache, THREADS + 1);
            final long cr3 = mainEditor.allocateRoot();
            assertNotEquals(BuddyAllocator.NO_FRAME, cr3);
            final long baseline = memory.framesInUse();
            assertEquals(2, baseline, "the zero page and the root");

            // the test thread is a party too: it checks while the workers wait at the next barrier
            final CyclicBarrier barrier = new CyclicBarrier(THREADS + 1);
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final List<Worker> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++)
            {
                final Worker worker = new Worker(memory, cr3, t, barrier, failure);
                workers.add(worker);
                worker.thread.start();
            }
            Throwable mainFailure = null;
            try
            {
                for (int round = 0; round < ROUNDS; round++)
                {
                    await(barrier, failure);     // mixed phase done
                    final PageTableChecker.Result mixed = PageTableChecker.check(memory, cr3).assertOk();
                    assertEquals(sum(workers, true) - sum(workers, false), mixed.leaves(),
                        "entries populated minus entries zapped, over all threads");
                    assertEquals(mixed.dataFrames(), mixed.leaves(), "one data frame per leaf");
                    assertEquals(memory.dataFrames(), mixed.dataFrames(), "the caches' data counters agree");
                    await(barrier, failure);     // release the teardown phase
                    await(barrier, failure);     // teardown phase done
                    final PageTableChecker.Result torn = PageTableChecker.check(memory, cr3).assertOk();
                    assertEquals(SHARED_TABLES, torn.tables());
                    assertEquals(0, torn.leaves());
                    assertEquals(baseline + SHARED_TABLES - 1, memory.framesInUse());
                    assertEquals(sum(workers, true), sum(workers, false));
                    await(barrier, failure);     // next round
                }
            }
            catch (final Throwable ex)
            {
                mainFailure = ex;
                failure.compareAndSet(null, ex);
                barrier.reset();
            }
            for (final Worker worker : workers)
            {
                worker.thread.join();
            }
            final Throwable first = failure.get();
            if (first != null && first == mainFailure)
            {
                throw first;
            }
            if (first != null)
            {
                final AssertionError error = new AssertionError("worker failed", first);
                if (mainFailure != null && !(mainFailure instanceof BrokenBarrierException))
                {
                    error.addSuppressed(mainFailure);
                }
                throw error;
            }

            final MmuGather tlb = new MmuGather(memory, mainCache);
            tlb.begin(TlbFlush.NONE);
            assertEquals(PageTableEditor.OK, mainEditor.zap(cr3, 0L, USER_END, tlb));
            mainEditor.freeTables(cr3, 0L, USER_END, 0L, 0L, tlb);
            tlb.finish();
            assertEquals(1, PageTableChecker.check(memory, cr3).assertOk().tables());
            assertEquals(baseline, memory.framesInUse());
            mainEditor.freeRoot(cr3);
            assertEquals(1, memory.framesInUse(), "only the zero page");

            long noMemory = 0;
            for (final Worker worker : workers)
            {
                noMemory += worker.noMemory;
                memory.retireCache(worker.cache);
            }
            memory.retireCache(mainCache);
            assertEquals(0, memory.tablePages());
            assertEquals(0, memory.dataFrames());
            return new Outcome(sum(workers, true), noMemory);
        }
    }

    private static long sum(final List<Worker> workers, final boolean populated)
    {
        long n = 0;
        for (final Worker worker : workers)
        {
            n += populated ? worker.populated : worker.zapped;
        }
        return n;
    }

    /** Waits for every party, unless some thread has failed: then everyone stops at once. */
    private static void await(final CyclicBarrier barrier, final AtomicReference<Throwable> failure) throws Exception
    {
        if (failure.get() != null)
        {
            throw new BrokenBarrierException();
        }
        barrier.await(60, TimeUnit.SECONDS);
    }

    /** One emulated CPU. Its counters are read by the test thread only across a barrier. */
    private static final class Worker implements Runnable
    {
        private final PhysicalMemory memory;
        private final long cr3;
        private final int id;
        private final CyclicBarrier barrier;
        private final AtomicReference<Throwable> failure;
        private final FrameCache cache;
        private final PageTableEditor editor;
        private final PageWalker walker;
        private final MmuGather tlb;
        private final TlbFlush flush;
        private final Random random;
        final Thread thread;

        long populated;
        long zapped;
        long noMemory;

        Worker(final PhysicalMemory memory, final long cr3, final int id, final CyclicBarrier barrier,
            final AtomicReference<Throwable> failure)
        {
            this.memory = memory;
            this.cr3 = cr3;
            this.id = id;
            this.barrier = barrier;
            this.failure = failure;
            this.cache = memory.newCache();
            this.editor = new PageTableEditor(memory, cache, id + 1);
            this.walker = new PageWalker(memory, cache);
            this.tlb = new MmuGather(memory, cache);
            this.flush = (start, end) -> require(start < end && start >= REGION_START && end <= REGION_END,
                String.format("flush of [0x%x, 0x%x) outside the region", start, end));
            this.random = new Random(0x5EED_0000L + id);
            this.thread = new Thread(this, "cpu-" + id);
        }

        @Override
        public void run()
        {
            try
            {
                for (int round = 0; round < ROUNDS; round++)
                {
                    for (int op = 0; op < OPERATIONS && failure.get() == null; op++)
                    {
                        mixedOperation();
                    }
                    await(barrier, failure);
                    await(barrier, failure);
                    tearDownSlice();
                    await(barrier, failure);
                    await(barrier, failure);
                }
            }
            catch (final Throwable ex)
            {
                failure.compareAndSet(null, ex);
                barrier.reset();
            }
        }

        private void mixedOperation()
        {
            final long first = REGION_START + ((long)random.nextInt((int)REGION_PAGES) << 12);
            final long end = Math.min(REGION_END, first + ((1L + random.nextInt(MAX_PAGES)) << 12));
            final int kind = random.nextInt(10);
            if (kind < 4)
            {
                final int status = editor.populate(cr3, first, end, LEAF);
                require(status == PageTableEditor.OK || status == PageTableEditor.NO_MEMORY, "populate status " + status);
                populated += editor.done();
                if (status == PageTableEditor.NO_MEMORY)
                {
                    noMemory++;
                }
            }
            else if (kind < 7)
            {
                tlb.begin(flush);
                final int status = editor.zap(cr3, first, end, tlb);
                tlb.finish();
                require(status == PageTableEditor.OK, "zap status " + status);
                zapped += editor.done();
            }
            else if (kind < 9)
            {
                tlb.begin(flush);
                final int status = editor.changeProtection(cr3, first, end,
                    PROTECTIONS[random.nextInt(PROTECTIONS.length)], false, tlb);
                tlb.finish();
                require(status == PageTableEditor.OK, "changeProtection status " + status);
            }
            else
            {
                for (long va = first; va < end; va += 0x1000)
                {
                    checkWalk(va);
                }
            }
        }

        /** A lockless walk (as a TLB fill) may meet holes and leaves, never garbage or torn entries. */
        private void checkWalk(final long va)
        {
            final int status = walker.walk(cr3, va);
            require(status == PageWalker.WALK_PTE || status == PageWalker.WALK_HOLE,
                String.format("walk of 0x%x: status %d", va, status));
            final long e = walker.entry();
            if (status == PageWalker.WALK_PTE && e != 0)
            {
                final long flags = e & ~ADDRESS_BITS;
                require(flags == LEAF_STATES[0] || flags == LEAF_STATES[1] || flags == LEAF_STATES[2],
                    String.format("entry 0x%x at 0x%x has unexpected flags", e, va));
                require(memory.isValid((e & ADDRESS_BITS) >>> 12), String.format("entry 0x%x at 0x%x: bad frame", e, va));
            }
        }

        private void tearDownSlice()
        {
            final long start = REGION_START + id * SLICE;
            final long end = start + SLICE;
            tlb.begin(flush);
            final int status = editor.zap(cr3, start, end, tlb);
            require(status == PageTableEditor.OK, "teardown zap status " + status);
            zapped += editor.done();
            editor.freeTables(cr3, start, end, start, end, tlb);
            tlb.finish();
        }

        private static void require(final boolean condition, final String message)
        {
            if (!condition)
            {
                throw new AssertionError(message);
            }
        }
    }
}
