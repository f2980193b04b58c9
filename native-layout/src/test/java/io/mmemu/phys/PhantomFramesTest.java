package io.mmemu.phys;

import java.lang.foreign.Arena;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tables-only data frames: a bitmap, claimed a word at a time, freed a bit at a time. */
final class PhantomFramesTest
{
    /** 200 frames from PFN 1000: three full words and a tail word of 8. */
    private static final long FIRST = 1000;
    private static final long FRAMES = 200;

    private final Arena arena = Arena.ofShared();

    @AfterEach
    void close()
    {
        arena.close();
    }

    private PhantomFrames phantom(final long first, final long frames)
    {
        return new PhantomFrames(NativeMemory.reserve(PhantomFrames.bitmapBytes(frames), arena), first, frames);
    }

    @Test
    void claimsEveryFrameOnceThenReportsExhaustion()
    {
        final PhantomFrames phantom = phantom(FIRST, FRAMES);
        final long[] out = new long[64];
        final BitSet seen = new BitSet();
        final int[] sizes = new int[4];
        for (int i = 0; i < 4; i++)
        {
            sizes[i] = phantom.claim(out, 0);
            for (int j = 0; j < sizes[i]; j++)
            {
                assertTrue(phantom.contains(out[j]), "claimed " + out[j]);
                assertTrue(phantom.isClaimed(out[j]));
                assertFalse(seen.get((int)(out[j] - FIRST)), "claimed twice: " + out[j]);
                seen.set((int)(out[j] - FIRST));
            }
        }
        assertEquals(64 + 64 + 64 + 8, sizes[0] + sizes[1] + sizes[2] + sizes[3]);
        assertEquals(8, Math.min(Math.min(sizes[0], sizes[1]), Math.min(sizes[2], sizes[3])), "the tail word has 8");
        assertEquals(FRAMES, seen.cardinality());
        assertEquals(FRAMES, phantom.claimed());
        assertEquals(0, phantom.claim(out, 0), "exhausted: a status, not an exception");
        assertFalse(phantom.contains(FIRST - 1));
        assertFalse(phantom.contains(FIRST + FRAMES));
    }

    @Test
    void freedFramesAreClaimedAgainAndDoubleFreesAreCaught()
    {
        final PhantomFrames phantom = phantom(FIRST, FRAMES);
        final long[] out = new long[64];
        while (phantom.claim(out, 0) > 0)
        {
            // claim everything
        }
        phantom.free(FIRST + 70);
        phantom.freeBatch(new long[] {FIRST + 5, FIRST + 199}, 0, 2);
        assertEquals(FRAMES - 3, phantom.claimed());
        assertFalse(phantom.isClaimed(FIRST + 70));

        final IllegalStateException single = assertThrows(IllegalStateException.class, () -> phantom.free(FIRST + 70));
        assertTrue(single.getMessage().contains("double free of phantom frame " + (FIRST + 70)), single.getMessage());
        assertThrows(IllegalStateException.class, () -> phantom.freeBatch(new long[] {FIRST + 199}, 0, 1));

        final BitSet again = new BitSet();
        int n;
        while ((n = phantom.claim(out, 0)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                again.set((int)(out[i] - FIRST));
            }
        }
        assertEquals("{5, 70, 199}", again.toString());
        assertEquals(FRAMES, phantom.claimed());
    }

    @Test
    void claimWritesAfterTheGivenOffset()
    {
        final PhantomFrames phantom = phantom(FIRST, 64);
        final long[] out = new long[70];
        assertEquals(64, phantom.claim(out, 6));
        assertEquals(0, out[5]);
        assertEquals(FIRST, out[6]);
        assertEquals(FIRST + 63, out[69]);
    }

    /**
     * Threads claim and free concurrently; an owner array (CAS from free to the claimer) proves no
     * frame is ever held by two threads at once, and all come back at the end.
     */
    @Test
    void concurrentClaimsNeverHandOutAFrameTwice() throws InterruptedException
    {
        final PhantomFrames phantom = phantom(FIRST, 1024);
        final AtomicIntegerArray owner = new AtomicIntegerArray(1024);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++)
        {
            final int id = t + 1;
            threads[t] = new Thread(() ->
            {
                final long[] out = new long[64];
                try
                {
                    for (int round = 0; round < 20_000; round++)
                    {
                        final int n = phantom.claim(out, 0);
                        for (int i = 0; i < n; i++)
                        {
                            if (!owner.compareAndSet((int)(out[i] - FIRST), 0, id))
                            {
                                throw new AssertionError("frame " + out[i] + " already held by " + owner.get((int)(out[i] - FIRST)));
                            }
                        }
                        for (int i = 0; i < n; i++)
                        {
                            owner.set((int)(out[i] - FIRST), 0);
                        }
                        phantom.freeBatch(out, 0, n);
                    }
                }
                catch (final Throwable ex)
                {
                    failure.compareAndSet(null, ex);
                }
            });
            threads[t].start();
        }
        for (final Thread thread : threads)
        {
            thread.join();
        }
        assertNull(failure.get());
        assertEquals(0, phantom.claimed());
        for (long pfn = FIRST; pfn < FIRST + 1024; pfn++)
        {
            assertFalse(phantom.isClaimed(pfn));
        }
    }
}
