package io.mmemu.bench.scenario;

import org.junit.jupiter.api.Test;

import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU-time figure of page_fault1 is a cost per fault: positive, finite, one per repetition; and
 * the way it backs an older build's memory (which has no prefault) does back it.
 */
class FaultCpuTimeScenarioTest
{
    @Test
    void everyRepetitionHasACostPerFault() throws Exception
    {
        final double[] ns = FaultCpuTimeScenario.measure(2, 2, 3, 1L << 20);
        assertEquals(3, ns.length);
        for (final double n : ns)
        {
            assertTrue(n > 0 && Double.isFinite(n), "ns per fault " + n);
        }
    }

    @Test
    void touchingTheSegmentsBacksTheEmulatedMemory() throws Exception
    {
        final long size = 256L << 20;
        try (PhysicalMemory memory = PhysicalMemory.create(size, Backing.FULL))
        {
            final long before = ProcStatus.residentBytes();
            // a load alone would map the host's shared zero page, which the resident set does not count
            FaultCpuTimeScenario.touchSegments(memory);
            final long grown = ProcStatus.residentBytes() - before;
            assertTrue(grown >= size * 9 / 10, "resident set grew by " + grown + " bytes for " + size + " of frames");
        }
    }
}
