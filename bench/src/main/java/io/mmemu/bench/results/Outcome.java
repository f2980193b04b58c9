package io.mmemu.bench.results;

import java.util.List;
import java.util.Map;

/**
 * One measurement of a {@link Figure}.
 *
 * @param commands the commands that produced it, as a shell takes them.
 * @param method   how they were run (iterations, runs), in words.
 * @param problems what went wrong (a failed run, JMH refusing its options); empty when all went well.
 * @param metrics  every value the runs printed, by metric name, whether or not a row shows it: the
 *                 plots draw from these (a scenario's metrics; empty for a JMH figure).
 */
public record Outcome(List<String> commands, String method, List<Row> rows, List<String> problems,
    Map<String, Measurement> metrics)
{
    public Outcome
    {
        metrics = Map.copyOf(metrics);
    }

    /** The rows that judge the figure: those with a target, or every row when none has one. */
    public List<Row> decisiveRows()
    {
        final List<Row> targeted = rows.stream().filter(row -> row.target() != null).toList();
        return targeted.isEmpty() ? rows : targeted;
    }

    /** How disturbed the measurement looks: the largest relative spread among the decisive rows. */
    public double disturbance()
    {
        double spread = 0;
        for (final Row row : decisiveRows())
        {
            spread = Math.max(spread, row.spread());
        }
        return spread;
    }

    /** Whether every run succeeded and every row has a value. */
    public boolean complete()
    {
        return problems.isEmpty() && rows.stream().allMatch(row -> row.value() != null);
    }
}
