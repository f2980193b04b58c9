package io.mmemu.vm;

import java.util.concurrent.atomic.AtomicBoolean;

import io.mmemu.phys.LruLists;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MADV_PAGEOUT of page-cache pages (madvise_cold_or_pageout_pte_range, reclaim_pages) on a
 * machine without swap, and mincore: clean pages only this entry maps are dropped (their re-read
 * is a major fault), dirty ones are unmapped and stay cached until reclaim writes them back, pages
 * another entry maps stay; under threads that write and read, nothing written is lost.
 */
class FilePageoutTest
{
    private static final long BASE = 0x100000000000L;
    private static final long PAGE = 4096;
    private static final int PAGES = 16;

    private static MappedFile patternFile(final long bytes)
    {
        return MappedFile.of("/nonexistent/mmemu-pageout-test", Dev.make(8, 1), 4343, bytes, null, false);
    }

    private static byte[] mincore(final Cpu cpu, final long base, final int pages)
    {
        final byte[] vec = new byte[pages];
        assertEquals(0, cpu.mincore(base, pages * PAGE, vec));
        return vec;
    }

    private static byte[] residency(final String digits)
    {
        final byte[] vec = new byte[digits.length()];
        for (int i = 0; i < vec.length; i++)
        {
            vec[i] = (byte)(digits.charAt(i) - '0');
        }
        return vec;
    }

    @Test
    void cleanPagesOnlyThisEntryMapsAreDroppedDirtyOnesStayCachedAndSharedOnesStay()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final Reclaimer reclaimer = machine.reclaimer();
            final AddressSpace mm = AddressSpace.create(LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final MappedFile file = patternFile(PAGES * PAGE);
            try (Cpu cpu = mm.attachCpu())
            {
                final OpenFile rw = OpenFile.open(file, true);
                assertEquals(BASE, cpu.mmap(BASE, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, rw, 0));
                final long second = BASE + (1L << 30);
                assertEquals(second, cpu.mmap(second, 2 * PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, rw, 0));
                assertArrayEquals(residency("0000000000000000"), mincore(cpu, BASE, PAGES));
                for (int i = 0; i < PAGES; i++)
                {
                    assertEquals(Signal.NONE, cpu.readLong(BASE + i * PAGE));
                }
                // pages 0-1 also mapped by the second mapping; 4-7 written
                assertEquals(Signal.NONE, cpu.readLong(second));
                assertEquals(Signal.NONE, cpu.readLong(second + PAGE));
                for (int i = 4; i < 8; i++)
                {
                    assertEquals(Signal.NONE, cpu.writeLong(BASE + i * PAGE + 24, 0xd00d + i));
                }
                assertArrayEquals(residency("1111111111111111"), mincore(cpu, BASE, PAGES));
                assertEquals(0, cpu.madvise(BASE, PAGES * PAGE, MADV_PAGEOUT));
                assertArrayEquals(residency("1100111100000000"), mincore(cpu, BASE, PAGES),
                    "clean pages dropped, dirty ones cached, doubly mapped ones kept");
                for (int i = 0; i < PAGES; i++)
                {
                    assertEquals(i < 2, (mm.pagemap(BASE + i * PAGE) >>> 63) != 0, "page " + i + " mapped");
                }
                assertEquals(0, file.writebacks(), "MADV_PAGEOUT writes no file page back");
                final long before = reclaimer.majorFaults();
                for (int i = 0; i < PAGES; i++)
                {
                    assertEquals(Signal.NONE, cpu.readLong(BASE + i * PAGE + 24));
                    assertEquals(i >= 4 && i < 8 ? 0xd00d + i : i * PAGE + 24, cpu.value(), "page " + i);
                }
                assertEquals(before + 10, reclaimer.majorFaults(), "the ten dropped pages were read in again");
                // reclaim writes the dirty pages back (once each) and drops everything
                assertEquals(0, cpu.munmap(second, 2 * PAGE));
                assertEquals(0, cpu.madvise(BASE, PAGES * PAGE, MADV_DONTNEED));
                cpu.offline();
                for (int i = 0; i < 4; i++)
                {
                    reclaimer.reclaim(PAGES);
                }
                cpu.goOnline();
                assertArrayEquals(residency("0000000000000000"), mincore(cpu, BASE, PAGES));
                assertEquals(4, file.writebacks());
                for (int i = 0; i < PAGES; i++)
                {
                    assertEquals(Signal.NONE, cpu.readLong(BASE + i * PAGE + 24));
                    assertEquals(i >= 4 && i < 8 ? 0xd00d + i : i * PAGE + 24, cpu.value(), "page " + i);
                }
                mm.check(true).assertOk();
                assertEquals(0, cpu.munmap(BASE, PAGES * PAGE));
            }
            mm.close();
            reclaimer.close();
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }

    @Test
    void mincoreErrors()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20); AddressSpace mm = AddressSpace.create(memory))
        {
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
                assertEquals(Signal.NONE, cpu.writeByte(BASE + PAGE, 1));
                assertEquals(-Errno.EINVAL, cpu.mincore(BASE + 1, PAGE, new byte[1]));
                assertEquals(-Errno.ENOMEM, cpu.mincore(BASE, 3 * PAGE, new byte[3]), "a hole after the mapping");
                assertEquals(-Errno.ENOMEM, cpu.mincore(BASE - PAGE, PAGE, new byte[1]));
                final byte[] vec = new byte[2];
                assertEquals(0, cpu.mincore(BASE, PAGE + 1, vec), "the length is rounded up");
                assertArrayEquals(new byte[] {0, 1}, vec, "an untouched anonymous page is not resident");
            }
        }
    }

    /**
     * Threads write and read back their own pages of a shared file mapping while another thread
     * pages the whole mapping out again and again, on a machine without swap whose memory is
     * smaller than the file (kswapd and direct reclaim write the dirty pages back): every read
     * returns the thread's last write.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void pageoutRacingWritersLosesNoWrite(final LockingMode locking) throws InterruptedException
    {
        final long ram = 8L << 20;
        final long bytes = 2 * ram;
        final int writers = 2;
        final long part = bytes / writers;
        try (PhysicalMemory memory = PhysicalMemory.create(ram))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace mm = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final MappedFile file = patternFile(bytes);
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, OpenFile.open(file, true), 0));
                cpu.offline();
            }
            final AtomicBoolean done = new AtomicBoolean();
            final long[] pageouts = new long[1];
            CpuThreads.run(mm, writers + 1, (index, cpu) ->
            {
                if (index == writers)
                {
                    while (!done.get())
                    {
                        assertEquals(0, cpu.madvise(BASE, bytes, MADV_PAGEOUT));
                        pageouts[0]++;
                    }
                    return;
                }
                try
                {
                    final long base = BASE + index * part;
                    for (int round = 1; round <= 3; round++)
                    {
                        for (long p = 0; p < part / PAGE; p++)
                        {
                            final long va = base + p * PAGE + (p % 64) * 8;
                            assertEquals(Signal.NONE, cpu.writeLong(va, (long)index << 56 | (long)round << 40 | p));
                            if (p % 8 == 0)
                            {
                                // re-read a page written a little earlier: it may have been paged out since
                                final long q = p - p % 64;
                                final long back = base + q * PAGE + (q % 64) * 8;
                                assertEquals(Signal.NONE, cpu.readLong(back));
                                assertEquals((long)index << 56 | (long)round << 40 | q, cpu.value());
                            }
                        }
                        for (long p = 0; p < part / PAGE; p++)
                        {
                            final long va = base + p * PAGE + (p % 64) * 8;
                            assertEquals(Signal.NONE, cpu.readLong(va));
                            final long expected = (long)index << 56 | (long)round << 40 | p;
                            assertEquals(expected, cpu.value(), () -> String.format("lost write at 0x%x", va));
                        }
                    }
                }
                finally
                {
                    done.set(true);
                }
            });
            assertTrue(pageouts[0] > 0);
            final Reclaimer reclaimer = machine.reclaimer();
            reclaimer.awaitKswapdIdle();
            assertTrue(file.writebacks() > 0, "dirty pages were written back");
            mm.check(true).assertOk();
            mm.close();
            reclaimer.close();
            memory.drainAddBatches();
            assertEquals(0, memory.lru().size(LruLists.INACTIVE_FILE) + memory.lru().size(LruLists.ACTIVE_FILE));
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }
    /**
     * MADV_COLD of a shared file mapping deactivates the page-cache pages only it maps
     * (folio_deactivate) and clears their A bits; a page a second mapping maps stays active.
     */
    /** Moves every page of inactive list {@code inactive} to its active list, as a scan that found them referenced does. */
    private static void activateAll(final PhysicalMemory memory, final int inactive)
    {
        final long[] batch = new long[PAGES];
        final io.mmemu.phys.FrameCache cache = memory.newCache();
        try
        {
            final int n = memory.lru().isolate(inactive, PAGES, PAGES, batch);
            for (int i = 0; i < n; i++)
            {
                memory.lru().putback(batch[i], true);
                // the isolation's reference
                memory.releaseData(cache, batch[i], false);
            }
        }
        finally
        {
            memory.retireCache(cache);
        }
    }

    @Test
    void coldDeactivatesPageCachePagesOnlyThisEntryMaps()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final long idle = memory.framesInUse();
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final Reclaimer reclaimer = machine.reclaimer();
            final AddressSpace mm = AddressSpace.create(LockingMode.MMAP_LOCK, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final OpenFile fd = OpenFile.open(patternFile(PAGES * PAGE), false);
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, PAGES * PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0));
                final long second = BASE + (1L << 30);
                assertEquals(second, cpu.mmap(second, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0));
                for (int i = 0; i < PAGES; i++)
                {
                    assertEquals(Signal.NONE, cpu.readLong(BASE + i * PAGE));
                }
                assertEquals(Signal.NONE, cpu.readLong(second));
                cpu.offline();
                memory.drainAddBatches();
                activateAll(memory, LruLists.INACTIVE_FILE);
                assertEquals(PAGES, memory.lru().size(LruLists.ACTIVE_FILE));
                cpu.goOnline();
                assertEquals(0, cpu.madvise(BASE, PAGES * PAGE, MADV_COLD));
                assertEquals(1, memory.lru().size(LruLists.ACTIVE_FILE), "the page mapped twice stays active");
                assertEquals(PAGES - 1, memory.lru().size(LruLists.INACTIVE_FILE));
                assertArrayEquals(residency("1111111111111111"), mincore(cpu, BASE, PAGES), "cold pages stay resident");
                mm.check(true).assertOk();
                assertEquals(0, cpu.munmap(BASE, PAGES * PAGE));
                assertEquals(0, cpu.munmap(second, PAGE));
            }
            mm.close();
            reclaimer.close();
            assertEquals(idle, memory.framesInUse(), "no frame leaked");
        }
    }
}
