package io.mmemu.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import io.mmemu.inspect.Views;
import io.mmemu.script.Replay;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mmemu dump SCRIPT FILE}: run a replay script quietly and save the address space it leaves. */
@Command(
    name = "dump",
    mixinStandardHelpOptions = true,
    description = {
        "Run a replay script quietly and save the address space it leaves to a file.",
        "",
        "Runs SCRIPT (docs/replay.md) on a fresh address space without printing its results, then writes "
            + "the address space to FILE (docs/dump-format.md) for 'mmemu inspect'. A malformed script is "
            + "reported as SCRIPT:LINE: reason and nothing is written (exit 2).",
        ""
    })
public final class DumpCommand implements Callable<Integer>
{
    @Parameters(index = "0", paramLabel = "SCRIPT", description = "The script file; - reads standard input.")
    String script;

    @Parameters(index = "1", paramLabel = "FILE", description = "The dump file to write.")
    Path file;

    @Option(names = "--data", description = "Write the data frames' bytes too, not only the page tables.")
    boolean data;

    @Option(names = "--physmem", defaultValue = "4G", paramLabel = "SIZE", description = "Emulated physical memory (default ${DEFAULT-VALUE}).")
    long physmem;

    @Option(names = "--kernel", defaultValue = "mainline", paramLabel = "mainline|host",
        description = "Kernel build to emulate, as for replay (default ${DEFAULT-VALUE}).")
    String kernel;

    @Mixin
    PagingOption paging;

    @Override
    public Integer call()
    {
        final Replay.Options options;
        try
        {
            final Views views = new Views(false, false, List.of(), List.of(), List.of(), null, file, data, null,
                ReplayCommand.thpPolicy(kernel));
            options = new Replay.Options(false, 0, 0, false, 0, 0, physmem, paging.apply(ReplayCommand.kernelBuild(kernel)), views);
        }
        catch (final IllegalArgumentException ex)
        {
            System.err.println("mmemu dump: " + ex.getMessage());
            return 2;
        }
        final int status = ReplayCommand.runScript("dump", script, options, new PrintStream(OutputStream.nullOutputStream()));
        if (status != 0)
        {
            return status;
        }
        try
        {
            System.out.println("wrote " + file + " (" + Files.size(file) + " bytes)");
            return 0;
        }
        catch (final IOException ex)
        {
            System.err.println("mmemu dump: " + file + ": " + ex.getMessage());
            return 2;
        }
    }
}
