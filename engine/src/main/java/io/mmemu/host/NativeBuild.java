package io.mmemu.host;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.zip.CRC32;

/**
 * A small C program that travels as a resource next to a class and is compiled on first use with
 * the system's C compiler ({@code $CC}, else {@code cc}) into a directory of the temporary directory
 * named for the source's checksum: an edited source is rebuilt, concurrent users share a build (the
 * binary appears by an atomic rename), and a machine without a compiler gets a message it can act on.
 */
public final class NativeBuild
{
    private NativeBuild()
    {
    }

    /** There is no C compiler (or this is not Linux): the program cannot be had here, through no fault of its own. */
    public static final class Unavailable extends IOException
    {
        private static final long serialVersionUID = 1L;

        Unavailable(final String message, final Throwable cause)
        {
            super(message, cause);
        }
    }

    /**
     * The binary built from {@code source} (a resource of {@code anchor}'s package), built if needed.
     *
     * @param purpose what the program is for, in the messages ("the host side of the benchmarks")
     * @throws Unavailable when this is not Linux or there is no C compiler, with a message a user can act on
     * @throws IOException  when the build fails (a broken source: a bug)
     */
    public static synchronized Path binary(final Class<?> anchor, final String source, final String purpose)
        throws IOException
    {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux"))
        {
            throw new Unavailable(purpose + " runs on Linux only (this is " + System.getProperty("os.name") + ")", null);
        }
        final byte[] text;
        try (InputStream in = anchor.getResourceAsStream(source))
        {
            if (in == null)
            {
                throw new IOException(source + " is missing from the classpath (a broken build)");
            }
            text = in.readAllBytes();
        }
        final CRC32 crc = new CRC32();
        crc.update(text);
        final String name = source.endsWith(".c") ? source.substring(0, source.length() - 2) : source;
        final Path dir = Path.of(System.getProperty("java.io.tmpdir"),
            "mmemu-" + name.replace('_', '-') + "-" + Long.toHexString(crc.getValue()) + "-" +
                System.getProperty("user.name", "user"));
        final Path binary = dir.resolve(name);
        if (Files.isExecutable(binary))
        {
            return binary;
        }
        Files.createDirectories(dir);
        final Path src = dir.resolve(source);
        Files.write(src, text);
        final String cc = System.getenv().getOrDefault("CC", "cc");
        final Path tmp = dir.resolve(name + ".tmp" + ProcessHandle.current().pid());
        final List<String> command = new ArrayList<>(List.of(cc, "-O2", "-std=gnu11", "-pthread", "-o", tmp.toString(),
            src.toString()));
        final Process process;
        try
        {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        }
        catch (final IOException ex)
        {
            throw new Unavailable("no C compiler: " + purpose + " is a small C program built on first use with '" + cc +
                "' (" + ex.getMessage() + "); install one (apt-get install gcc) or set CC", ex);
        }
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        final int status;
        try
        {
            status = process.waitFor();
        }
        catch (final InterruptedException ex)
        {
            process.destroy();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while building " + source, ex);
        }
        if (status != 0)
        {
            throw new IOException("building " + purpose + " failed: " + String.join(" ", command) + "\n" + output);
        }
        Files.move(tmp, binary, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return binary;
    }
}
