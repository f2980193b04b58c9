package io.mmemu.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code mmemu dump}, {@code mmemu inspect} and replay's view options on the command line. */
final class InspectCommandTest
{
    private static final String SCRIPT = """
        mmap(0x100000000000, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
        touch(0x100000000000, 8192, PROT_WRITE)
        mmap(0x100000100000, 8192, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
        touch(0x100000100000, 4096, PROT_READ|PROT_WRITE)
        mprotect(0x100000002000, 4096, PROT_READ)
        """;
    private static final String VIEWS_END = "0x100000200000";

    @TempDir
    Path dir;

    private static void assertContains(final String text, final String part)
    {
        assertTrue(text.contains(part), () -> "'" + part + "' not in:\n" + text);
    }

    private CommandOutput ok(final String... args)
    {
        final CommandOutput r = CommandOutput.run(args);
        assertEquals("", r.err(), () -> String.join(" ", args));
        assertEquals(0, r.exitCode());
        return r;
    }

    private Path script() throws IOException
    {
        return Files.writeString(dir.resolve("s.strace"), SCRIPT);
    }

    @Test
    void inspectingADumpPrintsWhatReplayPrintsLive() throws IOException
    {
        final String script = script().toString();
        final String dump = dir.resolve("s.dump").toString();
        final String[] views = {"--maps", "--smaps", "--pagemap", "0x100000000000", VIEWS_END, "--ptdump",
            "--walk", "0x100000001000", "--walk", "0x100000003000"};
        final String[] replay = concat(new String[] {"replay", script, "--physmem", "64M", "--dump", dump}, views);
        final String live = ok(replay).out();
        final String afterResults = live.substring(live.indexOf("100000000000-100000002000 rw-p"));
        assertEquals(afterResults, ok(concat(new String[] {"inspect", dump}, views)).out());
        assertContains(afterResults, "---[ User Space ]---");
        assertContains(afterResults, "Rss:                   8 kB");
    }

    @Test
    void dumpWritesTheFileAndInspectSummarisesIt() throws IOException
    {
        final Path dump = dir.resolve("d.dump");
        final CommandOutput r = ok("dump", script().toString(), dump.toString(), "--physmem", "64M", "--data");
        assertEquals("wrote " + dump + " (" + Files.size(dump) + " bytes)\n", r.out());
        final String summary = ok("inspect", dump.toString()).out();
        assertContains(summary, "dump format version 2");
        assertContains(summary, "paging: 4-level\n");
        assertContains(summary, "4 VMAs");
        assertContains(summary, "3 data frames with bytes");
        // with data, physical memory behind a mapping can be dumped
        final String walk = ok("inspect", dump.toString(), "--walk", "0x100000000000").out();
        final String pa = walk.substring(walk.indexOf("physical 0x") + 9, walk.indexOf("physical 0x") + 27);
        final String hex = ok("inspect", dump.toString(), "--hexdump", pa, "16").out();
        assertContains(hex, " 01 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|");
    }

    @Test
    void aCorruptedDumpIsAnErrorNamingTheOffset() throws IOException
    {
        final Path dump = dir.resolve("c.dump");
        ok("dump", script().toString(), dump.toString(), "--physmem", "64M");
        final byte[] bytes = Files.readAllBytes(dump);
        bytes[bytes.length - 100] ^= 0x10;
        Files.write(dump, bytes);
        final CommandOutput r = CommandOutput.run("inspect", dump.toString(), "--smaps");
        assertEquals(2, r.exitCode());
        assertEquals("", r.out());
        assertContains(r.err(), "mmemu inspect: " + dump + ": offset ");
        assertContains(r.err(), "checksum mismatch");

        Files.write(dump, Arrays.copyOf(bytes, 40));
        final CommandOutput truncated = CommandOutput.run("inspect", dump.toString());
        assertEquals(2, truncated.exitCode());
        assertEquals("mmemu inspect: " + dump + ": offset 40 (0x28): truncated: the file ends after 40 bytes, inside the 64-byte header\n",
            truncated.err());

        final CommandOutput missing = CommandOutput.run("inspect", dir.resolve("none.dump").toString());
        assertEquals(2, missing.exitCode());
        assertContains(missing.err(), "none.dump: no such file");
    }

    @Test
    void viewsThatCannotBeMadeAreErrors() throws IOException
    {
        final String script = script().toString();
        final Path dump = dir.resolve("t.dump");
        ok("dump", script, dump.toString(), "--physmem", "64M");
        // a dump without data has no bytes for data frames
        final String walk = ok("inspect", dump.toString(), "--walk", "0x100000000000").out();
        final String pa = walk.substring(walk.indexOf("physical 0x") + 9, walk.indexOf("physical 0x") + 27);
        final CommandOutput hex = CommandOutput.run("inspect", dump.toString(), "--hexdump", pa, "16");
        assertEquals(2, hex.exitCode());
        assertContains(hex.err(), "has no bytes here");

        final CommandOutput binary = CommandOutput.run("inspect", dump.toString(), "--pagemap-binary", dir.resolve("p").toString());
        assertEquals(2, binary.exitCode());
        assertContains(binary.err(), "--pagemap-binary needs the --pagemap START END range");

        final CommandOutput dumpData = CommandOutput.run("replay", script, "--dump-data");
        assertEquals(2, dumpData.exitCode());
        assertContains(dumpData.err(), "--dump-data needs --dump FILE");

        final CommandOutput unaligned = CommandOutput.run("inspect", dump.toString(), "--pagemap", "0x1000", "0x1001");
        assertEquals(2, unaligned.exitCode());
        assertContains(unaligned.err(), "must be page aligned");

        final CommandOutput noDirectory = CommandOutput.run("dump", script, dir.resolve("none/x.dump").toString(), "--physmem", "64M");
        assertEquals(2, noDirectory.exitCode());
        assertContains(noDirectory.err(), "cannot write " + dir.resolve("none/x.dump") + ": no such directory");

        final CommandOutput replayHex = CommandOutput.run("replay", script, "--physmem", "64M", "--hexdump", "0x100000000", "16");
        assertEquals(2, replayHex.exitCode());
        assertContains(replayHex.err(), "mmemu replay: physical 0x100000000 has no bytes here (beyond the backed frames)");
    }

    @Test
    void aMalformedScriptWritesNoDump() throws IOException
    {
        final Path bad = Files.writeString(dir.resolve("bad.strace"), "mmap(1, 2\n");
        final Path dump = dir.resolve("never.dump");
        final CommandOutput r = CommandOutput.run("dump", bad.toString(), dump.toString());
        assertEquals(2, r.exitCode());
        assertContains(r.err(), bad + ":1: ");
        assertFalse(Files.exists(dump));
    }

    @Test
    void pagemapBinaryHoldsTheWordsOfThePagemapLines() throws IOException
    {
        final Path binary = dir.resolve("pm.bin");
        final String out = ok("replay", script().toString(), "--physmem", "64M", "--pagemap", "0x100000000000", VIEWS_END,
            "--pagemap-binary", binary.toString()).out();
        final byte[] bytes = Files.readAllBytes(binary);
        final String[] lines = out.substring(out.indexOf("0x100000000000 0x")).split("\n");
        assertEquals(lines.length * 8, bytes.length);
        for (int i = 0; i < lines.length; i++)
        {
            long word = 0;
            for (int b = 7; b >= 0; b--)
            {
                word = (word << 8) | (bytes[8 * i + b] & 0xFF);
            }
            assertEquals(lines[i].split(" ")[1], String.format("0x%016x", word));
        }
    }

    @Test
    void helpListsTheViews()
    {
        final String replay = ok("replay", "--help").out();
        final String inspect = ok("inspect", "--help").out();
        for (final String option : new String[] {"--smaps", "--ptdump", "--walk=VA", "--table=PA", "--hexdump=PA LEN",
            "--pagemap-binary=FILE", "--html=FILE"})
        {
            assertContains(replay, option);
            assertContains(inspect, option);
        }
        assertContains(replay, "--dump=FILE");
        assertContains(ok("--help").out(), "inspect");
        assertContains(ok("dump", "--help").out(), "--data");
    }

    private static String[] concat(final String[] a, final String[] b)
    {
        final String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
