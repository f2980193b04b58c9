package io.mmemu.cli;

import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;

import io.mmemu.inspect.Inspection;
import io.mmemu.inspect.Views;
import io.mmemu.program.CountersFile;
import io.mmemu.program.HostRun;
import io.mmemu.program.Program;
import io.mmemu.program.Quantities;
import io.mmemu.program.Report;
import io.mmemu.program.ReportComparison;
import io.mmemu.program.Run;
import io.mmemu.program.RunOptions;
import io.mmemu.program.ViewOutput;
import io.mmemu.script.ParseError;
import io.mmemu.script.ScriptException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mmemu run}: a stress program on a fresh emulated machine, then its report (see docs/language.md). */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
        "Run a stress program on a fresh emulated machine and report what happened.",
        "",
        "PROGRAM's memory syscalls, touches, loops and threads (docs/language.md) run on a fresh emulated "
            + "machine; then the report: faults, signals, waits on locked VMAs, fault latency, lock holds, page "
            + "tables and frames in use, failed expectations. The whole program is checked first: a malformed "
            + "line is reported as PROGRAM:LINE:COLUMN: reason and nothing runs. Ctrl-C stops cleanly and still "
            + "prints the report. While it runs, `mmemu stat` shows its counters from another terminal.",
        "",
        "Exit status: 0 when every expectation held; 1 when one failed, or a run-time error, a deadlock or a "
            + "fatal signal stopped the run; 2 for bad input (a malformed program, option or file); 130 after "
            + "Ctrl-C.",
        "",
        "A program's own 'option NAME VALUE' lines set these options; the command line overrides them.",
        "",
        "--host runs the same program on the host kernel, in a native runner process (a C program built "
            + "with cc on first use), with the same report; --compare runs both and prints them side by side "
            + "with the ratio emulator/host. Views, brk and programs that write more than the host's memory are "
            + "refused before the run (PROGRAM:LINE:COLUMN: cannot run on the host: reason, exit 2).",
        "",
        "Example: ./mmemu run examples/seed.mm --locking mmap-lock --json seed.json",
        ""
    })
public final class RunCommand implements Callable<Integer>
{
    private static final String STDIN = "-";
    private static final String NONE = "none";
    private static final String VIEWS_FILE = "views.txt";

    @Parameters(index = "0", paramLabel = "PROGRAM", description = "The program (.mm); - reads standard input.")
    String program;

    @Option(names = "--maps", description = "At the end, print the address space as /proc/PID/maps.")
    boolean maps;

    @Option(names = "--smaps", description = "At the end, print /proc/PID/smaps (from the tables and frame descriptors).")
    boolean smaps;

    @Option(names = "--ptdump", description = "At the end, print the user page tables in Linux's ptdump format.")
    boolean ptdump;

    @Option(names = "--dump", paramLabel = "FILE", description = "At the end, write the address space to a dump file (docs/dump-format.md).")
    Path dump;

    @Option(names = "--html", paramLabel = "FILE", description = "At the end, write the self-contained HTML picture of the address space.")
    Path html;

    @Option(names = "--views-dir", paramLabel = "DIR",
        description = "Print the program's show views to DIR/views.txt instead of standard output, and write its dump and " +
            "html files with relative names into DIR (created if missing). Without it, relative names resolve against the " +
            "current directory, and views go to standard output (standard error with --json -).")
    Path viewsDir;

    @Option(names = "--physmem", paramLabel = "SIZE", description = "Emulated physical memory (default 4G).")
    String physmem;

    @Option(names = "--backing", paramLabel = "full|tables-only",
        description = "full: data frames have bytes; tables-only: they are only accounted (reads see 0), so 64G costs little (default full).")
    String backing;

    @Option(names = "--locking", paramLabel = "per-vma|mmap-lock",
        description = "per-vma: the seed's per-VMA locks; mmap-lock: every fault takes the mmap lock (default per-vma).")
    String locking;

    @Option(names = "--section", paramLabel = "SIZE", description = "Section of a sectioned unmap (default 1G).")
    String section;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of random touches (default 1).")
    String seed;

    @Option(names = "--duration", paramLabel = "D", description = "After D (500ms, 10s, 2min) loops start no new iteration.")
    String duration;

    @Option(names = "--threads", paramLabel = "N", description = "Threads of a 'parallel' without a count (default 4).")
    String threads;

    @Option(names = "--overcommit", paramLabel = "MODE[,ratio=N|,kbytes=N]",
        description = "vm.overcommit_memory: 0 (guess, the default heuristic), 1 (always) or 2 (never: strict, with " +
            "overcommit_ratio N%% of the physical memory, default 50, or overcommit_kbytes N KiB).")
    String overcommit;

    @Option(names = "--swap", paramLabel = "SIZE[,file=PATH]",
        description = "A swap area of SIZE (1G, 512M) in emulated memory, or in a sparse host file at PATH; " +
            "reclaim (kswapd, direct reclaim, MADV_PAGEOUT) swaps private anonymous pages to it (default none).")
    String swap;

    @Option(names = "--thp", paramLabel = "always|madvise|never|host",
        description = "Transparent huge pages for anonymous memory, as /sys/kernel/mm/transparent_hugepage/enabled " +
            "(default host: the policy of the kernel this runs on).")
    String thp;

    @Mixin
    PagingOption paging;
    @Option(names = "--hugetlb", paramLabel = "2M:N,1G:M",
        description = "Hugetlb pools the emulated machine boots with, for mmap(MAP_HUGETLB): N 2 MiB pages, M 1 GiB pages (default none).")
    String hugetlb;

    @Option(names = "--set", paramLabel = "NAME=VALUE", description = "Set a 'param' of the program (repeatable): --set SIZE=1G.")
    List<String> sets = List.of();

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the report as JSON to FILE (- for standard output, instead of the table).")
    String json;

    @Option(names = "--quiet", description = "No progress line.")
    boolean quiet;

    @Option(names = "--host",
        description = "Run on the host kernel instead of the emulator (docs/language.md). The emulator's machine " +
            "options (--physmem, --backing, --locking, --section), its counters file and the final views are refused; " +
            "the program's own option lines for them are ignored.")
    boolean host;

    @Option(names = "--compare",
        description = "Run on the emulator, then on the host kernel: both columns and the ratio emulator/host; --json " +
            "writes both reports.")
    boolean compare;

    @Option(names = "--counters", paramLabel = "FILE|none",
        description = "Live counters file for `mmemu stat` (default /dev/shm/mmemu-PID.counters; none: no file).")
    String counters;

    @Override
    public Integer call()
    {
        final Map<String, String> overrides = new LinkedHashMap<>();
        try
        {
            for (final String set : sets)
            {
                final int eq = set.indexOf('=');
                if (eq <= 0)
                {
                    throw new IllegalArgumentException("--set takes NAME=VALUE, not '" + set + "'");
                }
                overrides.put(set.substring(0, eq), set.substring(eq + 1));
            }
        }
        catch (final IllegalArgumentException ex)
        {
            System.err.println("mmemu run: " + ex.getMessage());
            return 2;
        }
        final String name = STDIN.equals(program) ? "<stdin>" : program;
        final Program parsed;
        // An InputStreamReader: malformed UTF-8 becomes U+FFFD, reported with its line, not an exception.
        try (Reader reader = STDIN.equals(program) ? new InputStreamReader(System.in, StandardCharsets.UTF_8) :
            new InputStreamReader(Files.newInputStream(Path.of(program)), StandardCharsets.UTF_8))
        {
            parsed = Program.parse(name, reader, overrides);
        }
        catch (final ScriptException ex)
        {
            for (final ParseError error : ex.errors())
            {
                System.err.println(error.formatWithColumn(name));
            }
            return 2;
        }
        catch (final NoSuchFileException ex)
        {
            System.err.println("mmemu run: " + program + ": no such file");
            return 2;
        }
        catch (final IOException | IllegalArgumentException ex)
        {
            System.err.println("mmemu run: " + (ex instanceof IOException ? program + ": " : "") + ex.getMessage());
            return 2;
        }
        final RunOptions options;
        try
        {
            options = options(parsed);
            checkSides();
        }
        catch (final IllegalArgumentException ex)
        {
            System.err.println("mmemu run: " + ex.getMessage());
            return 2;
        }
        if (host || compare)
        {
            final List<String> refusals;
            try
            {
                refusals = HostRun.refusals(parsed, options);
            }
            catch (final IOException ex)
            {
                System.err.println("mmemu run: " + ex.getMessage());
                return 1;
            }
            if (!refusals.isEmpty())
            {
                refusals.forEach(System.err::println);
                return 2;
            }
        }
        return run(parsed, options);
    }

    /** --host and --compare exclude each other; --host refuses what only the emulator has. */
    private void checkSides()
    {
        if (host && compare)
        {
            throw new IllegalArgumentException("--host and --compare exclude each other (--compare runs on both)");
        }
        if (!host)
        {
            return;
        }
        final Object[][] emulatorOnly = {{"--physmem", physmem}, {"--backing", backing}, {"--locking", locking}, {"--thp", thp},
            {"--paging", paging.given()}, {"--hugetlb", hugetlb}, {"--section", section}, {"--overcommit", overcommit}, {"--swap", swap}, {"--counters", NONE.equals(counters) ? null : counters}, {"--dump", dump},
            {"--html", html}, {"--views-dir", viewsDir}, {"--maps", maps ? Boolean.TRUE : null},
            {"--smaps", smaps ? Boolean.TRUE : null}, {"--ptdump", ptdump ? Boolean.TRUE : null}};
        for (final Object[] option : emulatorOnly)
        {
            if (option[1] != null)
            {
                throw new IllegalArgumentException(option[0] + " applies to the emulator only: the host kernel has its " +
                    "own memory, locks and address space (use --compare to run on both)");
            }
        }
    }

    /** The defaults, then the program's options, then the command line's. */
    private RunOptions options(final Program parsed)
    {
        RunOptions options = parsed.applyOptions(RunOptions.defaults().with("thp", "host"));
        final String[][] given = {{"physmem", physmem}, {"backing", backing}, {"locking", locking}, {"section", section},
            {"seed", seed}, {"duration", duration}, {"threads", threads}, {"thp", thp}, {"overcommit", overcommit},
            {"paging", paging.given()}, {"swap", swap}, {"hugetlb", hugetlb}};
        for (final String[] option : given)
        {
            if (option[1] != null)
            {
                options = options.with(option[0], option[1]);
            }
        }
        final Path file = counters == null ? CountersFile.defaultFile(ProcessHandle.current().pid()) :
            NONE.equals(counters) ? null : Path.of(counters);
        return options.withCounters(file);
    }

    private int run(final Program parsed, final RunOptions options)
    {
        final PrintStream out = System.out;
        final ProgressLine progress = new ProgressLine(out, !quiet && isTerminal());
        final PrintStream viewFile;
        try
        {
            viewFile = viewsDir == null ? null : viewsFile();
        }
        catch (final IOException ex)
        {
            System.err.println("mmemu run: --views-dir " + viewsDir + ": " + ex.getMessage());
            return 2;
        }
        // with --json -, standard output is the JSON alone
        final PrintStream viewStream = viewFile != null ? viewFile : STDIN.equals(json) ? System.err : out;
        final ViewOutput views = new ViewOutput(text -> progress.print(viewStream, text),
            viewsDir != null ? viewsDir : Path.of(""));
        try
        {
            return run(parsed, options, views, progress);
        }
        finally
        {
            if (viewFile != null)
            {
                viewFile.close();
                if (viewFile.checkError())
                {
                    System.err.println("mmemu run: writing " + viewsDir.resolve(VIEWS_FILE) + " failed: views are missing");
                }
            }
        }
    }

    /** DIR/views.txt, DIR created if missing. */
    private PrintStream viewsFile() throws IOException
    {
        try
        {
            Files.createDirectories(viewsDir);
            return new PrintStream(Files.newOutputStream(viewsDir.resolve(VIEWS_FILE)), false, StandardCharsets.UTF_8);
        }
        catch (final FileSystemException ex)
        {
            throw new IOException(ex.getReason() != null ? ex.getFile() + ": " + ex.getReason() : ex.toString(), ex);
        }
    }

    private int run(final Program parsed, final RunOptions options, final ViewOutput viewOutput, final ProgressLine progress)
    {
        final Run run = new Run(parsed, options, viewOutput);
        final HostRun onHost = new HostRun(parsed, options);
        final CountDownLatch reported = new CountDownLatch(1);
        // Ctrl-C: stop the threads, let execute() return and the report print, then let the JVM exit
        final Thread hook = new Thread(() ->
        {
            run.stop();
            onHost.stop();
            awaitQuietly(reported);
        }, "mmemu-run-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        final PrintStream out = System.out;
        try
        {
            if (host)
            {
                final Report report = onHost.execute(progress::show);
                progress.clear();
                return output(report::print, report::writeJson, report.exitStatus());
            }
            final Views views = new Views(smaps, ptdump, List.of(), List.of(), List.of(), null, dump, false, html,
                options.thp());
            final Report report = run.execute(progress::show, space ->
            {
                if (!maps && !views.any())
                {
                    return;
                }
                progress.clear();
                final Inspection inspection = Inspection.of(space, space.thp());
                if (maps)
                {
                    out.print(inspection.maps());
                }
                if (smaps)
                {
                    out.print(inspection.smaps());
                }
                views.printText(inspection, out);
                views.writeFiles(inspection, 0, 0, parsed.name());
            });
            progress.clear();
            if (compare)
            {
                final ReportComparison both = new ReportComparison(report, onHost.execute(progress::show));
                progress.clear();
                return output(both::print, both::writeJson, both.exitStatus());
            }
            return output(report::print, report::writeJson, report.exitStatus());
        }
        catch (final HostRun.Refused ex)
        {
            progress.clear();
            ex.reasons().forEach(System.err::println);
            return 2;
        }
        catch (final IllegalArgumentException ex)
        {
            progress.clear();
            System.err.println("mmemu run: " + ex.getMessage());
            return 2;
        }
        catch (final IOException ex)
        {
            progress.clear();
            System.err.println("mmemu run: " + ex.getMessage());
            return 1;
        }
        finally
        {
            reported.countDown();
            try
            {
                Runtime.getRuntime().removeShutdownHook(hook);
            }
            catch (final IllegalStateException shuttingDown)
            {
                // the hook is running (Ctrl-C): it returns now that the report is out
            }
        }
    }

    /** Writes JSON to an output stream. */
    @FunctionalInterface
    private interface JsonWriter
    {
        void write(OutputStream out) throws IOException;
    }

    /** The table (unless --json -), then the JSON if asked; returns {@code status}. */
    private int output(final Consumer<PrintStream> table, final JsonWriter writer, final int status)
        throws IOException
    {
        if (!STDIN.equals(json))
        {
            table.accept(System.out);
        }
        if (json == null)
        {
            return status;
        }
        if (STDIN.equals(json))
        {
            writer.write(System.out);
            System.out.println();
            System.out.flush();
            return status;
        }
        try (OutputStream file = Files.newOutputStream(Path.of(json)))
        {
            writer.write(file);
        }
        return status;
    }

    private static boolean isTerminal()
    {
        final Console console = System.console();
        return console != null && console.isTerminal();
    }

    private static void awaitQuietly(final CountDownLatch latch)
    {
        try
        {
            latch.await();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    /** The one refreshed line on a terminal: elapsed, faults/s, memory in use. */
    private static final class ProgressLine
    {
        private final PrintStream out;
        private final boolean enabled;
        private long lastNanos;
        private long lastFaults;
        private boolean shown;

        ProgressLine(final PrintStream out, final boolean enabled)
        {
            this.out = out;
            this.enabled = enabled;
        }

        synchronized void show(final Run.Sample sample)
        {
            if (!enabled)
            {
                return;
            }
            final long interval = sample.elapsedNanos() - lastNanos;
            final double rate = interval <= 0 ? 0 : (sample.faults() - lastFaults) * 1e9 / interval;
            lastNanos = sample.elapsedNanos();
            lastFaults = sample.faults();
            // carriage return, the line, erase to its end: refreshed in place, never scrolled
            out.print("\r" + Quantities.nanos(sample.elapsedNanos()) + "  faults " + sample.faults() + " (" +
                Quantities.count(rate) + "/s)  page tables " + Quantities.bytes(sample.tablePages() << 12) +
                "  data " + Quantities.bytes(sample.dataFrames() << 12) + "\u001b[K");
            out.flush();
            shown = true;
        }

        synchronized void clear()
        {
            if (shown)
            {
                out.print("\r\u001b[K");
                out.flush();
                shown = false;
            }
        }

        /** A program's view: the progress line makes way (the next sample redraws it). */
        synchronized void print(final PrintStream stream, final String text)
        {
            clear();
            stream.print(text);
            stream.flush();
        }
    }
}
