package io.mmemu.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import io.mmemu.script.Call;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code mmemu replay}'s command line: help, options, and the errors for bad input (exit 2, file:line). */
final class ReplayCommandTest
{
    @TempDir
    Path dir;

    private Path script(final String name, final String text) throws IOException
    {
        return Files.writeString(dir.resolve(name), text);
    }

    private static void assertContains(final String text, final String part)
    {
        assertTrue(text.contains(part), () -> "'" + part + "' not in:\n" + text);
    }

    @Test
    void helpDocumentsEveryCallAndOption()
    {
        final CommandOutput help = CommandOutput.run("replay", "--help");
        assertEquals(0, help.exitCode());
        for (final Call call : Call.values())
        {
            assertContains(help.out(), "  " + call.signature());
        }
        for (final String option : new String[] {"--maps", "--pagemap=START END", "--window=START END", "--physmem=SIZE", "SCRIPT"})
        {
            assertContains(help.out(), option);
        }
        assertContains(CommandOutput.run("--help").out(), "replay");
        assertEquals(help.out(), CommandOutput.run("help", "replay").out());
    }

    @Test
    void aMissingScriptIsAUsageError()
    {
        final CommandOutput r = CommandOutput.run("replay");
        assertEquals(2, r.exitCode());
        assertContains(r.err(), "Missing required parameter: 'SCRIPT'");
        assertEquals("", r.out());
    }

    @Test
    void unknownOptionsAndBadValuesAreUsageErrors() throws IOException
    {
        final String path = script("ok.strace", "# nothing\n").toString();
        final CommandOutput unknown = CommandOutput.run("replay", "--mapz", path);
        assertEquals(2, unknown.exitCode());
        assertContains(unknown.err(), "Unknown option: '--mapz'");

        final CommandOutput notASize = CommandOutput.run("replay", "--physmem", "12Q", path);
        assertEquals(2, notASize.exitCode());
        assertContains(notASize.err(), "not a size: '12Q'");

        final CommandOutput oneValue = CommandOutput.run("replay", path, "--pagemap", "0x1000");
        assertEquals(2, oneValue.exitCode());
        assertContains(oneValue.err(), "--pagemap");

        final CommandOutput notAnAddress = CommandOutput.run("replay", "--window", "0x1000", "end", path);
        assertEquals(2, notAnAddress.exitCode());
        assertContains(notAnAddress.err(), "Invalid value for option '--window'");
        assertEquals("", notAnAddress.out());
    }

    @Test
    void rangesMustMakeSense() throws IOException
    {
        final String path = script("ok.strace", "# nothing\n").toString();
        final CommandOutput unaligned = CommandOutput.run("replay", "--pagemap", "0x1001", "0x2000", path);
        assertEquals(2, unaligned.exitCode());
        assertEquals("mmemu replay: pagemap range 0x1001-0x2000 must be page aligned (4096)\n", unaligned.err());

        final CommandOutput reversed = CommandOutput.run("replay", "--window", "0x2000", "0x1000", path);
        assertEquals(2, reversed.exitCode());
        assertEquals("mmemu replay: window start 0x2000 is above its end 0x1000\n", reversed.err());

        final CommandOutput twice = CommandOutput.run("replay", "--pagemap", "0", "4K", "--pagemap", "8K", "12K", path);
        assertEquals(2, twice.exitCode());
        assertEquals("mmemu replay: --pagemap and --window each take one START END pair\n", twice.err());

        final CommandOutput tiny = CommandOutput.run("replay", "--physmem", "4097", path);
        assertEquals(2, tiny.exitCode());
        assertContains(tiny.err(), "mmemu replay: physical memory");
        assertEquals("", tiny.out());
    }

    @Test
    void aMissingOrUnreadableScriptIsAnError()
    {
        final String missing = dir.resolve("absent.strace").toString();
        final CommandOutput r = CommandOutput.run("replay", missing);
        assertEquals(2, r.exitCode());
        assertEquals("mmemu replay: " + missing + ": no such file\n", r.err());

        final CommandOutput directory = CommandOutput.run("replay", dir.toString());
        assertEquals(2, directory.exitCode());
        assertContains(directory.err(), dir.toString());
        assertEquals("", directory.out());
    }

    @Test
    void malformedLinesAreAllReportedWithFileAndLineAndNothingRuns() throws IOException
    {
        final Path path = script("bad.strace", """
            # a replay script with three mistakes
            mmap(0x100000000000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
            mprotect(0x100000000000, 4096, PROT_RAED)
            munmap(0x100000000000, 4096
            touch(0x100000000000, 4096, PROT_WRITE) = 0
            mmapp(NULL, 4096)
            """);
        final CommandOutput r = CommandOutput.run("replay", "--maps", path.toString());
        assertEquals(2, r.exitCode());
        assertEquals("", r.out());
        final String[] lines = r.err().split("\n");
        assertEquals(3, lines.length, r.err());
        assertTrue(lines[0].startsWith(path + ":3: unknown PROT_* name 'PROT_RAED'"), lines[0]);
        assertTrue(lines[1].startsWith(path + ":4: unbalanced parentheses: missing ')'"), lines[1]);
        assertTrue(lines[2].startsWith(path + ":6: unknown call 'mmapp'"), lines[2]);
    }

    @Test
    void standardInputIsNamedInErrors()
    {
        final CommandOutput r = CommandOutput.runWithInput("\nmunmap(0x1000, 4096) junk\n", "replay", "-");
        assertEquals(2, r.exitCode());
        assertEquals("<stdin>:2: unexpected 'junk' after the call (only ' = RESULT' may follow it) (column 22)\n", r.err());
    }

    @Test
    void bytesThatAreNotUtf8AreReportedOnTheirLine() throws IOException
    {
        final Path path = dir.resolve("binary.strace");
        final byte[] start = "munmap(0x1000, 4096)\nmunmap(0x1000, ".getBytes(StandardCharsets.US_ASCII);
        final byte[] bytes = new byte[start.length + 3];
        System.arraycopy(start, 0, bytes, 0, start.length);
        bytes[start.length] = (byte)0xff;
        bytes[start.length + 1] = ')';
        bytes[start.length + 2] = '\n';
        Files.write(path, bytes);
        final CommandOutput r = CommandOutput.run("replay", path.toString());
        assertEquals(2, r.exitCode());
        assertEquals(path + ":2: unexpected character '\\ufffd' (column 16)\n", r.err());
    }
}
