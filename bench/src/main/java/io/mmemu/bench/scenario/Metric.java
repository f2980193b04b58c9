package io.mmemu.bench.scenario;

import java.util.Locale;

/**
 * One measured value a scenario reports, and the line format that carries it to the results page:
 * {@code metric NAME VALUE UNIT} on standard output, among the scenario's human-readable lines.
 */
public record Metric(String name, double value, String unit)
{
    private static final String PREFIX = "metric ";

    /** Prints this metric as one line on standard output. */
    public void print()
    {
        System.out.println(PREFIX + name + ' ' + String.format(Locale.ROOT, "%.6g", value) + ' ' + unit);
    }

    /** The metric on {@code line}, or {@code null} when the line is not a metric line. */
    public static Metric parse(final String line)
    {
        if (!line.startsWith(PREFIX))
        {
            return null;
        }
        final String[] parts = line.substring(PREFIX.length()).trim().split(" ");
        if (parts.length != 3)
        {
            throw new IllegalArgumentException("malformed metric line: " + line);
        }
        return new Metric(parts[0], Double.parseDouble(parts[1]), parts[2]);
    }
}
