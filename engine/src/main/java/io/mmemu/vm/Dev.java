package io.mmemu.vm;

/**
 * Device numbers as the kernel keeps them internally (MKDEV: 12-bit major above a 20-bit minor),
 * printed by /proc/PID/maps as {@code %02x:%02x}.
 */
public final class Dev
{
    private static final int MINOR_BITS = 20;
    private static final int MINOR_MASK = (1 << MINOR_BITS) - 1;

    private Dev()
    {
    }

    public static int make(final int major, final int minor)
    {
        if (major < 0 || major > 0xfff || minor < 0 || minor > MINOR_MASK)
        {
            throw new IllegalArgumentException(String.format("device %x:%x out of range (major 12 bits, minor 20 bits)",
                major, minor));
        }
        return major << MINOR_BITS | minor;
    }

    public static int major(final int dev)
    {
        return dev >>> MINOR_BITS;
    }

    public static int minor(final int dev)
    {
        return dev & MINOR_MASK;
    }
}
