package io.mmemu.bench.scenario;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The alternation gets a cost per fault from each build's JVM for every pair, and a build whose JVM
 * cannot measure is an error that names it, not a hang.
 */
class FaultCpuAlternationTest
{
    private static final String CLASS_PATH = System.getProperty("java.class.path");

    @Test
    void everyPairHasBothCosts() throws Exception
    {
        final double[][] figures = FaultCpuAlternation.compare(2, 1, new String[] {CLASS_PATH, CLASS_PATH}, 2, 3, 1);
        for (final double[] pair : figures)
        {
            assertTrue(pair[0] > 0 && Double.isFinite(pair[0]) && pair[1] > 0 && Double.isFinite(pair[1]),
                pair[0] + " and " + pair[1] + " ns per fault");
        }
    }

    @Test
    void aBuildThatCannotMeasureIsNamed()
    {
        final String missing = "/nonexistent/benchmarks.jar";
        final IllegalStateException failure = assertThrows(IllegalStateException.class,
            () -> FaultCpuAlternation.compare(1, 1, new String[] {CLASS_PATH, missing}, 2, 3, 1));
        assertTrue(failure.getMessage().contains(missing), failure.getMessage());
    }
}
