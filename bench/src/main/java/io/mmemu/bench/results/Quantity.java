package io.mmemu.bench.results;

import java.util.Locale;

/** Renders a value in its unit the way a reader takes it in: 2.11 GiB, 20.1 M pages/s, 10.7 ns/op. */
final class Quantity
{
    private static final double KIB = 1024;

    /** A unit as shown: values are divided by {@code divisor} and followed by {@code label}. */
    private record Scale(double divisor, String label)
    {
    }

    private Quantity()
    {
    }

    static String format(final double value, final String unit)
    {
        final Scale scale = scale(Math.abs(value), unit);
        return number(value / scale.divisor()) + ' ' + scale.label();
    }

    /** {@code 10.9 – 17.7 ns/op}: both ends in the scale of the larger. */
    static String range(final double from, final double to, final String unit)
    {
        final Scale scale = scale(Math.max(Math.abs(from), Math.abs(to)), unit);
        return number(from / scale.divisor()) + " – " + number(to / scale.divisor()) + ' ' + scale.label();
    }

    /** Seconds per op of a JMH average-time unit ({@code ns/op} … {@code s/op}), or NaN for another unit. */
    static double secondsPerOp(final double value, final String unit)
    {
        return switch (unit)
        {
            case "ns/op" -> value * 1e-9;
            case "us/op" -> value * 1e-6;
            case "ms/op" -> value * 1e-3;
            case "s/op" -> value;
            default -> Double.NaN;
        };
    }

    /** Whole numbers as they are; else three significant digits, without exponents for everyday magnitudes. */
    static String number(final double value)
    {
        final double magnitude = Math.abs(value);
        if (value == Math.rint(value) && magnitude < 1e15)
        {
            return String.format(Locale.ROOT, "%,.0f", value);
        }
        if (magnitude >= 100)
        {
            return String.format(Locale.ROOT, "%,.0f", value);
        }
        if (magnitude >= 0.001)
        {
            // %g rounds to three significant digits first, so 9.995 becomes 10.0, not 10.00
            return String.format(Locale.ROOT, "%.3g", value);
        }
        return String.format(Locale.ROOT, "%.1e", value);
    }

    private static Scale scale(final double magnitude, final String unit)
    {
        return switch (unit)
        {
            case "B" -> magnitude >= KIB * KIB * KIB ? new Scale(KIB * KIB * KIB, "GiB") :
                magnitude >= KIB * KIB ? new Scale(KIB * KIB, "MiB") :
                magnitude >= KIB ? new Scale(KIB, "KiB") : new Scale(1, "B");
            case "pages/s" -> new Scale(1e6, "M pages/s");
            case "ns" -> magnitude >= 1e9 ? new Scale(1e9, "s") : magnitude >= 1e6 ? new Scale(1e6, "ms") :
                magnitude >= 1e3 ? new Scale(1e3, "µs") : new Scale(1, "ns");
            default -> !unit.endsWith("/s") ? new Scale(1, unit) :
                magnitude >= 1e6 ? new Scale(1e6, "M " + unit) :
                magnitude >= 1e3 ? new Scale(1e3, "K " + unit) : new Scale(1, unit);
        };
    }
}
