package io.mmemu.inspect;

/** Small helpers for writing SVG and HTML text: escaping, sizes, numbers. */
final class Svg
{
    private Svg()
    {
    }

    /** Escapes text for HTML/SVG content and attribute values. */
    static String escape(final String text)
    {
        final StringBuilder sb = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++)
        {
            final char c = text.charAt(i);
            switch (c)
            {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c < 0x20 && c != '\n' && c != '\t' ? '?' : c);
            }
        }
        return sb.toString();
    }

    /** 4096 → "4K", 2097152 → "2M", 3072 → "3K", 1536 → "1536B" (exact, like ptdump's units). */
    static String size(final long bytes)
    {
        final String units = "BKMGTPE";
        long v = bytes;
        int u = 0;
        while (v != 0 && (v & 1023) == 0 && u < units.length() - 1)
        {
            v >>>= 10;
            u++;
        }
        return v + (u == 0 ? "B" : String.valueOf(units.charAt(u)));
    }

    /** A decimal with at most one fractional digit, no locale surprises. */
    static String number(final double value)
    {
        final long tenths = Math.round(value * 10);
        return tenths % 10 == 0 ? Long.toString(tenths / 10) : (tenths / 10) + "." + Math.abs(tenths % 10);
    }

    /** Nanoseconds as "850ns", "12.5us", "3.2ms", "1.5s". */
    static String nanos(final long ns)
    {
        if (ns < 1_000)
        {
            return ns + "ns";
        }
        if (ns < 1_000_000)
        {
            return number(ns / 1e3) + "us";
        }
        if (ns < 1_000_000_000)
        {
            return number(ns / 1e6) + "ms";
        }
        return number(ns / 1e9) + "s";
    }
}
