package io.mmemu.cli;

import java.util.concurrent.Callable;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a command did not expect ends in one line on stderr and exit status 3, never in a JVM stack
 * trace: an exception (a bug) and an Error (the JVM out of heap), thrown by commands run the way
 * {@link Main#run} runs its own.
 */
class UnexpectedErrorTest
{
    @Command(name = "throws")
    static final class Throwing implements Callable<Integer>
    {
        private final Throwable thrown;

        Throwing(final Throwable thrown)
        {
            this.thrown = thrown;
        }

        @Override
        public Integer call() throws Exception
        {
            if (thrown instanceof Error error)
            {
                throw error;
            }
            throw (Exception)thrown;
        }
    }

    @Test
    void anOutOfMemoryErrorIsOneLineAndStatusThree()
    {
        final CommandOutput result = runThrowing(new OutOfMemoryError("Java heap space"));
        assertEquals(Main.INTERNAL_ERROR, result.exitCode());
        assertEquals("", result.out());
        assertEquals("mmemu throws: the JVM ran out of memory (Java heap space); give it more with "
            + "MMEMU_JAVA_OPTS=-Xmx<size>, or run smaller\n", result.err());
    }

    @Test
    void anUnexpectedExceptionIsOneLineNamingItAndStatusThree()
    {
        final CommandOutput result = runThrowing(new IllegalStateException("the tables are inconsistent"));
        assertEquals(Main.INTERNAL_ERROR, result.exitCode());
        assertEquals(1, result.err().lines().count(), result.err());
        assertTrue(result.err().startsWith("mmemu throws: internal error: java.lang.IllegalStateException: "
            + "the tables are inconsistent"), result.err());
        assertFalse(result.err().contains("\tat "), result.err());
    }

    @Test
    void aSubcommandIsNamedInTheLine()
    {
        final CommandOutput result = CommandOutput.capture("", () -> Main.execute(
            new CommandLine(new Main()).addSubcommand(new Throwing(new ArithmeticException("/ by zero"))), "throws"));
        assertEquals(Main.INTERNAL_ERROR, result.exitCode());
        assertTrue(result.err().startsWith("mmemu throws: internal error: java.lang.ArithmeticException: / by zero"),
            result.err());
        assertEquals(1, result.err().lines().count(), result.err());
    }

    private static CommandOutput runThrowing(final Throwable thrown)
    {
        return CommandOutput.capture("", () -> Main.execute(new CommandLine(new Throwing(thrown))));
    }
}
