package io.mmemu.bench.results;

/**
 * One line of a figure's table: a labelled measurement, its target if it has one (rows without
 * are context), and a free note (JMH's allocation figure, a derived rate).
 *
 * @param value {@code null} when the run produced no result for this row.
 */
public record Row(String label, Measurement value, Target target, String note)
{
    public String stand()
    {
        if (value == null)
        {
            return "**no result** (see the run's log)";
        }
        return target == null ? "context" : target.stand(value);
    }

    /** Relative spread of the value, or 0 when there is none. */
    double spread()
    {
        return value == null ? 0 : value.relativeSpread();
    }
}
