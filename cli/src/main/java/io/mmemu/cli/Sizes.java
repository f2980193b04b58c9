package io.mmemu.cli;

import picocli.CommandLine.TypeConversionException;

/** Sizes and addresses as users write them: {@code 4096}, {@code 0x1000}, {@code 64K}, {@code 2G}, {@code 1T}. */
public final class Sizes
{
    private Sizes()
    {
    }

    public static Long parse(final String text)
    {
        final String s = text.trim();
        if (s.isEmpty())
        {
            throw new TypeConversionException("empty size");
        }
        try
        {
            if (s.startsWith("0x") || s.startsWith("0X"))
            {
                return Long.parseUnsignedLong(s.substring(2), 16);
            }
            final char unit = Character.toUpperCase(s.charAt(s.length() - 1));
            final int shift = switch (unit)
            {
                case 'K' -> 10;
                case 'M' -> 20;
                case 'G' -> 30;
                case 'T' -> 40;
                case 'P' -> 50;
                default -> 0;
            };
            final String digits = shift == 0 ? s : s.substring(0, s.length() - 1);
            final long value = Long.parseLong(digits);
            if (value < 0 || (shift > 0 && value > (Long.MAX_VALUE >> shift)))
            {
                throw new TypeConversionException("size out of range: " + text);
            }
            return value << shift;
        }
        catch (final NumberFormatException ex)
        {
            throw new TypeConversionException("not a size: '" + text + "' (use e.g. 4096, 0x1000, 64K, 2G, 1T)");
        }
    }

    /** 1073741824 → "1.0 GiB". */
    public static String human(final long bytes)
    {
        return io.mmemu.program.Quantities.bytes(bytes);
    }
}
