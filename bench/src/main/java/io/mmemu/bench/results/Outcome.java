package io.mmemu.bench.results;

import java.util.List;

/**
 * One measurement of a {@link Figure}.
 *
 * @param commands the commands that produced it, as a shell takes them.
 * @param method   how they were run (iterations, runs), in words.
 * @param problems what went wrong (a failed run, JMH refusing its options); empty when all went well.
 */
public record Outcome(List<String> commands, String method, List<Row> rows, List<String> problems)
{
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
