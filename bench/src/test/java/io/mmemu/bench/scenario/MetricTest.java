package io.mmemu.bench.scenario;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MetricTest
{
    @Test
    void aPrintedMetricParsesBack()
    {
        final PrintStream out = System.out;
        final ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try
        {
            new Metric("populate.rate", 19_537_412.5, "pages/s").print();
        }
        finally
        {
            System.setOut(out);
        }
        final Metric back = Metric.parse(captured.toString(StandardCharsets.UTF_8).strip());
        assertEquals("populate.rate", back.name());
        assertEquals("pages/s", back.unit());
        assertEquals(19_537_412.5, back.value(), 19_537_412.5 * 1e-5);
    }

    @Test
    void otherLinesAreNotMetrics()
    {
        assertNull(Metric.parse("populate         1024 GiB: 268435456 pages in 13.740 s"));
    }

    @Test
    void aMalformedMetricLineIsAnError()
    {
        assertThrows(IllegalArgumentException.class, () -> Metric.parse("metric populate.rate 12"));
    }
}
