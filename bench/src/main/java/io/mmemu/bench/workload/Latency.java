package io.mmemu.bench.workload;

import org.HdrHistogram.Histogram;

/** Percentiles of a set of fault latencies, in ns, as both sides report them. */
public record Latency(long p50, long p99, long p999, long max, long count)
{
    public static final Latency NONE = new Latency(0, 0, 0, 0, 0);

    public static Latency of(final Histogram h)
    {
        if (h.getTotalCount() == 0)
        {
            return NONE;
        }
        return new Latency(h.getValueAtPercentile(50), h.getValueAtPercentile(99), h.getValueAtPercentile(99.9),
            h.getMaxValue(), h.getTotalCount());
    }

    @Override
    public String toString()
    {
        return String.format("p50 %,d ns  p99 %,d ns  p99.9 %,d ns  max %,d ns  (%,d faults)", p50, p99, p999, max, count);
    }
}
