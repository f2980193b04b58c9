package io.mmemu.phys;

import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Threads allocate and free bursts of frames through their own caches in a memory too small for
 * all of them, so allocations keep running the buddy allocator dry and draining the other
 * threads' reserves while those threads spill into and refill from them (in 128 MiB, refills
 * take whole 2 MiB blocks into the reserves). No frame may be handed out twice, and after every
 * cache is retired every frame is free again.
 */
final class FrameReserveConcurrentTest
{
    private static final int THREADS = 4;

    @ParameterizedTest(name = "{0} MiB, bursts of up to {1}")
    @CsvSource({
        // 4,095 free frames, reserves of up to 64 per cache (batches only); 4 bursts of up to 1,500 exhaust it
        "16, 1500, 3000",
        // 32,767 free frames, reserves of up to 512: refills take 2 MiB blocks; two bursts of up to 30,000 exhaust it
        "128, 30000, 100"})
    void burstsThroughReservesNeverDuplicateOrLoseAFrame(final long mebibytes, final int maxBurst, final int rounds)
        throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(mebibytes << 20))
        {
            final long initial = memory.buddy().freeFrames();
            final AtomicIntegerArray owner = new AtomicIntegerArray((int)memory.totalFrames());
            final AtomicLong duplicates = new AtomicLong();
            final AtomicLong exhausted = new AtomicLong();
            final CyclicBarrier start = new CyclicBarrier(THREADS);
            final Thread[] threads = new Thread[THREADS];
            final Throwable[] failure = new Throwable[1];
            for (int t = 0; t < THREADS; t++)
            {
                final int id = t + 1;
                threads[t] = new Thread(() ->
                {
                    final FrameCache cache = memory.newCache();
                    final SplittableRandom random = new SplittableRandom(id);
                    final long[] burst = new long[maxBurst];
                    try
                    {
                        start.await();
                        for (int round = 0; round < rounds; round++)
                        {
                            final int want = 1 + random.nextInt(maxBurst);
                            int n = 0;
                            while (n < want)
                            {
                                final long pfn = memory.allocateData(cache);
                                if (pfn == NO_FRAME)
                                {
                                    exhausted.incrementAndGet();
                                    break;
                                }
                                if (!owner.compareAndSet((int)pfn, 0, id))
                                {
                                    duplicates.incrementAndGet();
                                }
                                burst[n++] = pfn;
                            }
                            for (int i = 0; i < n; i++)
                            {
                                owner.set((int)burst[i], 0);
                                memory.unmapData(burst[i]);
                                memory.releaseData(cache, burst[i], true);
                            }
                        }
                    }
                    catch (final Throwable ex)
                    {
                        failure[0] = ex;
                    }
                    finally
                    {
                        memory.retireCache(cache);
                    }
                });
                threads[t].start();
            }
            for (final Thread thread : threads)
            {
                thread.join();
            }
            assertEquals(null, failure[0]);
            assertEquals(0, duplicates.get(), "a frame was handed to two holders at once");
            assertTrue(exhausted.get() > 0, "the memory never ran dry: the drain path was not exercised");
            assertEquals(initial, memory.buddy().freeFrames(), "every frame is back in the buddy allocator");
            assertEquals(1, memory.framesInUse(), "only the zero page is in use");
        }
    }
}
