package io.mmemu.bench.scenario;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The allocation count sees an allocation that escapes, and none where there is none. */
class AllocationScenarioTest
{
    private static final int CALLS = 10_000;
    private static Object escape;

    @Test
    void anEscapingArrayPerCallIsCounted()
    {
        final long bytes = AllocationScenario.allocatedBy(() ->
        {
            long sum = 0;
            for (int i = 0; i < CALLS; i++)
            {
                final long[] array = new long[4];
                array[0] = i;
                escape = array;
                sum += array.length;
            }
            return sum;
        });
        assertTrue(bytes >= CALLS * 32L, "at least 32 B per long[4], counted " + bytes);
    }

    @Test
    void arithmeticAllocatesNothing()
    {
        assertEquals(0, AllocationScenario.allocatedBy(() ->
        {
            long sum = 0;
            for (int i = 0; i < CALLS; i++)
            {
                sum += (long)i * i;
            }
            return sum;
        }));
    }
}
