package io.mmemu.vm;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_POPULATE;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A CPU in the middle of a long range operation answers other CPUs' shootdowns between page
 * tables, as a kernel takes a pending IPI: a shootdown waits for one table's worth of that work,
 * not for the whole munmap. Deterministic: the zap is held inside its second table until the
 * shootdown posted during its first has been answered (or a generous bound passes, a failure).
 */
final class ShootdownInterruptTest
{
    private static final long BASE = 0x200000000000L;
    /** Four page tables. */
    private static final long SIZE = 8L << 20;

    @Test
    void aShootdownIsAnsweredWhileItsTargetIsStillZapping() throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20);
             AddressSpace mm = AddressSpace.create(memory))
        {
            final Cpu zapper = mm.attachCpu();
            final Cpu other = mm.attachCpu();
            assertEquals(BASE, zapper.mmap(BASE, SIZE, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0));
            // populated through the zapper's TLB: a shootdown of the range must reach it
            final CountDownLatch answered = new CountDownLatch(1);
            final Thread initiator = new Thread(() ->
            {
                other.shootdown(BASE, BASE + 4096);
                answered.countDown();
            });
            final int[] tables = new int[1];
            final boolean[] posted = new boolean[1];
            final boolean[] answeredInside = new boolean[1];
            zapper.editor.recordHoldsTo(nanos ->
            {
                tables[0]++;
                if (tables[0] == 1)
                {
                    initiator.start();
                    final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (!zapper.flushPending() && System.nanoTime() < deadline)
                    {
                        Thread.onSpinWait();
                    }
                    posted[0] = zapper.flushPending();
                }
                else if (tables[0] == 2)
                {
                    try
                    {
                        answeredInside[0] = answered.await(10, TimeUnit.SECONDS);
                    }
                    catch (final InterruptedException ex)
                    {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            assertEquals(0, zapper.munmap(BASE, SIZE));
            // without the fix the initiator still waits here: answer it, so it ends either way
            zapper.pollWhileWaiting();
            initiator.join();
            assertTrue(posted[0], "the shootdown targeted the zapping CPU");
            assertTrue(answeredInside[0], "answered before the zap's second table, not after the munmap");
            assertEquals(4, tables[0]);
            zapper.close();
            other.close();
            mm.check(true).assertOk();
        }
    }
}
