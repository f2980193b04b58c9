package io.mmemu.bench.results;

/**
 * What a figure should reach, and where a measurement stands against it. Judged on the median;
 * when the median meets the target but the worst sample does not, the verdict says so.
 */
public record Target(Bound bound, double limit, String unit)
{
    public enum Bound
    {
        AT_MOST("≤"),
        AT_LEAST("≥");

        final String symbol;

        Bound(final String symbol)
        {
            this.symbol = symbol;
        }
    }

    public static Target atMost(final double limit, final String unit)
    {
        return new Target(Bound.AT_MOST, limit, unit);
    }

    public static Target atLeast(final double limit, final String unit)
    {
        return new Target(Bound.AT_LEAST, limit, unit);
    }

    /** {@code ≤ 25 ns/op}. */
    public String describe()
    {
        return bound.symbol + ' ' + Quantity.format(limit, unit);
    }

    public boolean met(final double value)
    {
        return bound == Bound.AT_MOST ? value <= limit : value >= limit;
    }

    /** The verdict for {@code m}: meets or misses, by how much, and whether the worst sample does too. */
    public String stand(final Measurement m)
    {
        if (!unit.equals(m.unit()))
        {
            throw new IllegalArgumentException("target in " + unit + " for a measurement in " + m.unit());
        }
        final double median = m.median();
        final double worst = bound == Bound.AT_MOST ? m.max() : m.min();
        if (!met(median))
        {
            return limit == 0 ? "**misses**" : String.format("**misses** by %.0f%%", 100 * Math.abs(median - limit) / limit);
        }
        final String margin = limit == 0 ? "meets" :
            bound == Bound.AT_MOST ?
                String.format("meets (%.0f%% of the budget)", 100 * median / limit) :
                String.format("meets (%.1f× the floor)", median / limit);
        return met(worst) ? margin : margin + "; worst sample does not";
    }
}
