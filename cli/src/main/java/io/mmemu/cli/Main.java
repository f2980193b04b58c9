package io.mmemu.cli;

import java.io.PrintStream;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code mmemu} command line: one subcommand per use. No command ends in a JVM stack trace:
 * what a command did not expect (a bug, or the JVM out of heap) is one line on stderr and exit
 * status {@link #INTERNAL_ERROR}; {@code MMEMU_DEBUG=1} in the environment prints the stack trace too.
 */
@Command(
    name = "mmemu",
    mixinStandardHelpOptions = true,
    version = "mmemu 0.1.0",
    description = "A memory-management emulator: Linux x86-64 address spaces on real four-level page tables.",
    subcommands = {
        BenchCommand.class,
        CheckCommand.class,
        PopulateCommand.class,
        ReplayCommand.class,
        DumpCommand.class,
        ExecCommand.class,
        InspectCommand.class,
        RunCommand.class,
        StatCommand.class,
        CommandLine.HelpCommand.class
    })
public final class Main implements Runnable
{
    /** The exit status of a command that failed in a way it did not expect. */
    public static final int INTERNAL_ERROR = 3;
    static final String DEBUG_VARIABLE = "MMEMU_DEBUG";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(final String[] args)
    {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (tests call this). */
    public static int run(final String... args)
    {
        final CommandLine line = new CommandLine(new Main())
            .registerConverter(Long.class, Sizes::parse)
            .registerConverter(long.class, Sizes::parse);
        // exec's words after PATH are the program's argv, dashes and all, as env(1) takes them
        line.getSubcommands().get("exec").setStopAtPositional(true);
        return execute(line, args);
    }

    /** Executes a command line with mmemu's handling of what its commands did not expect. */
    static int execute(final CommandLine line, final String... args)
    {
        line.setExecutionExceptionHandler((ex, command, parsed) -> unexpected(command.getCommandName(), ex));
        try
        {
            return line.execute(args);
        }
        catch (final RuntimeException | Error ex)
        {
            // an Error raised by a command passes picocli's handler by
            return unexpected(line.getCommandName(), ex);
        }
    }

    private static int unexpected(final String command, final Throwable thrown)
    {
        final Throwable ex = thrown instanceof CommandLine.ExecutionException && thrown.getCause() != null
            ? thrown.getCause() : thrown;
        final PrintStream err = System.err;
        final String prefix = "mmemu".equals(command) ? "mmemu: " : "mmemu " + command + ": ";
        if (ex instanceof OutOfMemoryError)
        {
            err.println(prefix + "the JVM ran out of memory (" + ex.getMessage() + "); give it more with"
                + " MMEMU_JAVA_OPTS=-Xmx<size>, or run smaller");
        }
        else
        {
            err.println(prefix + "internal error: " + ex + (System.getenv(DEBUG_VARIABLE) == null
                ? " (" + DEBUG_VARIABLE + "=1 prints the stack trace)" : ""));
        }
        if (System.getenv(DEBUG_VARIABLE) != null)
        {
            ex.printStackTrace(err);
        }
        return INTERNAL_ERROR;
    }

    @Override
    public void run()
    {
        spec.commandLine().usage(System.out);
    }
}
