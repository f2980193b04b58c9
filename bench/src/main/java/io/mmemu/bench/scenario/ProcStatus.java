package io.mmemu.bench.scenario;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The host's view of this process's memory, from {@code /proc/self/status}: resident set now and
 * its peak, in bytes. Linux only; scenario code, not a hot path.
 */
public final class ProcStatus
{
    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcStatus()
    {
    }

    /** {@code VmRSS}: bytes resident now. */
    public static long residentBytes()
    {
        return field("VmRSS:");
    }

    /** {@code VmHWM}: the peak of the resident set. */
    public static long peakResidentBytes()
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
                    // "VmRSS:	  123456 kB"
                    final String kib = line.substring(name.length()).trim().split("\\s+")[0];
                    return Long.parseLong(kib) << 10;
                }
            }
            throw new IllegalStateException(STATUS + " has no " + name + " line");
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read " + STATUS + " (the scenarios need Linux)", ex);
        }
    }
}
