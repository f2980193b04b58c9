package io.mmemu.program;

import java.util.Locale;

/** Quantities as people read them: {@code 1.0 GiB}, {@code 15.2 µs}, {@code 5.21 M}. */
public final class Quantities
{
    private static final String[] BYTE_UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private Quantities()
    {
    }

    /** 1073741824 → "1.0 GiB"; below 1 KiB exact ("512 B"). */
    public static String bytes(final long bytes)
    {
        double v = bytes;
        int u = 0;
        while (Math.abs(v) >= 1024 && u < BYTE_UNITS.length - 1)
        {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", v, BYTE_UNITS[u]);
    }

    /** 15200 → "15.2 µs"; below 1 µs exact ("850 ns"). */
    public static String nanos(final long nanos)
    {
        if (nanos < 1_000)
        {
            return nanos + " ns";
        }
        if (nanos < 1_000_000)
        {
            return String.format(Locale.ROOT, "%.1f µs", nanos / 1e3);
        }
        if (nanos < 1_000_000_000)
        {
            return String.format(Locale.ROOT, "%.1f ms", nanos / 1e6);
        }
        return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
    }

    /** A rate or a large count: 5210000 → "5.21 M"; below 10000 as it is. */
    public static String count(final double value)
    {
        if (value < 10_000)
        {
            return value == Math.rint(value) ? Long.toString((long)value) : String.format(Locale.ROOT, "%.1f", value);
        }
        if (value < 1_000_000)
        {
            return String.format(Locale.ROOT, "%.1f k", value / 1e3);
        }
        if (value < 1_000_000_000)
        {
            return String.format(Locale.ROOT, "%.2f M", value / 1e6);
        }
        return String.format(Locale.ROOT, "%.2f G", value / 1e9);
    }
}
