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
