package io.mmemu.inspect;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import io.mmemu.script.Replay;
import io.mmemu.script.ResultFormat;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.ThpMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The views against the host kernel's own /proc output for the same calls (fixtures captured by
 * tests/src/test/c/views_ref.c; see the README beside them): results, maps, every smaps field,
 * and pagemap as text and as the raw bytes of /proc/PID/pagemap — live, and from a dump.
 */
class HostViewsGoldenTest
{
    private static final String FIXTURES = "/io/mmemu/inspect/host/";
    private static final long WINDOW = 0x200000000000L;
    private static final long WINDOW_END = WINDOW + (16L << 20);
    /** The capture host's build: no zero page, no soft-dirty; THP madvise. */
    private static final KernelConfig HOST = new KernelConfig(false, false);

    @TempDir
    Path dir;

    @Test
    void replayPrintsWhatTheHostKernelPrinted() throws IOException
    {
        final Path binary = dir.resolve("pagemap.bin");
        final Path dump = dir.resolve("views.dump");
        final Views views = new Views(true, false, List.of(), List.of(), List.of(), binary, dump, false, null, ThpMode.MADVISE);
        final Replay.Options options = new Replay.Options(true, WINDOW, WINDOW_END, true, WINDOW, WINDOW_END, 256L << 20,
            HOST, views);
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int status;
        try (InputStream script = resource("views.strace"))
        {
            status = Replay.run("views.strace", new InputStreamReader(script, StandardCharsets.UTF_8), options,
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        }
        assertEquals("", err.toString(StandardCharsets.UTF_8));
        assertEquals(0, status);
        final String expected = normalise(text("views.txt"));
        assertEquals(expected, normalise(out.toString(StandardCharsets.UTF_8)));
        assertArrayEquals(bytes("pagemap.bin"), Files.readAllBytes(binary));

        // the same views from the dump: everything after the call results
        try (Inspection inspection = Inspection.open(dump))
        {
            final StringBuilder sb = new StringBuilder();
            sb.append(inspection.maps()).append(inspection.smaps());
            inspection.pagemap(WINDOW, WINDOW_END, (va, word) -> sb.append(ResultFormat.pagemapLine(va, word)).append('\n'));
            assertEquals(expected.substring(expected.indexOf("\n200000000000-") + 1), normalise(sb.toString()));
            final ByteArrayOutputStream raw = new ByteArrayOutputStream();
            inspection.writePagemap(WINDOW, WINDOW_END, raw);
            assertArrayEquals(bytes("pagemap.bin"), raw.toByteArray());
        }
    }

    /** Drops the fixture's # header; numbers shmem files' device and inode as X (they are the kernel's own). */
    private static String normalise(final String text)
    {
        return text.lines()
            .filter(line -> !line.startsWith("#"))
            .map(line -> line.replaceAll("^(\\S+ \\S+ \\S+) \\S+ \\d+ +/dev/zero \\(deleted\\)$", "$1 X X /dev/zero (deleted)"))
            .collect(Collectors.joining("\n", "", "\n"));
    }

    private static InputStream resource(final String name) throws IOException
    {
        final InputStream in = HostViewsGoldenTest.class.getResourceAsStream(FIXTURES + name);
        if (in == null)
        {
            throw new IOException("missing fixture " + FIXTURES + name);
        }
        return in;
    }

    private static String text(final String name) throws IOException
    {
        return new String(bytes(name), StandardCharsets.UTF_8);
    }

    private static byte[] bytes(final String name) throws IOException
    {
        try (InputStream in = resource(name))
        {
            return in.readAllBytes();
        }
    }
}
