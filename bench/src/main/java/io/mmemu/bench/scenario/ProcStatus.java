package io.mmemu.bench.scenario;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The host's view of this process's memory, from {@code /proc/self/status}: resident set now and
 * its peak, in bytes; and of the machine's, from {@code /proc/meminfo}. Linux only; scenario code,
 * not a hot path.
 */
public final class ProcStatus
{
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path MEMINFO = Path.of("/proc/meminfo");

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

    /**
     * {@code MemAvailable}: what the machine can give a new workload without swapping, now (other
     * work on a shared machine included), in bytes.
     */
    public static long availableBytes()
    {
        return field(MEMINFO, "MemAvailable:");
    }

    private static long field(final String name)
    {
        return field(STATUS, name);
    }

    private static long field(final Path file, final String name)
    {
        try
        {
            for (final String line : Files.readAllLines(file))
            {
                if (line.startsWith(name))
                {
                    // "VmRSS:	  123456 kB"
                    final String kib = line.substring(name.length()).trim().split("\\s+")[0];
                    return Long.parseLong(kib) << 10;
                }
            }
            throw new IllegalStateException(file + " has no " + name + " line");
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read " + file + " (the scenarios need Linux)", ex);
        }
    }
}
