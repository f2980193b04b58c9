package io.mmemu.bench.results;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MeasurementTest
{
    @Test
    void medianOfAnOddCountIsTheMiddleSample()
    {
        final Measurement m = new Measurement("ns/op", new double[] {30, 10, 20, 50, 40});
        assertEquals(30, m.median());
        assertEquals(10, m.min());
        assertEquals(50, m.max());
        assertEquals(5, m.count());
    }

    @Test
    void medianOfAnEvenCountIsTheMeanOfTheMiddlePair()
    {
        assertEquals(25, new Measurement("ns/op", new double[] {40, 10, 30, 20}).median());
    }

    @Test
    void spreadIsTheRangeOverTheMedian()
    {
        assertEquals(0.5, new Measurement("ns/op", new double[] {15, 20, 25}).relativeSpread(), 1e-12);
        assertEquals(0, new Measurement("B/op", new double[] {0, 0}).relativeSpread());
    }

    @Test
    void theCallersArrayIsNotReordered()
    {
        final double[] samples = {3, 1, 2};
        new Measurement("ns/op", samples);
        assertEquals(3, samples[0]);
    }

    @Test
    void aMeasurementNeedsASample()
    {
        assertThrows(IllegalArgumentException.class, () -> new Measurement("ns/op", new double[0]));
    }
}
