package io.mmemu.vm;

import io.mmemu.phys.LruLists;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
    @EnumSource(LockingMode.class)
    void aSharedFileMappingLargerThanMemoryReadsBackEveryWrite(final LockingMode locking) throws InterruptedException
    {
        final int workers = 2;
        final long ram = 8L << 20;
        final long bytes = 4 * ram;
        final long part = bytes / workers;
        try (PhysicalMemory memory = PhysicalMemory.create(ram).attachSwap(SwapArea.inMemory(4L << 20)))
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
            assertEquals(0, memory.swap().totalPages() - memory.swap().freePages(), "no slot in use");
            mm.close();
            file.close(memory);
            reclaimer.close();
            assertEquals(0, filePages(memory));
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }
}
