package io.mmemu.vm;

import java.util.concurrent.atomic.AtomicLong;

import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Reclaim's rmap walk only tries the process's lock (mmap-lock mode: the mmap read lock), and a
 * writer that merely waits for the mmap lock — behind a fault that holds it for reading — does not
 * make that try fail: the walk excludes only a writer at work. Deferring to queued writers, a reclaim
 * of a busy process (faults holding the lock for reading, writers queueing between them) found
 * nearly every page busy, and a fault that needed a frame OOM-killed its process with swap to spare
 * (SwapRaceTest, mmap-lock mode, a few in 1,000 loops on a loaded machine).
 */
class ReclaimBesideWaitingWriterTest
{
    private static final long BASE = 0x100000000000L;
    private static final long PAGE = 4096;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void aWriterWaitingForTheMmapLockHoldsUpNoReclaim(final LockingMode locking) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20).attachSwap(SwapArea.inMemory(16L << 20)))
        {
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace mm = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final long pages = 48;
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, pages * PAGE, RW, ANON, -1, 0));
                for (long i = 0; i < pages; i++)
                {
                    assertEquals(Signal.NONE, cpu.writeLong(BASE + i * PAGE, i + 1));
                }
                cpu.offline();
                // as a fault of the process in progress
                mm.rangeLock().lockShared(cpu);
                final AtomicLong mapped = new AtomicLong();
                final Thread writer = new Thread(() ->
                {
                    try (Cpu w = mm.attachCpu())
                    {
                        mapped.set(w.mmap(BASE + 2 * pages * PAGE, PAGE, RW, ANON, -1, 0));
                    }
                });
                final AtomicLong taken = new AtomicLong(-1);
                final Thread reclaim = new Thread(() -> taken.set(machine.reclaimer().reclaim(pages)));
                try
                {
                    writer.start();
                    while (writer.getState() != Thread.State.WAITING)
                    {
                        // until it waits for the mmap lock, queued behind the read hold
                        Thread.onSpinWait();
                    }
                    reclaim.start();
                    reclaim.join();
                }
                finally
                {
                    mm.rangeLock().unlockShared();
                }
                writer.join();
                assertEquals(pages, taken.get(), "every page taken while the writer waited");
                assertEquals(BASE + 2 * pages * PAGE, mapped.get());
                for (long i = 0; i < pages; i++)
                {
                    assertEquals(Signal.NONE, cpu.readLong(BASE + i * PAGE));
                    assertEquals(i + 1, cpu.value());
                }
                cpu.offline();
                mm.check(true).assertOk();
            }
            mm.close();
            machine.reclaimer().close();
        }
    }
}
