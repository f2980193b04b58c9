package io.mmemu.bench.results;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class QuantityTest
{
    @Test
    void bytesTakeTheLargestBinaryUnitBelowThem()
    {
        assertEquals("512 B", Quantity.format(512, "B"));
        assertEquals("1.50 KiB", Quantity.format(1536, "B"));
        assertEquals("2.11 GiB", Quantity.format(2.11 * (1L << 30), "B"));
    }

    @Test
    void threeSignificantDigitsAfterRounding()
    {
        assertEquals("10.0 ns/op", Quantity.format(9.996, "ns/op"));
        assertEquals("9.40 ns/op", Quantity.format(9.4, "ns/op"));
        assertEquals("0.0500 B/op", Quantity.format(0.05, "B/op"));
        assertEquals("1.2e-04 B/op", Quantity.format(1.2e-4, "B/op"));
        assertEquals("1,234 ms/op", Quantity.format(1234.4, "ms/op"));
    }

    @Test
    void nanosecondsTakeTheLargestTimeUnitBelowThem()
    {
        assertEquals("141 ns", Quantity.format(141, "ns"));
        assertEquals("1.06 µs", Quantity.format(1_060, "ns"));
        assertEquals("417 ms", Quantity.format(417e6, "ns"));
        assertEquals("1.81 s", Quantity.format(1.812e9, "ns"));
    }

    @Test
    void ratesAreInMillionsOfPages()
    {
        assertEquals("20.1 M pages/s", Quantity.format(20.1e6, "pages/s"));
    }

    @Test
    void aRangeIsShownInTheScaleOfItsLargerEnd()
    {
        assertEquals("0.500 – 2 GiB", Quantity.range(512L << 20, 2L << 30, "B"));
        assertEquals("10.9 – 17.7 ns/op", Quantity.range(10.9, 17.7, "ns/op"));
    }

    @Test
    void jmhTimeUnitsConvertToSeconds()
    {
        assertEquals(5e-3, Quantity.secondsPerOp(5, "ms/op"), 1e-15);
        assertEquals(5e-9, Quantity.secondsPerOp(5, "ns/op"), 1e-20);
        assertEquals(Double.NaN, Quantity.secondsPerOp(5, "ops/s"));
    }
}
