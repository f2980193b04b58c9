package io.mmemu.diff;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import io.mmemu.vm.KernelConfig;

/**
 * A conformance fixture: a hand-written script ({@code NAME.script}, or {@code NAME.script.gz} when
 * large) and the output the host kernel printed for it ({@code NAME.expected[.gz]}), both under
 * {@code src/test/fixtures}. The script's header gives the replay options ({@code # options: ...})
 * and may ask for map-count padding ({@code # emulator-padding: baseline-vmas}); the expected
 * output's header records the kernel, its configuration quirks and the command that produced it.
 */
public record Fixture(String name, Path script, String scriptText, ReplayRun run, boolean padMapCount)
{
    public static final Path DIRECTORY = Path.of("src", "test", "fixtures");
    static final String OPTIONS = "# options:";
    static final String PADDING = "# emulator-padding: baseline-vmas";
    static final String KERNEL = "# kernel: ";
    static final String HOST_KERNEL = "# host-kernel: ";
    static final String BASELINE = "# baseline-vmas: ";

    /** The expected output and what its header says. */
    public record Expected(String output, String kernel, KernelConfig hostKernel, int baselineVmas)
    {
    }

    public static List<Fixture> all() throws IOException
    {
        final List<Fixture> fixtures = new ArrayList<>();
        try (Stream<Path> files = Files.list(DIRECTORY))
        {
            for (final Path file : files.sorted().toList())
            {
                final String fileName = file.getFileName().toString();
                if (fileName.endsWith(".script") || fileName.endsWith(".script.gz"))
                {
                    fixtures.add(load(file));
                }
            }
        }
        return fixtures;
    }

    private static Fixture load(final Path file) throws IOException
    {
        final String text = read(file);
        final String fileName = file.getFileName().toString();
        final String name = fileName.substring(0, fileName.indexOf(".script"));
        final String options = text.lines().filter(l -> l.startsWith(OPTIONS)).findFirst()
            .orElseThrow(() -> new IOException(file + ": no '" + OPTIONS + "' header line"));
        return new Fixture(name, file, text, ReplayRun.parse(options.substring(OPTIONS.length())),
            text.lines().anyMatch(PADDING::equals));
    }

    public boolean compressed()
    {
        return script.getFileName().toString().endsWith(".gz");
    }

    public Path expectedFile()
    {
        return DIRECTORY.resolve(name + (compressed() ? ".expected.gz" : ".expected"));
    }

    /** The statements as the output echoes them: comments, blanks and recorded results left out. */
    public List<String> statements()
    {
        return scriptText.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#"))
            .map(l -> l.contains(" = ") ? l.substring(0, l.indexOf(" = ")).strip() : l).toList();
    }

    public Expected expected() throws IOException
    {
        final Path file = expectedFile();
        if (!Files.exists(file))
        {
            throw new IOException(file + " is missing: regenerate the fixtures on a Linux host (see docs/differential.md)");
        }
        final List<String> header = new ArrayList<>();
        final StringBuilder output = new StringBuilder();
        for (final String line : read(file).split("\n", -1))
        {
            if (output.isEmpty() && line.startsWith("# "))
            {
                header.add(line);
            }
            else if (!line.isEmpty() || !output.isEmpty())
            {
                output.append(line).append('\n');
            }
        }
        final String kernel = value(header, KERNEL);
        final String quirks = value(header, HOST_KERNEL);
        final String baseline = value(header, BASELINE);
        return new Expected(output.toString().replaceAll("\n+$", "\n"), kernel,
            quirks == null ? KernelConfig.MAINLINE : HostKernel.parse(quirks),
            baseline == null ? 0 : Integer.parseInt(baseline.trim()));
    }

    /** The command that reproduces the expected output, from the repository root. */
    public String hostCommand()
    {
        final String options = String.join(" ", run.options()) + (padMapCount ? " --baseline-vmas" : "");
        final Path path = Path.of("tests").resolve(script);
        return compressed() ? "zcat " + path + " | tests/target/replay_ref - " + options
            : "tests/target/replay_ref " + path + " " + options;
    }

    public void writeExpected(final String header, final String output) throws IOException
    {
        final byte[] bytes = (header + output).getBytes(StandardCharsets.UTF_8);
        if (compressed())
        {
            try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(expectedFile())))
            {
                out.write(bytes);
            }
        }
        else
        {
            Files.write(expectedFile(), bytes);
        }
    }

    private static String value(final List<String> header, final String key)
    {
        return header.stream().filter(l -> l.startsWith(key)).map(l -> l.substring(key.length())).findFirst().orElse(null);
    }

    private static String read(final Path file) throws IOException
    {
        try (InputStream in = file.getFileName().toString().endsWith(".gz")
            ? new GZIPInputStream(Files.newInputStream(file)) : Files.newInputStream(file))
        {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
