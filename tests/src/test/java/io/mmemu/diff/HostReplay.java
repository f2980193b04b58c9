package io.mmemu.diff;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The host kernel's side of the differential harness: {@code src/test/c/replay_ref.c}, built with
 * gcc into {@code target/replay_ref} on first use, run as a subprocess per script.
 */
public final class HostReplay
{
    /** The runner's source, relative to the tests module (Surefire's working directory). */
    public static final Path SOURCE = Path.of("src", "test", "c", "replay_ref.c");
    public static final Path BINARY = Path.of("target", "replay_ref");
    private static final long TIMEOUT_SECONDS = 60;

    private static HostReplay built;
    private static String unavailable;

    private final Path binary;

    /** What a run printed and how it ended. */
    public record Result(int exitCode, String out, String err)
    {
    }

    private HostReplay(final Path binary)
    {
        this.binary = binary;
    }

    /**
     * The runner, compiled if its binary is missing or older than its source; null when this host
     * cannot have one (no gcc, not Linux x86-64), with the reason in {@link #unavailableReason()}.
     *
     * @throws IOException when gcc is there but the build fails: a broken runner fails the tests,
     *                     it does not skip them
     */
    public static synchronized HostReplay get() throws IOException
    {
        if (built != null || unavailable != null)
        {
            return built;
        }
        if (!"Linux".equals(System.getProperty("os.name")) || !"amd64".equals(System.getProperty("os.arch")))
        {
            unavailable = "the host runner needs Linux on x86-64, this is " + System.getProperty("os.name") + " on "
                + System.getProperty("os.arch");
            return null;
        }
        if (!Files.exists(BINARY) || Files.getLastModifiedTime(BINARY).compareTo(Files.getLastModifiedTime(SOURCE)) < 0)
        {
            compile();
        }
        if (unavailable == null)
        {
            built = new HostReplay(BINARY.toAbsolutePath());
        }
        return built;
    }

    public static synchronized String unavailableReason()
    {
        return unavailable;
    }

    private static void compile() throws IOException
    {
        Files.createDirectories(BINARY.getParent());
        final List<String> command = List.of("gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-std=gnu11", "-o",
            BINARY.toString(), SOURCE.toString());
        final Process gcc;
        try
        {
            gcc = new ProcessBuilder(command).redirectErrorStream(true).start();
        }
        catch (final IOException ex)
        {
            unavailable = "gcc is not available (" + ex.getMessage() + "): the differential tests against the host "
                + "kernel are skipped";
            return;
        }
        final String output = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        final int status = waitFor(gcc);
        if (status != 0)
        {
            throw new IOException(String.join(" ", command) + " failed with status " + status + ":\n" + output);
        }
    }

    /** The binary, for commands printed to reproduce a failure. */
    public Path binary()
    {
        return binary;
    }

    /** Runs a script given as text (on stdin) with the options (as on the command line). */
    public Result run(final String script, final List<String> options) throws IOException
    {
        final List<String> command = new ArrayList<>();
        command.add(binary.toString());
        command.add("-");
        command.addAll(options);
        final Process process = new ProcessBuilder(command).start();
        final CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(process.getErrorStream()));
        try (OutputStream in = process.getOutputStream())
        {
            in.write(script.getBytes(StandardCharsets.UTF_8));
        }
        final String out = drain(process.getInputStream());
        final int status = waitFor(process);
        return new Result(status, out, err.join());
    }

    private static String drain(final InputStream stream)
    {
        try (stream)
        {
            return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            return "(cannot read: " + ex.getMessage() + ")";
        }
    }

    private static int waitFor(final Process process) throws IOException
    {
        try
        {
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
                throw new IOException(process.info().commandLine().orElse("a child process") + " did not finish in "
                    + TIMEOUT_SECONDS + " s");
            }
            return process.exitValue();
        }
        catch (final InterruptedException ex)
        {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", ex);
        }
    }
}
