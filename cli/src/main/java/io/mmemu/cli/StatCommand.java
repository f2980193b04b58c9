package io.mmemu.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import io.mmemu.program.CountersFile;
import io.mmemu.program.RunOptions;
import org.agrona.concurrent.status.CountersReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mmemu stat}: the live counters of a running {@code mmemu run}, once or following, as vmstat prints. */
@Command(
    name = "stat",
    mixinStandardHelpOptions = true,
    description = {
        "Print the live counters of a running `mmemu run`, once or as vmstat does.",
        "",
        "Reads the counters of a run in another process: one header line and one line of values, or with "
            + "--follow a line every interval until the run ends. Without RUN, the newest run that is still "
            + "alive is shown.",
        ""
    })
public final class StatCommand implements Callable<Integer>
{
    @Parameters(index = "0", arity = "0..1", paramLabel = "RUN", description = "A run's pid, or its counters file.")
    String target;

    @Option(names = {"-f", "--follow"}, description = "Print a line every interval until the run ends.")
    boolean follow;

    @Option(names = "--interval", defaultValue = "1s", paramLabel = "D", description = "Interval of --follow (default ${DEFAULT-VALUE}).")
    String interval;

    @Option(names = "--count", defaultValue = "0", paramLabel = "N", description = "With --follow, stop after N lines (0: until the run ends).")
    long count;

    @Override
    public Integer call()
    {
        final PrintStream out = System.out;
        final long intervalNanos;
        final Path path;
        try
        {
            intervalNanos = RunOptions.duration("--interval", interval);
            path = locate();
        }
        catch (final IllegalArgumentException | IOException ex)
        {
            System.err.println("mmemu stat: " + ex.getMessage());
            return 2;
        }
        try (CountersFile file = CountersFile.open(path))
        {
            final CountersReader reader = file.reader();
            final List<Integer> ids = new ArrayList<>();
            final List<String> labels = new ArrayList<>();
            reader.forEach((id, typeId, key, label) ->
            {
                ids.add(id);
                labels.add(label);
            });
            out.println("# " + file.programName() + " (pid " + file.pid() + ")" + (file.live() ? "" : " -- not running"));
            final StringBuilder header = new StringBuilder();
            for (final String label : labels)
            {
                header.append(String.format("%" + width(label) + "s ", label));
            }
            out.println(header.toString().stripTrailing());
            long lines = 0;
            while (true)
            {
                final StringBuilder row = new StringBuilder();
                for (int i = 0; i < ids.size(); i++)
                {
                    row.append(String.format("%" + width(labels.get(i)) + "d ", reader.getCounterValue(ids.get(i))));
                }
                out.println(row.toString().stripTrailing());
                out.flush();
                lines++;
                if (!follow || (count > 0 && lines >= count) || !file.live())
                {
                    break;
                }
                Thread.sleep(intervalNanos / 1_000_000, (int)(intervalNanos % 1_000_000));
                if (!file.live())
                {
                    out.println("# run ended");
                    break;
                }
            }
            return 0;
        }
        catch (final IOException ex)
        {
            System.err.println("mmemu stat: " + ex.getMessage());
            return 2;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    private static int width(final String label)
    {
        return Math.max(label.length(), 10);
    }

    /** The counters file: given, a pid's default file, or the newest live one in the default directory. */
    private Path locate() throws IOException
    {
        if (target != null)
        {
            if (target.chars().allMatch(Character::isDigit))
            {
                return CountersFile.defaultFile(Long.parseLong(target));
            }
            return Path.of(target);
        }
        Path newest = null;
        long newestStart = Long.MIN_VALUE;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(CountersFile.defaultDirectory(),
            CountersFile.PREFIX + "*" + CountersFile.SUFFIX))
        {
            for (final Path candidate : files)
            {
                try (CountersFile file = CountersFile.open(candidate))
                {
                    if (file.live() && file.startMillis() > newestStart)
                    {
                        newest = candidate;
                        newestStart = file.startMillis();
                    }
                }
                catch (final IOException ex)
                {
                    // not ours, or half written: skip it
                }
            }
        }
        if (newest == null)
        {
            throw new IOException("no running mmemu run found in " + CountersFile.defaultDirectory() +
                " (give its pid or counters file)");
        }
        return newest;
    }
}
