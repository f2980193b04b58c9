package io.mmemu.cli;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.IntSupplier;

/** One run of {@link Main#run} with its standard streams captured (stdin fed from a string). */
record CommandOutput(int exitCode, String out, String err)
{
    static CommandOutput run(final String... args)
    {
        return runWithInput("", args);
    }

    static CommandOutput runWithInput(final String input, final String... args)
    {
        return capture(input, () -> Main.run(args));
    }

    /** Runs {@code command} (which returns an exit code) with the standard streams captured. */
    static synchronized CommandOutput capture(final String input, final IntSupplier command)
    {
        final PrintStream oldOut = System.out;
        final PrintStream oldErr = System.err;
        final InputStream oldIn = System.in;
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        try
        {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            System.setIn(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)));
            final int exitCode = command.getAsInt();
            System.out.flush();
            System.err.flush();
            return new CommandOutput(exitCode, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        }
        finally
        {
            System.setOut(oldOut);
            System.setErr(oldErr);
            System.setIn(oldIn);
        }
    }
}
