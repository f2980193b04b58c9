package io.mmemu.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --paging 4|5} on the commands that build an address space, and {@code option paging 5}
 * in programs: the high hint is honoured only with five levels, the views say which mode, dumps
 * carry it, a bad value is refused.
 */
final class PagingOptionTest
{
    /** A hint above 2^47: taken with LA57, beyond TASK_SIZE (so no hint at all) with four levels. */
    private static final String SCRIPT = """
        mmap(0x7f000000000000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
        mmap(0x100000000000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
        touch(0x100000000000, 4096, PROT_WRITE)
        """;

    @TempDir
    Path dir;

    private static void assertContains(final String text, final String part)
    {
        assertTrue(text.contains(part), () -> "'" + part + "' not in:\n" + text);
    }

    private static CommandOutput ok(final String... args)
    {
        final CommandOutput r = CommandOutput.run(args);
        assertEquals("", r.err(), () -> String.join(" ", args));
        assertEquals(0, r.exitCode());
        return r;
    }

    @Test
    void replayAndDumpWithFiveLevels() throws IOException
    {
        final Path script = Files.writeString(dir.resolve("s.strace"), SCRIPT);
        final Path dump = dir.resolve("s.dump");
        final String five = ok("replay", script.toString(), "--physmem", "64M", "--paging", "5", "--maps", "--ptdump",
            "--dump", dump.toString()).out();
        assertContains(five, "= 0x7f000000000000\n");
        assertContains(five, "7f000000000000-7f000000002000 rw-p");
        assertContains(five, "paging: 5-level (LA57)\n---[ User Space ]---\n");
        assertContains(five, " p4d\n");
        final String summary = ok("inspect", dump.toString()).out();
        assertContains(summary, "dump format version 2");
        assertContains(summary, "paging: 5-level (LA57)\n");
        assertContains(ok("inspect", dump.toString(), "--walk", "0x100000000000").out(), "\nP4D[ 32] @");

        final String four = ok("replay", script.toString(), "--physmem", "64M", "--ptdump").out();
        assertContains(four, "= 0x7ffff7ffd000\n");
        assertContains(four, "paging: 4-level\n---[ User Space ]---\n");
    }

    @Test
    void programsSetPagingByOptionAndTheCommandLineOverrides() throws IOException
    {
        final Path program = Files.writeString(dir.resolve("p.mm"), """
            option paging 5
            a = mmap(0x7f000000000000, 64K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
            touch(a, 64K, PROT_WRITE) expect ok
            """);
        final CommandOutput five = CommandOutput.run("run", program.toString(), "--physmem", "64M", "--quiet", "--maps");
        assertEquals(0, five.exitCode(), five.err());
        assertContains(five.out(), "7f000000000000-7f000000010000 rw-p");
        assertContains(five.out(), ", 5-level paging (LA57)\n");
        final CommandOutput four = CommandOutput.run("run", program.toString(), "--physmem", "64M", "--quiet", "--maps",
            "--paging", "4");
        assertEquals(0, four.exitCode(), four.err());
        assertContains(four.out(), "7ffff7fef000-7ffff7fff000 rw-p");
    }

    @Test
    void populateAboveTheWindowNeedsFiveLevels()
    {
        final String out = ok("populate", "--paging", "5", "--start", "0x00f0000000000000", "--size", "8M",
            "--physmem", "64M").out();
        assertContains(out, "paging: 5-level (LA57)\n");
        assertContains(out, "after zap         ok: every frame returned");
        final CommandOutput four = CommandOutput.run("populate", "--start", "0x00f0000000000000", "--size", "8M", "--physmem", "64M");
        assertEquals(2, four.exitCode());
        assertContains(four.err(), "inside user space");
    }

    @Test
    void aBadLevelCountIsRefused()
    {
        for (final String command : new String[] {"populate", "replay"})
        {
            final CommandOutput r = command.equals("replay") ? CommandOutput.runWithInput("", "replay", "-", "--paging", "3") :
                CommandOutput.run(command, "--paging", "3");
            assertEquals(2, r.exitCode(), r.out() + r.err());
            assertContains(r.err(), "paging must be 4 or 5 (levels), not '3'");
        }
    }
}
