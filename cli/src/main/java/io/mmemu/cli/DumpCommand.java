package io.mmemu.cli;

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import io.mmemu.inspect.ThpMode;
import io.mmemu.inspect.Views;
import io.mmemu.script.Replay;
import io.mmemu.vm.KernelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mmemu dump SCRIPT FILE}: run a replay script quietly and save the address space it leaves. */
@Command(
    name = "dump",
    mixinStandardHelpOptions = true,
    usageHelpWidth = 100,
    description = {
        "Run a replay script (docs/replay.md) on a fresh address space without printing its results, then",
        "write the address space to FILE (docs/dump-format.md) for 'mmemu inspect'. A malformed script is",
        "reported as SCRIPT:LINE: reason and nothing is written (exit 2).",
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

    @Override
    public Integer call()
    {
        final KernelConfig build;
        final ThpMode thp;
        switch (kernel)
        {
            case "mainline" ->
            {
                build = KernelConfig.MAINLINE;
                thp = ThpMode.ALWAYS;
            }
            case "host" ->
            {
                build = KernelConfig.host();
                thp = ThpMode.host();
            }
            default ->
            {
                System.err.println("mmemu dump: --kernel must be mainline or host, not '" + kernel + "'");
                return 2;
            }
        }
        final Views views = new Views(false, false, List.of(), List.of(), List.of(), null, file, data, null, thp);
        final Replay.Options options;
        try
        {
            options = new Replay.Options(false, 0, 0, false, 0, 0, physmem, build, views);
        }
        catch (final IllegalArgumentException ex)
        {
            System.err.println("mmemu dump: " + ex.getMessage());
            return 2;
        }
        final PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        final int status;
        if ("-".equals(script))
        {
            status = Replay.run("<stdin>", new InputStreamReader(System.in, StandardCharsets.UTF_8), options, quiet, System.err);
        }
        else
        {
            try (Reader reader = new InputStreamReader(Files.newInputStream(Path.of(script)), StandardCharsets.UTF_8))
            {
                status = Replay.run(script, reader, options, quiet, System.err);
            }
            catch (final NoSuchFileException ex)
            {
                System.err.println("mmemu dump: " + script + ": no such file");
                return 2;
            }
            catch (final IOException ex)
            {
                System.err.println("mmemu dump: " + script + ": " + ex.getMessage());
                return 2;
            }
        }
        if (status == 0)
        {
            try
            {
                System.out.println("wrote " + file + " (" + Files.size(file) + " bytes)");
            }
            catch (final IOException ex)
            {
                System.err.println("mmemu dump: " + file + ": " + ex.getMessage());
                return 2;
            }
        }
        return status;
    }
}
