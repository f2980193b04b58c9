package io.mmemu.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The three sysfs settings of /sys/kernel/mm/transparent_hugepage/ a program's THP faults depend
 * on: {@code enabled} (which VMAs may get a 2 MiB page), {@code defrag} (how hard a fault tries to
 * find an order-9 block) and {@code use_zero_page} (whether a read fault maps the huge zero page).
 * The emulator follows {@code enabled} and {@code use_zero_page}; {@code defrag} is recorded only:
 * the emulated buddy allocator has no compaction or reclaim to wait for, so a fault either finds a
 * free order-9 block or falls back at once, whatever the host would have done to make one.
 *
 * @param enabled     the policy
 * @param defrag      the selected word of the defrag file (always, defer, defer+madvise, madvise, never)
 * @param useZeroPage use_zero_page
 */
public record ThpSettings(ThpMode enabled, String defrag, boolean useZeroPage)
{
    /** No transparent huge pages: what an address space has unless told otherwise. */
    public static final ThpSettings OFF = new ThpSettings(ThpMode.NEVER, "madvise", true);

    private static final Path SYSFS = Path.of("/sys/kernel/mm/transparent_hugepage");

    public ThpSettings
    {
        Objects.requireNonNull(enabled, "enabled");
        Objects.requireNonNull(defrag, "defrag");
    }

    /** A policy with the mainline defaults of the other two (defrag madvise, the huge zero page used). */
    public static ThpSettings of(final ThpMode enabled)
    {
        return new ThpSettings(enabled, "madvise", true);
    }

    /** The settings of the kernel this JVM runs on; {@link #OFF} when it has no THP support. */
    public static ThpSettings host()
    {
        try
        {
            final ThpMode enabled = ThpMode.parseSysfs(Files.readString(SYSFS.resolve("enabled")));
            final String defrag = selected(Files.readString(SYSFS.resolve("defrag")));
            final boolean zero = !"0".equals(Files.readString(SYSFS.resolve("use_zero_page")).strip());
            return new ThpSettings(enabled, defrag, zero);
        }
        catch (final IOException | IllegalArgumentException ex)
        {
            return OFF;
        }
    }

    private static String selected(final String line)
    {
        final int open = line.indexOf('[');
        final int close = line.indexOf(']', open + 1);
        if (open < 0 || close < 0)
        {
            throw new IllegalArgumentException("no selected value in '" + line.strip() + "'");
        }
        return line.substring(open + 1, close);
    }

    /** Sets the policy and use_zero_page of {@code space}, as writes to sysfs would; returns it. */
    public AddressSpace applyTo(final AddressSpace space)
    {
        return space.thp(enabled).thpUseZeroPage(useZeroPage);
    }

    /** As the test logs and reports name them: {@code enabled=madvise defrag=madvise use_zero_page=1}. */
    public String describe()
    {
        return "enabled=" + enabled.sysfsName() + " defrag=" + defrag + " use_zero_page=" + (useZeroPage ? 1 : 0);
    }
}
