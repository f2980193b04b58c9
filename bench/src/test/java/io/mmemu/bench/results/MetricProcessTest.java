package io.mmemu.bench.results;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** A measuring process's metric lines become samples, across runs; a script's answer is its last line. */
class MetricProcessTest
{
    private static ProcessBuilder shell(final String script)
    {
        return new ProcessBuilder(List.of("/bin/sh", "-c", script));
    }

    @Test
    void everyMetricLineOfEveryRunIsASample()
    {
        final MetricProcess.Samples samples = new MetricProcess.Samples();
        assertEquals(0, MetricProcess.run(shell("echo hello; echo 'metric r.t1 1.5 ×'; echo 'metric n 7 ns'"), samples));
        assertEquals(3, MetricProcess.run(shell("echo 'metric r.t1 0.5 ×'; exit 3"), samples));
        final Map<String, Measurement> measured = samples.measurements();
        assertEquals(List.of("r.t1", "n"), List.copyOf(measured.keySet()));
        assertArrayEquals(new double[] {0.5, 1.5}, measured.get("r.t1").samples());
        assertEquals("×", measured.get("r.t1").unit());
        assertEquals(7, measured.get("n").median());
    }

    @Test
    void anAnswerIsTheLastLineOfASuccessfulRun()
    {
        assertEquals("/b:/c.jar", MetricProcess.answer(shell("echo building >&2; echo first; echo /b:/c.jar")));
        assertNull(MetricProcess.answer(shell("echo /b:/c.jar; exit 2")));
        assertNull(MetricProcess.answer(shell("true")));
    }
}
