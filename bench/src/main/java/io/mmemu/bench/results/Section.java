package io.mmemu.bench.results;

import java.util.List;

/**
 * A figure as measured for the page: the outcome kept, when and on what it was measured, and the
 * medians of attempts set aside because they looked disturbed.
 *
 * @param loadAverage the machine's 1-minute load average when the kept attempt began.
 * @param setAside    one line per discarded attempt: its spread and medians.
 */
public record Section(Figure figure, Outcome outcome, String measuredAt, String loadAverage, Machine machine,
    int attempt, List<String> setAside)
{
}
