package io.mmemu.bench.results;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TargetTest
{
    private static Measurement ns(final double... samples)
    {
        return new Measurement("ns/op", samples);
    }

    @Test
    void anUpperBoundMetByTheMedianAndEverySample()
    {
        assertEquals("meets (40% of the budget)", Target.atMost(25, "ns/op").stand(ns(9, 10, 11)));
    }

    @Test
    void anUpperBoundMetByTheMedianButNotTheWorstSample()
    {
        assertEquals("meets (80% of the budget); worst sample does not",
            Target.atMost(25, "ns/op").stand(ns(19, 20, 40)));
    }

    @Test
    void anUpperBoundMissedSaysByHowMuch()
    {
        assertEquals("**misses** by 20%", Target.atMost(25, "ns/op").stand(ns(30, 30, 30)));
    }

    @Test
    void aLowerBoundIsJudgedFromBelow()
    {
        final Target floor = Target.atLeast(10e6, "pages/s");
        assertEquals("meets (2.0× the floor)", floor.stand(new Measurement("pages/s", new double[] {20e6})));
        assertEquals("**misses** by 50%", floor.stand(new Measurement("pages/s", new double[] {5e6})));
    }

    @Test
    void aZeroTargetHasNoPercentages()
    {
        final Target none = Target.atMost(0, "B/op");
        assertEquals("meets", none.stand(new Measurement("B/op", new double[] {0})));
        assertEquals("**misses**", none.stand(new Measurement("B/op", new double[] {16})));
    }

    @Test
    void aTargetInAnotherUnitIsRefused()
    {
        assertThrows(IllegalArgumentException.class, () -> Target.atMost(25, "ns/op").stand(
            new Measurement("us/op", new double[] {1})));
    }

    @Test
    void describedWithItsBound()
    {
        assertEquals("≤ 25 ns/op", Target.atMost(25, "ns/op").describe());
        assertEquals("≥ 10 M pages/s", Target.atLeast(10e6, "pages/s").describe());
        assertEquals("≤ 3 GiB", Target.atMost(3L << 30, "B").describe());
    }
}
