package io.mmemu.vm;

/**
 * The overcommit sysctls of the emulated kernel: {@code vm.overcommit_memory},
 * {@code vm.overcommit_ratio} and {@code vm.overcommit_kbytes} (Documentation/mm/overcommit-accounting.rst).
 * As the kernel's handlers do, setting kbytes clears ratio and the other way round: exactly one of
 * them is non-zero unless both are zero (a commit limit of swap alone).
 *
 * @param mode   {@link #GUESS} (0, the heuristic), {@link #ALWAYS} (1) or {@link #NEVER} (2, strict)
 * @param ratio  percentage of RAM that strict mode allows (used when kbytes is 0)
 * @param kbytes RAM that strict mode allows, KiB (0: use ratio)
 */
public record Overcommit(int mode, int ratio, long kbytes)
{
    /** OVERCOMMIT_GUESS: refuse only a single request larger than RAM plus swap. */
    public static final int GUESS = 0;
    /** OVERCOMMIT_ALWAYS: never refuse. */
    public static final int ALWAYS = 1;
    /** OVERCOMMIT_NEVER: refuse when the commitment would reach the commit limit. */
    public static final int NEVER = 2;
    /** sysctl_overcommit_ratio's default. */
    public static final int DEFAULT_RATIO = 50;

    /** Linux's defaults: heuristic, ratio 50, kbytes 0. */
    public static final Overcommit DEFAULT = new Overcommit(GUESS, DEFAULT_RATIO, 0);

    public Overcommit
    {
        if (mode < GUESS || mode > NEVER)
        {
            throw new IllegalArgumentException("overcommit mode must be 0, 1 or 2 (guess, always, never): " + mode);
        }
        if (ratio < 0)
        {
            throw new IllegalArgumentException("overcommit ratio must not be negative: " + ratio);
        }
        if (kbytes < 0)
        {
            throw new IllegalArgumentException("overcommit kbytes must not be negative: " + kbytes);
        }
        if (ratio != 0 && kbytes != 0)
        {
            throw new IllegalArgumentException("overcommit takes ratio or kbytes, not both");
        }
    }

    /**
     * Parses {@code MODE[,ratio=N|,kbytes=N]} as {@code --overcommit} and {@code option overcommit}
     * write it: MODE is 0, 1, 2 or guess, always, never; ratio a percentage, kbytes KiB. As the
     * sysctl handlers do, writing kbytes (even 0) clears ratio and writing ratio clears kbytes.
     *
     * @throws IllegalArgumentException with a one-line reason
     */
    public static Overcommit parse(final String text)
    {
        final String[] parts = text.strip().split(",", -1);
        final int mode = switch (parts[0].strip())
        {
            case "0", "guess" -> GUESS;
            case "1", "always" -> ALWAYS;
            case "2", "never" -> NEVER;
            default -> throw new IllegalArgumentException("overcommit mode must be 0, 1, 2, guess, always or never, not '" +
                parts[0].strip() + "'");
        };
        int ratio = DEFAULT_RATIO;
        long kbytes = 0;
        boolean tuned = false;
        for (int i = 1; i < parts.length; i++)
        {
            final String part = parts[i].strip();
            final int eq = part.indexOf('=');
            final String key = eq < 0 ? part : part.substring(0, eq).strip();
            final String value = eq < 0 ? "" : part.substring(eq + 1).strip();
            if (tuned)
            {
                throw new IllegalArgumentException("overcommit takes one of ratio=N or kbytes=N, not both: '" + text.strip() + "'");
            }
            switch (key)
            {
                case "ratio" ->
                {
                    final long n = unsigned(key, value);
                    if (n > Integer.MAX_VALUE)
                    {
                        throw new IllegalArgumentException("overcommit ratio too large: " + value);
                    }
                    ratio = (int)n;
                    kbytes = 0;
                }
                case "kbytes" ->
                {
                    kbytes = unsigned(key, value);
                    ratio = 0;
                }
                default -> throw new IllegalArgumentException("overcommit takes ratio=N or kbytes=N after the mode, not '" + part + "'");
            }
            tuned = true;
        }
        return new Overcommit(mode, ratio, kbytes);
    }

    private static long unsigned(final String key, final String value)
    {
        try
        {
            final long n = Long.parseLong(value);
            if (n >= 0)
            {
                return n;
            }
        }
        catch (final NumberFormatException ex)
        {
            // refused below
        }
        throw new IllegalArgumentException("overcommit " + key + " takes a decimal number such as 50 or 1048576, not '" + value + "'");
    }

    /** As {@link #parse} reads it: {@code 0}, {@code 2,ratio=80}, {@code 2,kbytes=1048576}. */
    @Override
    public String toString()
    {
        if (ratio == DEFAULT_RATIO && kbytes == 0)
        {
            return Integer.toString(mode);
        }
        return mode + (kbytes != 0 ? ",kbytes=" + kbytes : ",ratio=" + ratio);
    }
}
