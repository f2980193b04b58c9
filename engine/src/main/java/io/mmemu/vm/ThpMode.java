package io.mmemu.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The kernel's transparent-huge-page policy ({@code /sys/kernel/mm/transparent_hugepage/enabled}):
 * which anonymous VMAs a fault may map with a 2 MiB leaf ({@link HugeMemory}), and what smaps
 * prints as THPeligible.
 */
public enum ThpMode
{
    /** Every anonymous VMA large enough (the mainline Kconfig default, TRANSPARENT_HUGEPAGE_ALWAYS). */
    ALWAYS("always"),
    /** Only VMAs advised with MADV_HUGEPAGE (VM_HUGEPAGE), as most distributions ship. */
    MADVISE("madvise"),
    NEVER("never");

    private static final Path SYSFS = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");

    private final String sysfsName;

    ThpMode(final String sysfsName)
    {
        this.sysfsName = sysfsName;
    }

    /** The word sysfs shows in brackets for this mode. */
    public String sysfsName()
    {
        return sysfsName;
    }

    /** The mode of the kernel this JVM runs on; NEVER when the kernel has no THP support. */
    public static ThpMode host()
    {
        try
        {
            return parseSysfs(Files.readString(SYSFS));
        }
        catch (final IOException | IllegalArgumentException ex)
        {
            return NEVER;
        }
    }

    /** The selected mode of a sysfs line such as {@code always [madvise] never}. */
    static ThpMode parseSysfs(final String line)
    {
        final int open = line.indexOf('[');
        final int close = line.indexOf(']', open + 1);
        if (open < 0 || close < 0)
        {
            throw new IllegalArgumentException("no selected THP mode in '" + line.strip() + "'");
        }
        return of(line.substring(open + 1, close));
    }

    /** The mode named as sysfs names it. */
    public static ThpMode of(final String name)
    {
        for (final ThpMode mode : values())
        {
            if (mode.sysfsName.equals(name))
            {
                return mode;
            }
        }
        throw new IllegalArgumentException("THP mode must be always, madvise or never, not '" + name + "'");
    }
}
