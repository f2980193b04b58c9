package io.mmemu.bench.workload;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.mmemu.host.NativeBuild;

/**
 * The host kernel's side: {@code host_bench.c} (bench/src/main/c, on the classpath next to this
 * class), compiled on first use ({@link NativeBuild}). Runs one workload per process and parses its lines.
 */
public final class HostProgram
{
    private static final String SOURCE = "host_bench.c";

    private final Path binary;

    private HostProgram(final Path binary)
    {
        this.binary = binary;
    }

    /**
     * The program, built if needed.
     *
     * @throws IOException with a message a user can act on when there is no C compiler or the build fails.
     */
    public static synchronized HostProgram build() throws IOException
    {
        return new HostProgram(NativeBuild.binary(HostProgram.class, SOURCE, "the host side of the benchmarks"));
    }

    public Path binary()
    {
        return binary;
    }

    /** Runs {@code spec} on the host kernel. */
    public RunResult run(final BenchSpec spec) throws IOException
    {
        final List<String> command = new ArrayList<>(List.of(binary.toString(), spec.workload().cliName(),
            Integer.toString(spec.threads()), String.format(Locale.ROOT, "%.3f", spec.seconds()), Long.toString(spec.size())));
        if (spec.workload().seed())
        {
            command.add(Long.toString(spec.hostBigSize()));
        }
        final Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        final List<Long> ops = new ArrayList<>();
        long elapsed = -1;
        Latency all = Latency.NONE;
        Latency window = Latency.NONE;
        long munmapNs = 0;
        long munmapPages = 0;
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
        {
            String line;
            while ((line = lines.readLine()) != null)
            {
                final String[] w = line.trim().split(" ");
                switch (w[0])
                {
                    case "thread" -> ops.add(Long.parseLong(w[2]));
                    case "elapsed_ns" -> elapsed = Long.parseLong(w[1]);
                    case "lat" ->
                    {
                        final Latency l = new Latency(Long.parseLong(w[2]), Long.parseLong(w[3]), Long.parseLong(w[4]),
                            Long.parseLong(w[5]), Long.parseLong(w[6]));
                        if (w[1].equals("all"))
                        {
                            all = l;
                        }
                        else
                        {
                            window = l;
                        }
                    }
                    case "munmap_ns" ->
                    {
                        munmapNs = Long.parseLong(w[1]);
                        munmapPages = Long.parseLong(w[2]);
                    }
                    default -> throw new IOException("unexpected line from the host benchmark: " + line);
                }
            }
        }
        final int status = waitFor(process);
        if (status != 0 || elapsed < 0)
        {
            throw new IOException("the host benchmark failed (exit status " + status + "): " + String.join(" ", command));
        }
        return new RunResult(ops.stream().mapToLong(Long::longValue).toArray(), elapsed, all, window, munmapNs,
            munmapPages, -1, -1, -1, -1);
    }

    private static int waitFor(final Process process) throws IOException
    {
        try
        {
            return process.waitFor();
        }
        catch (final InterruptedException ex)
        {
            process.destroy();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", ex);
        }
    }
}
