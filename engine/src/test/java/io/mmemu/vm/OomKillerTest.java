package io.mmemu.vm;

import java.util.concurrent.atomic.AtomicInteger;

import io.mmemu.pgtable.PageWalker;
import io.mmemu.pgtable.SwapEntry;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The OOM killer: an anonymous fault that finds no frame kills the process with the highest
 * oom_badness instead of raising SIGBUS; the victim's memory all comes back (reaped at once when
 * it is another process, at exit when it is the faulting one), in both locking modes.
 */
class OomKillerTest
{
    private static final long BASE = 0x100000000000L;
    private static final long PAGE = 4096;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int NORESERVE = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED;
    private static final long RAM = 4L << 20;

    /** Writes page after page from {@code start} until a fault's outcome is not NONE; returns the pages written. */
    private static long fill(final Cpu cpu, final long start, final long pages, final int[] signal)
    {
        for (long i = 0; i < pages; i++)
        {
            final int s = cpu.writeByte(start + i * PAGE, 1);
            if (s != Signal.NONE)
            {
                signal[0] = s;
                return i;
            }
        }
        signal[0] = Signal.NONE;
        return pages;
    }

    /** A process on {@code machine} with one CPU and RAM's worth of MAP_NORESERVE memory at BASE. */
    private record Process(AddressSpace mm, Cpu cpu)
    {
        static Process on(final Machine machine, final LockingMode locking)
        {
            final AddressSpace mm = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final Cpu cpu = mm.attachCpu();
            assertEquals(BASE, cpu.mmap(BASE, RAM, RW, NORESERVE, -1, 0));
            return new Process(mm, cpu);
        }

        void exit()
        {
            cpu.close();
            mm.close();
        }
    }

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void aProcessThatRunsOutIsKilledNotSigbusAndAllItsMemoryComesBack(final LockingMode locking)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(RAM))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace mm = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final Cpu cpu = mm.attachCpu();
            assertEquals(BASE, cpu.mmap(BASE, 4 * RAM, RW, NORESERVE, -1, 0));
            final int[] signal = new int[1];
            final long written = fill(cpu, BASE, 4 * RAM / PAGE, signal);
            assertEquals(Signal.SIGKILL, signal[0], "not SIGBUS: the OOM killer chose this process");
            assertTrue(written > 0 && written < RAM / PAGE, "written " + written);
            assertTrue(mm.oomKilled());
            assertEquals(1, machine.oomKiller().kills());
            assertEquals(0, mm.stats().sigbus());
            assertEquals(0, mm.check(true).assertOk().dataFrames(), "reaped: its private pages are back at once");
            // a fatal signal is pending: a thread of it that faults again dies there, and never sees
            // the reaped memory as zeros (on Linux it would not run again at all)
            assertEquals(0, fill(cpu, BASE, 4 * RAM / PAGE, signal), "no fault of a killed process succeeds");
            assertEquals(Signal.SIGKILL, signal[0]);
            assertEquals(1, machine.oomKiller().kills());
            mm.check(true).assertOk();
            cpu.close();
            mm.close();
            assertEquals(idle, memory.framesInUse(), "exit gives every frame back");
        }
    }

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void theFaultingProcessIsTheVictimWhenItIsTheBiggest(final LockingMode locking)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(RAM))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final Process big = Process.on(machine, locking);
            final Process small = Process.on(machine, locking);
            final Cpu bigCpu = big.cpu();
            final Cpu smallCpu = small.cpu();
            final int[] signal = new int[1];
            assertEquals(16, fill(smallCpu, BASE, 16, signal));
            smallCpu.offline();
            final long bigPages = fill(bigCpu, BASE, RAM / PAGE, signal);
            assertEquals(Signal.SIGKILL, signal[0], "the big one ran out and, being the biggest, was chosen");
            assertTrue(bigPages > 16);
            assertTrue(big.mm().oomKilled() && !small.mm().oomKilled());
            assertEquals(1, machine.oomKiller().kills());
            assertEquals(0, big.mm().check(false).assertOk().dataFrames(), "the victim was reaped");
            big.exit();
            assertEquals(16, fill(smallCpu, BASE + 16 * PAGE, 16, signal), "the survivor runs on");
            small.exit();
            assertEquals(idle, memory.framesInUse(), "nothing leaked");
        }
    }

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void anotherProcessChosenAsVictimIsReapedAndTheFaultGoesOn(final LockingMode locking)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(RAM))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final Process hogProcess = Process.on(machine, locking);
            final Process smallProcess = Process.on(machine, locking);
            final AddressSpace hog = hogProcess.mm();
            final AddressSpace small = smallProcess.mm();
            final Cpu hogCpu = hogProcess.cpu();
            final Cpu smallCpu = smallProcess.cpu();
            // the small process then needs 400 frames
            final int[] signal = new int[1];
            final long before = memory.dataFrames();
            final long hogPages = hogUntilFewLeft(memory, hogCpu);
            // this thread drives both CPUs: the hog's must not be left online while the reaper's shootdown waits for it
            hogCpu.offline();
            for (long page = 0; page < 400; page++)
            {
                assertEquals(Signal.NONE, smallCpu.writeByte(BASE + page * PAGE, 1),
                    "the small process's faults all succeed: the hog was killed for them");
                // the access that met the OOM killer waited offline; it ends online, or the translation
                // it filled could outlive a shootdown it never saw
                assertTrue(smallCpu.shootdowns.isOnline(), "offline after the write to page " + page);
            }
            assertTrue(hog.oomKilled());
            assertFalse(small.oomKilled());
            assertEquals(1, machine.oomKiller().kills());
            assertTrue(memory.dataFrames() < before + hogPages, "the hog's pages were reaped");
            // frame accounting is machine-wide: with two processes each checks its own tables only
            assertEquals(0, hog.check(false).assertOk().dataFrames(), "the hog maps nothing after the reap");
            small.check(false).assertOk();
            hogProcess.exit();
            smallProcess.exit();
            assertEquals(idle, memory.framesInUse(), "nothing leaked");
        }
    }

    /**
     * A populate holds the mmap lock for reading across its range but lets go of it where a fault
     * found no frame: reclaim and the OOM killer run without it (they assert so), the hog is
     * killed and reaped (its reaper owns the hog's whole range, a writer), and the populate goes
     * on from the page it was at and succeeds.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void aPopulateThatRunsOutLetsGoOfTheMmapLockForTheOomKillerAndGoesOn(final LockingMode locking)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(RAM))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final Process hogProcess = Process.on(machine, locking);
            final Process smallProcess = Process.on(machine, locking);
            final Cpu hogCpu = hogProcess.cpu();
            hogUntilFewLeft(memory, hogCpu);
            hogCpu.offline();
            assertEquals(0, smallProcess.cpu().madvise(BASE, 400 * PAGE, MADV_POPULATE_WRITE),
                "the populate went on once the hog was killed for it");
            assertTrue(hogProcess.mm().oomKilled());
            assertFalse(smallProcess.mm().oomKilled());
            assertEquals(1, machine.oomKiller().kills());
            assertEquals(400, smallProcess.mm().check(false).assertOk().dataFrames(), "every page populated");
            assertEquals(0, hogProcess.mm().check(false).assertOk().dataFrames(), "the hog was reaped");
            hogProcess.exit();
            smallProcess.exit();
            assertEquals(idle, memory.framesInUse(), "nothing leaked");
        }
    }

    /** A populate whose own process the OOM killer chooses returns EINTR (a fatal signal pending), its lock let go. */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void aPopulateWhoseProcessIsTheVictimReturnsEintr(final LockingMode locking)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(RAM))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace mm = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final Cpu cpu = mm.attachCpu();
            assertEquals(BASE, cpu.mmap(BASE, 4 * RAM, RW, NORESERVE, -1, 0));
            assertEquals(-Errno.EINTR, cpu.madvise(BASE, 4 * RAM, MADV_POPULATE_WRITE));
            assertTrue(mm.oomKilled());
            assertEquals(1, machine.oomKiller().kills());
            // MAP_POPULATE ignores its populate's failure: the mapping stands
            assertEquals(BASE + 4 * RAM, cpu.mmap(BASE + 4 * RAM, RAM, RW, NORESERVE | MAP_POPULATE, -1, 0));
            assertFalse(mm.rangeLock().holdsShared(), "the populates let go of the mmap lock");
            assertEquals(0, mm.check(true).assertOk().dataFrames(), "reaped");
            cpu.close();
            mm.close();
            assertEquals(idle, memory.framesInUse(), "nothing leaked");
        }
    }

    @Test
    void badnessCountsResidentPagesSwapEntriesAndPageTables()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(RAM))
        {
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final Process process = Process.on(machine, LockingMode.PER_VMA);
            final OomKiller killer = machine.oomKiller();
            assertEquals(1, killer.badness(process.mm()), "an empty address space: the PML4");
            final int[] signal = new int[1];
            assertEquals(10, fill(process.cpu(), BASE, 10, signal));
            assertEquals(Signal.NONE, process.cpu().readByte(BASE + 10 * PAGE), "the zero page does not count");
            // PML4, PDPT, PD, PT and 10 pages
            assertEquals(4 + 10, killer.badness(process.mm()));
            // a swap entry written into the PT (nothing creates one yet): MM_SWAPENTS counts it
            final FrameCache cache = memory.newCache();
            final PageWalker walker = new PageWalker(memory, cache);
            assertEquals(PageWalker.WALK_PTE, walker.walk(process.mm().cr3(), BASE + 20 * PAGE));
            final long swap = SwapEntry.of(0, 5);
            assertTrue(PageWalker.casEntry(memory.frames(), walker.slot(), 0, swap));
            assertEquals(4 + 10 + 1, killer.badness(process.mm()));
            assertTrue(PageWalker.casEntry(memory.frames(), walker.slot(), swap, 0));
            memory.retireCache(cache);
            process.exit();
        }
    }

    /**
     * The victim is reaped while its own threads still map, write and unmap: a small process's fault
     * kills the hog, whose threads go on until their faults find no room (SIGKILL) or their loops
     * end; no frame is freed while a TLB can still reach it (the use-after-free check is on in
     * tests), no SIGBUS, and nothing leaks once both exit.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void aVictimIsReapedWhileItsThreadsRun(final LockingMode locking) throws Exception
    {
        for (int round = 0; round < 5; round++)
        {
            try (PhysicalMemory memory = PhysicalMemory.create(RAM))
            {
                final long idle = memory.framesInUse();
                final Machine machine = new Machine(memory, Overcommit.DEFAULT);
                final Process hog = Process.on(machine, locking);
                final int[] signal = new int[1];
                assertEquals(600, fill(hog.cpu(), BASE, 600, signal), "the hog's resident part");
                hog.cpu().offline();
                final AddressSpace small = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE,
                    machine);
                final AtomicInteger smallFailures = new AtomicInteger();
                final Thread smallThread = new Thread(() ->
                {
                    try (Cpu cpu = small.attachCpu())
                    {
                        cpu.mmap(BASE, RAM, RW, NORESERVE, -1, 0);
                        final int[] outcome = new int[1];
                        final long got = fill(cpu, BASE, 400, outcome);
                        if (got != 400)
                        {
                            smallFailures.incrementAndGet();
                        }
                    }
                });
                smallThread.start();
                // two threads of the hog churn their own windows meanwhile
                CpuThreads.run(hog.mm(), 2, (t, cpu) ->
                {
                    final long window = BASE + (1L << 30) + t * (1L << 28);
                    for (int i = 0; i < 50 && !hog.mm().oomKilled(); i++)
                    {
                        assertEquals(window, cpu.mmap(window, 64 * PAGE, RW, NORESERVE, -1, 0));
                        final int[] outcome = new int[1];
                        fill(cpu, window, 64, outcome);
                        assertTrue(outcome[0] == Signal.NONE || outcome[0] == Signal.SIGKILL, "signal " + outcome[0]);
                        assertEquals(0, cpu.munmap(window, 64 * PAGE));
                    }
                });
                smallThread.join();
                assertEquals(0, smallFailures.get(), "the small process got its 400 pages");
                assertTrue(hog.mm().oomKilled(), "the hog was the biggest");
                assertFalse(small.oomKilled());
                assertEquals(0, hog.mm().stats().sigbus() + small.stats().sigbus());
                assertEquals(0, memory.useAfterFrees(), memory.firstUseAfterFree());
                hog.exit();
                small.close();
                assertEquals(idle, memory.framesInUse(), "nothing leaked");
            }
        }
    }

    /** Many threads of one process fault at once on a machine too small for them: one kill, no leak. */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void concurrentFaultsOfAProcessThatRunsOutAllEndKilled(final LockingMode locking) throws Exception
    {
        for (int round = 0; round < 10; round++)
        {
            try (PhysicalMemory memory = PhysicalMemory.create(RAM))
            {
                final long idle = memory.framesInUse();
                final Machine machine = new Machine(memory, Overcommit.DEFAULT);
                final AddressSpace mm = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
                final AtomicInteger killed = new AtomicInteger();
                CpuThreads.run(mm, 4, (t, cpu) ->
                {
                    final long window = BASE + t * (1L << 30);
                    assertEquals(window, cpu.mmap(window, RAM, RW, NORESERVE, -1, 0));
                    final int[] signal = new int[1];
                    fill(cpu, window, RAM / PAGE, signal);
                    if (signal[0] == Signal.SIGKILL)
                    {
                        killed.incrementAndGet();
                    }
                    else
                    {
                        assertEquals(Signal.NONE, signal[0]);
                    }
                });
                assertTrue(killed.get() >= 1, "4 x 4 MiB on 4 MiB: somebody met the kill");
                assertEquals(1, machine.oomKiller().kills(), "one process, one kill");
                assertEquals(0, mm.stats().sigbus());
                mm.check(true).assertOk();
                mm.close();
                assertEquals(idle, memory.framesInUse(), "nothing leaked");
            }
        }
    }

    /**
     * The hog writes a page at a time from BASE until about 200 frames are left (other CPUs' caches
     * keep some of them, which an allocation cannot take: it stays clear of its own OOM); returns
     * the pages it wrote.
     */
    private static long hogUntilFewLeft(final PhysicalMemory memory, final Cpu hogCpu)
    {
        long hogPages = 0;
        while (hogPages < RAM / PAGE && memory.framesInUse() < memory.backedFrames() - 1 - 200)
        {
            assertEquals(Signal.NONE, hogCpu.writeByte(BASE + hogPages * PAGE, 1));
            hogPages++;
        }
        return hogPages;
    }
}
