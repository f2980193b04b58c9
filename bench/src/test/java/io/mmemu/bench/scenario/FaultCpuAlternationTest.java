package io.mmemu.bench.scenario;

import java.lang.reflect.Method;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The alternation loads each build apart from this one and from the other, and gives every pair
 * a cost per fault for both.
 */
class FaultCpuAlternationTest
{
    private static final String CLASS_PATH = System.getProperty("java.class.path");

    @Test
    void eachBuildRunsInALoaderOfItsOwn() throws Exception
    {
        final Method base = FaultCpuAlternation.measureIn(CLASS_PATH);
        final Method other = FaultCpuAlternation.measureIn(CLASS_PATH);
        assertNotSame(FaultCpuTimeScenario.class, base.getDeclaringClass(), "not this JVM's own copy");
        assertNotSame(base.getDeclaringClass(), other.getDeclaringClass(), "not each other's");
        assertSame(ClassLoader.getPlatformClassLoader(), base.getDeclaringClass().getClassLoader().getParent());
    }

    @Test
    void everyPairHasBothCosts() throws Exception
    {
        final double[][] figures = FaultCpuAlternation.compare(2, 1, new String[] {CLASS_PATH, CLASS_PATH}, 2, 3, 1L << 20);
        for (final double[] pair : figures)
        {
            assertTrue(pair[0] > 0 && Double.isFinite(pair[0]) && pair[1] > 0 && Double.isFinite(pair[1]),
                pair[0] + " and " + pair[1] + " ns per fault");
        }
    }
}
