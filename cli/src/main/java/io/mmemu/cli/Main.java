package io.mmemu.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code mmemu} command line: one subcommand per use. */
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
        InspectCommand.class,
        RunCommand.class,
        StatCommand.class,
        CommandLine.HelpCommand.class
    })
public final class Main implements Runnable
{
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(final String[] args)
    {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (tests call this). */
    public static int run(final String... args)
    {
        return new CommandLine(new Main())
            .registerConverter(Long.class, Sizes::parse)
            .registerConverter(long.class, Sizes::parse)
            .execute(args);
    }

    @Override
    public void run()
    {
        spec.commandLine().usage(System.out);
    }
}
