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
    /**
     * How disturbed the measurement looks: the largest relative spread among the rows with a
     * target, or among all rows when none has one.
     */
    public double disturbance()
    {
        final boolean anyTarget = rows.stream().anyMatch(row -> row.target() != null);
        double spread = 0;
        for (final Row row : rows)
        {
            if (!anyTarget || row.target() != null)
            {
                spread = Math.max(spread, row.spread());
            }
        }
        return spread;
    }

    /** Whether every run succeeded and every row has a value. */
    public boolean complete()
    {
        return problems.isEmpty() && rows.stream().allMatch(row -> row.value() != null);
    }
}
