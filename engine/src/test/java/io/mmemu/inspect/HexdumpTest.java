package io.mmemu.inspect;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * --hexdump against the real {@code hexdump -C -s PA -n LEN} run on a file holding the same
 * physical memory at its physical offsets (skipped, saying so, where hexdump is not installed).
 */
class HexdumpTest
{
    private static final Path HEXDUMP = Path.of("/usr/bin/hexdump");

    @TempDir
    Path dir;

    private PhysicalMemory memory;
    private long first;

    @BeforeEach
    void setUp()
    {
        memory = PhysicalMemory.create(1L << 20);
        final FrameCache cache = memory.newCache();
        final long a = memory.allocateTable(cache, 1);
        final long b = memory.allocateTable(cache, 1);
        assertEquals(1, Math.abs(a - b), "two adjacent frames");
        first = Math.min(a, b);
        final byte[] text = "mmemu: a memory-management emulator\n\t\u0001\u007f~ end".getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < 8192; i++)
        {
            // text at 0, zeros (squeezed) up to 256, a counter, a repeated 16-byte pattern, text again across the frames
            final int value = i < text.length ? text[i] : i < 256 ? 0 : i < 1024 ? i : i < 4000 ? 0xAB : text[i % text.length];
            memory.frames().set(ValueLayout.JAVA_BYTE, (first << 12) + i, (byte)value);
        }
    }

    @AfterEach
    void tearDown()
    {
        memory.close();
    }

    @Test
    void matchesHexdumpC() throws IOException, InterruptedException
    {
        assumeTrue(Files.isExecutable(HEXDUMP), "hexdump is not installed at /usr/bin/hexdump: nothing to compare with");
        final Path file = dir.resolve("physical");
        final long pa = first << 12;
        try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw"))
        {
            final byte[] bytes = new byte[8192];
            memory.frames().asSlice(pa, 8192).asByteBuffer().get(bytes);
            out.seek(pa);
            out.write(bytes);
        }
        final MemoryImage image = new LiveMemory(memory);
        for (final long[] range : new long[][] {{0, 8192}, {5, 100}, {0, 16}, {3, 1}, {4090, 20}, {256, 4096}, {4000, 4192}})
        {
            final String expected = run("-C", "-s", Long.toString(pa + range[0]), "-n", Long.toString(range[1]), file.toString());
            assertEquals(expected, Hexdump.render(image, pa + range[0], range[1]), () -> "range +" + range[0] + " " + range[1]);
        }
    }

    @Test
    void bytesThatDoNotExistAreAnError()
    {
        final MemoryImage image = new LiveMemory(memory);
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> Hexdump.render(image, memory.backedFrames() << 12, 16));
        assertTrue(ex.getMessage().contains("beyond the backed frames"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Hexdump.render(image, 0, 16), "PFN 0 is reserved");
    }

    private static String run(final String... args) throws IOException, InterruptedException
    {
        final String[] command = new String[args.length + 1];
        command[0] = HEXDUMP.toString();
        System.arraycopy(args, 0, command, 1, args.length);
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, process.exitValue(), out);
        return out;
    }
}
