package io.mmemu.vm;

import io.mmemu.phys.LruLists;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reclaim of page-cache pages through the file LRU lists and the file's rmap: clean pages are
 * dropped and read in again on the next fault (a major fault); pages written through MAP_SHARED are
 * written back to their {@link MappedFile} first, so a file mapping larger than memory reads back
 * every value written, under threads in both locking modes; nothing leaks.
 */
class FileReclaimTest
{
    private static final long BASE = 0x100000000000L;
    private static final long PAGE = 4096;
    private static final int RW = PROT_READ | PROT_WRITE;

    /** A file whose contents are the pattern (its path exists nowhere): word at offset o reads o. */
    private static MappedFile patternFile(final long bytes)
    {
        return MappedFile.of("/nonexistent/mmemu-reclaim-test", Dev.make(8, 1), 4242, bytes, null, false);
    }

    /** A machine of {@code ram} bytes, with a 4 MiB swap area or none (then only the file lists are reclaimed). */
    private static PhysicalMemory machineMemory(final long ram, final boolean swap)
    {
        final PhysicalMemory memory = PhysicalMemory.create(ram);
        return swap ? memory.attachSwap(SwapArea.inMemory(4L << 20)) : memory;
    }

    private static long filePages(final PhysicalMemory memory)
    {
        // between steps every CPU is idle: what waits in their add batches joins the lists first
        memory.drainAddBatches();
        return memory.lru().size(LruLists.INACTIVE_FILE) + memory.lru().size(LruLists.ACTIVE_FILE);
    }

    @Test
    void cleanFilePagesAreDroppedAndReadAgainAsMajorFaults() throws InterruptedException
    {
        final long pages = 64;
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20).attachSwap(SwapArea.inMemory(4L << 20)))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final Reclaimer reclaimer = machine.reclaimer();
            final AddressSpace mm = AddressSpace.create(LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final MappedFile file = patternFile(pages * PAGE);
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, pages * PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, OpenFile.open(file, false), 0));
                for (long i = 0; i < pages; i++)
                {
                    assertEquals(Signal.NONE, cpu.readLong(BASE + i * PAGE + 8));
                    assertEquals(i * PAGE + 8, cpu.value());
                }
                memory.drainAddBatches();
                assertEquals(pages, memory.lru().size(LruLists.INACTIVE_FILE));
                mm.check(true).assertOk();
                cpu.offline();
                // read once: activated at the first look, aged, then unreferenced and dropped
                assertEquals(pages, reclaimer.reclaim(pages));
                assertEquals(pages, reclaimer.fileStolen());
                assertEquals(0, filePages(memory), "every cached page dropped");
                assertEquals(0, memory.swap().swapOuts(), "no file page goes to swap");
                mm.check(true).assertOk();
                final long before = reclaimer.majorFaults();
                for (long i = 0; i < pages; i++)
                {
                    assertEquals(Signal.NONE, cpu.readLong(BASE + i * PAGE + 16));
                    assertEquals(i * PAGE + 16, cpu.value(), "read again from the file");
                }
                assertEquals(before + pages, reclaimer.majorFaults(), "each read-in of a dropped page is a major fault");
                assertEquals(pages, filePages(memory));
                mm.check(true).assertOk();
                assertEquals(0, cpu.munmap(BASE, pages * PAGE));
            }
            mm.close();
            reclaimer.close();
            assertEquals(0, filePages(memory));
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }

    /**
     * Threads write every other page of their part of a MAP_SHARED file four times the machine's
     * memory and read every page back, round after round, while the page cache is reclaimed under
     * them: written pages are written back to the file object and read in again with their values,
     * the others read the file's. A second mapping of the file, made afterwards, sees the last writes.
     */
    @ParameterizedTest
    @CsvSource({"PER_VMA,true", "MMAP_LOCK,true", "PER_VMA,false", "MMAP_LOCK,false"})
    void aSharedFileMappingLargerThanMemoryReadsBackEveryWrite(final LockingMode locking, final boolean swap)
        throws InterruptedException
    {
        final int workers = 2;
        final long ram = 8L << 20;
        final long bytes = 4 * ram;
        final long part = bytes / workers;
        try (PhysicalMemory memory = machineMemory(ram, swap))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace mm = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final MappedFile file = patternFile(bytes);
            file.open();
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, bytes, RW, MAP_SHARED | MAP_FIXED, OpenFile.open(file, true), 0));
                cpu.offline();
            }
            final int rounds = 3;
            CpuThreads.run(mm, workers, (index, cpu) ->
            {
                final long base = BASE + index * part;
                for (int round = 0; round < rounds; round++)
                {
                    for (long p = 0; p < part / PAGE; p += 2)
                    {
                        final long va = base + p * PAGE + (p % 64) * 8;
                        assertEquals(Signal.NONE, cpu.writeLong(va, (long)index << 56 | (long)round << 40 | p | 1));
                    }
                    for (long p = 0; p < part / PAGE; p++)
                    {
                        final long va = base + p * PAGE + (p % 64) * 8;
                        assertEquals(Signal.NONE, cpu.readLong(va));
                        final long expected = p % 2 == 0 ? (long)index << 56 | (long)round << 40 | p | 1 : va - BASE;
                        final int r = round;
                        assertEquals(expected, cpu.value(), () -> String.format("round %d: stale or lost at 0x%x", r, va));
                    }
                }
            });
            final Reclaimer reclaimer = machine.reclaimer();
            reclaimer.awaitKswapdIdle();
            assertTrue(reclaimer.fileStolen() > 0, "page-cache pages were reclaimed");
            assertTrue(reclaimer.majorFaults() > 0, "dropped pages were read in again");
            assertTrue(file.writtenBack() > 0, "dirty pages were written back to the file object");
            mm.check(true).assertOk();
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(0, cpu.munmap(BASE, bytes));
                // a fresh mapping of the file: the cache and the written-back pages hold the last writes
                final long again = cpu.mmap(0, bytes, PROT_READ, MAP_SHARED, OpenFile.open(file, false), 0);
                for (int index = 0; index < workers; index++)
                {
                    for (long p = 0; p < part / PAGE; p++)
                    {
                        final long off = index * part + p * PAGE + (p % 64) * 8;
                        assertEquals(Signal.NONE, cpu.readLong(again + off));
                        assertEquals(p % 2 == 0 ? (long)index << 56 | (long)(rounds - 1) << 40 | p | 1 : off, cpu.value(),
                            String.format("offset 0x%x", off));
                    }
                }
                cpu.offline();
                reclaimer.awaitKswapdIdle();
                mm.check(true).assertOk();
                cpu.goOnline();
                assertEquals(0, cpu.munmap(again, bytes));
            }
            if (swap)
            {
                assertEquals(0, memory.swap().totalPages() - memory.swap().freePages(), "no slot in use");
            }
            assertFalse(mm.oomKilled(), "page-cache pages can always be dropped: no OOM kill");
            mm.close();
            file.close(memory);
            reclaimer.close();
            assertEquals(0, filePages(memory));
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }
    /**
     * Without a swap area, a private read-only mapping of a file four times the machine's memory is
     * read through twice by threads: kswapd and direct reclaim drop the clean page-cache pages
     * (nothing is written back), each re-read is a major fault, every value is the file's, nothing
     * leaks and nobody is OOM-killed.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void withoutSwapAFileMappingLargerThanMemoryIsReadThroughByDroppingCleanPages(final LockingMode locking)
        throws InterruptedException
    {
        final int workers = 2;
        final long ram = 8L << 20;
        final long bytes = 4 * ram;
        final long part = bytes / workers;
        try (PhysicalMemory memory = PhysicalMemory.create(ram))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace mm = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final MappedFile file = patternFile(bytes);
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, bytes, PROT_READ, MAP_PRIVATE | MAP_FIXED, OpenFile.open(file, false), 0));
                cpu.offline();
            }
            CpuThreads.run(mm, workers, (index, cpu) ->
            {
                final long base = BASE + index * part;
                for (int round = 0; round < 2; round++)
                {
                    for (long p = 0; p < part / PAGE; p++)
                    {
                        final long va = base + p * PAGE + (p % 512) * 8;
                        assertEquals(Signal.NONE, cpu.readLong(va));
                        assertEquals(va - BASE, cpu.value(), () -> String.format("wrong bytes at 0x%x", va));
                    }
                }
            });
            final Reclaimer reclaimer = machine.reclaimer();
            reclaimer.awaitKswapdIdle();
            assertFalse(mm.oomKilled());
            assertTrue(reclaimer.fileStolen() >= bytes / PAGE - ram / PAGE, "dropped " + reclaimer.fileStolen());
            assertEquals(reclaimer.fileStolen(), reclaimer.stolen(), "only page-cache pages are reclaimed");
            assertTrue(reclaimer.majorFaults() >= bytes / PAGE - ram / PAGE, "major faults " + reclaimer.majorFaults());
            assertEquals(0, file.writebacks(), "clean pages are dropped, never written back");
            mm.check(true).assertOk();
            mm.close();
            reclaimer.close();
            assertEquals(0, filePages(memory));
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }

    /**
     * Without a swap area, anonymous memory is not reclaimable: a process that fills the machine
     * with it is OOM-killed even while page-cache pages (which are dropped first) exist beside it.
     */
    @Test
    void withoutSwapAnonymousMemoryIsNotReclaimedAndTheOomKillerStillRuns()
    {
        final long ram = 4L << 20;
        try (PhysicalMemory memory = PhysicalMemory.create(ram))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace mm = AddressSpace.create(LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final MappedFile file = patternFile(64 * PAGE);
            final long anon = BASE + (1L << 30);
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, 64 * PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, OpenFile.open(file, false), 0));
                for (long i = 0; i < 64; i++)
                {
                    assertEquals(Signal.NONE, cpu.readLong(BASE + i * PAGE));
                }
                assertEquals(anon, cpu.mmap(anon, 2 * ram, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0));
                int signal = Signal.NONE;
                long written = 0;
                while (written < 2 * ram / PAGE && (signal = cpu.writeByte(anon + written * PAGE, 1)) == Signal.NONE)
                {
                    written++;
                }
                assertEquals(Signal.SIGKILL, signal, "the OOM killer took the process");
                assertTrue(written < ram / PAGE, "written " + written);
                assertTrue(mm.oomKilled());
                assertTrue(machine.reclaimer().fileStolen() > 0, "the page cache was dropped before the kill");
                assertEquals(machine.reclaimer().fileStolen(), machine.reclaimer().stolen(), "no anonymous page was taken");
            }
            mm.close();
            machine.reclaimer().close();
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }

    /** Reclaims until every page-cache page of the machine is dropped (the first looks only age them). */
    private static void dropAll(final PhysicalMemory memory, final Reclaimer reclaimer)
    {
        for (int i = 0; i < 4 && filePages(memory) > 0; i++)
        {
            reclaimer.reclaim(filePages(memory));
        }
        assertEquals(0, filePages(memory), "every cached page dropped");
    }

    /**
     * Dirtiness comes from the entries' D bits, not from the bytes: pages only read through a
     * shared writable mapping are dropped unwritten; a page written once (even with the very bytes
     * the file holds) is written back exactly once, and after it is read in again clean, dropped
     * again without a second write-back, its value kept; a page written and then MADV_DONTNEED'd
     * (its entry zapped with D set) is written back too.
     */
    @ParameterizedTest
    @CsvSource({"true", "false"})
    void onlyPagesWrittenThroughTheirEntriesAreWrittenBackAndOnlyOnce(final boolean swap)
    {
        final long pages = 16;
        try (PhysicalMemory memory = machineMemory(64L << 20, swap))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final Reclaimer reclaimer = machine.reclaimer();
            final AddressSpace mm = AddressSpace.create(LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final MappedFile file = patternFile(pages * PAGE);
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, pages * PAGE, RW, MAP_SHARED | MAP_FIXED, OpenFile.open(file, true), 0));
                for (long i = 0; i < pages; i++)
                {
                    assertEquals(Signal.NONE, cpu.readLong(BASE + i * PAGE));
                }
                // page 3: a new value; page 5: the value the file already holds (the bytes do not change)
                assertEquals(Signal.NONE, cpu.writeLong(BASE + 3 * PAGE + 8, 0xfeedL));
                assertEquals(Signal.NONE, cpu.writeLong(BASE + 5 * PAGE + 8, 5 * PAGE + 8));
                // page 7: written, then its entry zapped (the D bit moves to the cached page)
                assertEquals(Signal.NONE, cpu.writeLong(BASE + 7 * PAGE + 16, 0x7777L));
                assertEquals(0, cpu.madvise(BASE + 7 * PAGE, PAGE, MADV_DONTNEED));
                cpu.offline();
                dropAll(memory, reclaimer);
                assertEquals(3, file.writebacks(), "pages 3, 5 and 7 were dirty, the rest clean");
                assertEquals(pages, reclaimer.fileStolen());
                cpu.goOnline();
                final long before = reclaimer.majorFaults();
                for (long i = 0; i < pages; i++)
                {
                    assertEquals(Signal.NONE, cpu.readLong(BASE + i * PAGE + 8));
                    assertEquals(i == 3 ? 0xfeedL : i * PAGE + 8, cpu.value(), "page " + i);
                }
                assertEquals(Signal.NONE, cpu.readLong(BASE + 7 * PAGE + 16));
                assertEquals(0x7777L, cpu.value());
                assertEquals(before + pages, reclaimer.majorFaults());
                cpu.offline();
                // read in again clean: dropped again without a write-back, the written bytes kept
                dropAll(memory, reclaimer);
                assertEquals(3, file.writebacks(), "a page read back clean is not written again");
                cpu.goOnline();
                assertEquals(Signal.NONE, cpu.readLong(BASE + 3 * PAGE + 8));
                assertEquals(0xfeedL, cpu.value());
                assertEquals(Signal.NONE, cpu.readLong(BASE + 7 * PAGE + 16));
                assertEquals(0x7777L, cpu.value());
                mm.check(true).assertOk();
                assertEquals(0, cpu.munmap(BASE, pages * PAGE));
            }
            mm.close();
            reclaimer.close();
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }

    /**
     * A private file mapping's written pages are copies (anonymous): reclaim never writes them to
     * the file. Its clean page-cache pages are dropped; a shared mapping made afterwards reads the
     * file's bytes, the private one its own.
     */
    @ParameterizedTest
    @CsvSource({"true", "false"})
    void aPrivateMappingsCopiesAreNeverWrittenToTheFile(final boolean swap)
    {
        final long pages = 16;
        try (PhysicalMemory memory = machineMemory(64L << 20, swap))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final Reclaimer reclaimer = machine.reclaimer();
            final AddressSpace mm = AddressSpace.create(LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final MappedFile file = patternFile(pages * PAGE);
            file.open();
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, pages * PAGE, RW, MAP_PRIVATE | MAP_FIXED, OpenFile.open(file, false), 0));
                for (long i = 0; i < pages; i++)
                {
                    assertEquals(Signal.NONE, cpu.readLong(BASE + i * PAGE));
                    if (i % 2 == 0)
                    {
                        assertEquals(Signal.NONE, cpu.writeLong(BASE + i * PAGE + 8, 0xc0c0L + i));
                    }
                }
                cpu.offline();
                for (int i = 0; i < 4; i++)
                {
                    reclaimer.reclaim(2 * pages);
                }
                assertEquals(0, filePages(memory), "every page-cache page dropped");
                assertEquals(0, file.writebacks(), "a private copy is never written to the file");
                assertEquals(swap ? pages / 2 : 0, reclaimer.stolen() - reclaimer.fileStolen(),
                    "the copies are anonymous: swapped out only with swap");
                cpu.goOnline();
                final long shared = cpu.mmap(0, pages * PAGE, PROT_READ, MAP_SHARED, OpenFile.open(file, false), 0);
                for (long i = 0; i < pages; i++)
                {
                    assertEquals(Signal.NONE, cpu.readLong(BASE + i * PAGE + 8));
                    assertEquals(i % 2 == 0 ? 0xc0c0L + i : i * PAGE + 8, cpu.value(), "private page " + i);
                    assertEquals(Signal.NONE, cpu.readLong(shared + i * PAGE + 8));
                    assertEquals(i * PAGE + 8, cpu.value(), "file page " + i);
                }
                mm.check(true).assertOk();
                assertEquals(0, cpu.munmap(BASE, pages * PAGE));
                assertEquals(0, cpu.munmap(shared, pages * PAGE));
            }
            mm.close();
            file.close(memory);
            reclaimer.close();
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }
}
