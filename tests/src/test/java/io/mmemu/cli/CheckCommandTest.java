package io.mmemu.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code mmemu check}: its tally, and exit status 2 with a message for bad options. */
class CheckCommandTest
{
    /** One thread after the setup is sequential: every history is linearizable, exit 0. */
    @Test
    void oneThreadProgramsAreAllLinearizable()
    {
        final CommandOutput result = CommandOutput.run("check", "--scenarios", "15", "--threads", "1", "--seed", "4");
        assertEquals(0, result.exitCode(), result.out() + result.err());
        assertTrue(result.out().contains("per-vma/full 15  per-vma/tables-only 15  mmap-lock/full 15  mmap-lock/tables-only 15"),
            result.out());
        assertTrue(result.out().contains("60 scenarios, 60 histories checked ("), result.out());
        assertTrue(result.out().contains(" 0 inconclusive), 0 violations"), result.out());
    }

    /** {@code --program} reads a program as check writes it and runs it; one thread always passes. */
    @Test
    void runsAGivenProgram(@org.junit.jupiter.api.io.TempDir final java.nio.file.Path dir) throws Exception
    {
        final java.nio.file.Path file = dir.resolve("one.mm");
        java.nio.file.Files.writeString(file, String.join("\n",
            "option locking mmap-lock",
            "option backing full",
            "option section 4096",
            "# mmemu check: heap at 0x7ffff7fcf000",
            "mmap(0x7ffff7fd0000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0)",
            "thread t0 {",
            "    wait go",
            "    touch(0x7ffff7fd0000, 1, PROT_WRITE) value 7",
            "    touch(0x7ffff7fd0000, 1, PROT_READ)        # = read 0x07",
            "    brk(0x7ffff7fd0000)",
            "    munmap(0x7ffff7fd0000, 8192)",
            "}",
            "post go", ""));
        final CommandOutput result = CommandOutput.run("check", "--program", file.toString(), "--runs", "20");
        assertEquals(0, result.exitCode(), result.out() + result.err());
        assertTrue(result.out().endsWith(file + ": 20 runs, 0 failed\n"), result.out());

        java.nio.file.Files.writeString(file, "thread t0 {\n    munmap(0x1000)\n}\n");
        final CommandOutput bad = CommandOutput.run("check", "--program", file.toString());
        assertEquals(2, bad.exitCode());
        assertTrue(bad.err().startsWith("mmemu check: " + file + ":2: "), bad.err());
        assertEquals(2, CommandOutput.run("check", "--program", dir.resolve("missing.mm").toString()).exitCode());
    }

    @Test
    void badOptionsExitWithTwo()
    {
        for (final String[] args : new String[][] {
            {"check", "--locking", "sometimes"},
            {"check", "--backing", "paper"},
            {"check", "--threads", "0-3"},
            {"check", "--ops", "5-2"},
            {"check", "--without", "fork"},
            {"check", "--minutes", "-1"},
            {"check", "--threads", "16", "--ops", "16"}})
        {
            final CommandOutput result = CommandOutput.run(args);
            assertEquals(2, result.exitCode(), String.join(" ", args) + ": " + result.out() + result.err());
            assertTrue(result.err().startsWith("mmemu check: "), result.err());
        }
    }
}
