package io.mmemu.bench.results;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The machine a figure was measured on, read the way a person would check it: cores from
 * {@code nproc}, the CPU model from {@code /proc/cpuinfo}, the kernel from {@code uname -r}, the
 * JDK of the measuring JVMs, memory and the transparent-huge-page mode (it decides whether table
 * pages are first touched 4 KiB or 2 MiB at a time).
 */
public record Machine(String cores, String cpu, String memory, String kernel, String jdk, String thp)
{
    private static final String UNKNOWN = "unknown";

    public static Machine read()
    {
        final String jdk = System.getProperty("java.vm.vendor", UNKNOWN) + ' ' + Runtime.version() +
            " (" + System.getProperty("java.vm.name", UNKNOWN) + ')';
        return new Machine(
            command("nproc"),
            firstMatch(Path.of("/proc/cpuinfo"), "^model name\\s*:\\s*(.+)$"),
            memTotal(),
            command("uname", "-r"),
            jdk,
            firstMatch(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"), "\\[(\\w+)]"));
    }

    /** {@code 2 cores, AMD EPYC, 23.4 GiB, Linux 6.1.0, JDK ..., THP madvise}. */
    public String oneLine()
    {
        return cores + " cores, " + cpu + ", " + memory + ", Linux " + kernel + ", " + jdk + ", THP " + thp;
    }

    /** {@code 2 cores, AMD EPYC, Linux 6.1.0}: what a plot's subtitle has room for. */
    public String brief()
    {
        return cores + " cores, " + cpu + ", Linux " + kernel;
    }

    /** The number of cores, or 0 when {@code nproc} could not tell. */
    public int coreCount()
    {
        try
        {
            return Integer.parseInt(cores);
        }
        catch (final NumberFormatException ex)
        {
            return 0;
        }
    }

    /** The 1-minute load average now, from {@code /proc/loadavg}: how busy the shared machine is. */
    public static String loadAverage()
    {
        return firstMatch(Path.of("/proc/loadavg"), "^(\\S+)");
    }

    private static String memTotal()
    {
        final String kib = firstMatch(Path.of("/proc/meminfo"), "^MemTotal:\\s*(\\d+) kB");
        if (kib.equals(UNKNOWN))
        {
            return UNKNOWN + " memory";
        }
        return String.format(Locale.ROOT, "%.1f GiB", Long.parseLong(kib) / (1024.0 * 1024.0));
    }

    private static String firstMatch(final Path file, final String regex)
    {
        final Pattern pattern = Pattern.compile(regex);
        try
        {
            for (final String line : Files.readAllLines(file))
            {
                final Matcher m = pattern.matcher(line);
                if (m.find())
                {
                    return m.group(1).trim();
                }
            }
        }
        catch (final IOException ex)
        {
            return UNKNOWN;
        }
        return UNKNOWN;
    }

    private static String command(final String... words)
    {
        try
        {
            final Process process = new ProcessBuilder(List.of(words)).redirectErrorStream(true).start();
            final String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return process.waitFor() == 0 && !out.isEmpty() ? out : UNKNOWN;
        }
        catch (final IOException ex)
        {
            return UNKNOWN;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return UNKNOWN;
        }
    }
}
