package io.mmemu.bench.results;

import java.util.Arrays;

/**
 * The samples of one measured quantity (JMH iterations, or scenario runs) and their summary:
 * median, which a noisy shared machine disturbs least, and the spread from min to max.
 */
public record Measurement(String unit, double[] samples)
{
    public Measurement
    {
        if (samples.length == 0)
        {
            throw new IllegalArgumentException("a measurement needs at least one sample");
        }
        samples = samples.clone();
        Arrays.sort(samples);
    }

    public int count()
    {
        return samples.length;
    }

    public double median()
    {
        final int n = samples.length;
        return (n & 1) == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
    }

    public double min()
    {
        return samples[0];
    }

    public double max()
    {
        return samples[samples.length - 1];
    }

    /** (max - min) / median: 0 for a steady figure; how disturbed a run was. */
    public double relativeSpread()
    {
        final double median = median();
        return median == 0 ? (max() == min() ? 0 : Double.POSITIVE_INFINITY) : (max() - min()) / Math.abs(median);
    }
}
