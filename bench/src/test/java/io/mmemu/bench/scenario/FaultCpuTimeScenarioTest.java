package io.mmemu.bench.scenario;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CPU-time figure of page_fault1 is a cost per fault: positive, finite, one per repetition. */
class FaultCpuTimeScenarioTest
{
    @Test
    void everyRepetitionHasACostPerFault() throws InterruptedException
    {
        final double[] ns = FaultCpuTimeScenario.measure(2, 2, 3, 1L << 20);
        assertEquals(3, ns.length);
        for (final double n : ns)
        {
            assertTrue(n > 0 && Double.isFinite(n), "ns per fault " + n);
        }
    }
}
