package io.mmemu.program;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The emulator process's own resident memory, from Linux's {@code /proc/self/status} (VmRSS,
 * VmHWM): what running the emulation costs the host. -1 where there is no procfs.
 */
final class ProcessMemory
{
    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcessMemory()
    {
    }

    /** Resident set size now, bytes. */
    static long rss()
    {
        return field("VmRSS:");
    }

    /** The peak resident set size ("high water mark"), bytes. */
    static long peakRss()
    {
        return field("VmHWM:");
    }

    private static long field(final String name)
    {
        try
        {
            for (final String line : Files.readAllLines(STATUS))
            {
                if (line.startsWith(name))
                {
                    // "VmRSS:\t  123456 kB"
                    final String value = line.substring(name.length()).strip();
                    return Long.parseLong(value.substring(0, value.indexOf(' '))) << 10;
                }
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            return -1;
        }
        return -1;
    }
}
