package io.mmemu.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import io.mmemu.vm.ThpMode;
import io.mmemu.vm.ThpSettings;
import io.mmemu.script.InitialMaps;
import io.mmemu.script.Replay;
import io.mmemu.script.ScriptException;
import io.mmemu.script.TraceReplay;
import io.mmemu.vm.HugetlbConfig;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.VdsoImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mmemu replay}: a script of memory syscalls run on a fresh address space (see docs/replay.md). */
@Command(
    name = "replay",
    mixinStandardHelpOptions = true,
    description = {
        "Run a script of memory syscalls, or replay a real program's strace log.",
        "",
        "Runs SCRIPT on a fresh emulated address space and prints each call with its result as strace does; "
            + "then, if asked, the maps and the pagemap words. The whole script is checked first: a malformed "
            + "line is reported as SCRIPT:LINE: reason and nothing runs (exit 2).",
        "",
        "One call a line, in strace's syntax:",
        "  mmap(addr, length, prot, flags, fd, offset)",
        "  munmap(addr, length)",
        "  mprotect(addr, length, prot)",
        "  mremap(old_address, old_size, new_size, flags[, new_address])",
        "  madvise(addr, length, advice)",
        "  brk(addr)",
        "  pkey_mprotect(addr, length, prot, pkey)",
        "  touch(addr, length, access)",
        "  fork()",
        "brk returns the new break, or the old one when refused; pkey_mprotect takes pkey -1 only (no key is "
            + "ever allocated); touch reaches one byte a page: PROT_READ reads it, PROT_WRITE writes 1, "
            + "PROT_READ|PROT_WRITE does both, PROT_NONE nothing. In a log replay, mmap's fd may name its file "
            + "as strace -y prints it: 3</usr/lib/libc.so.6>. fork() copies the process that runs it and prints the "
            + "child's number (1, 2, ...); a line starting with @N runs in process N (none: process 0), in script order; "
            + "the maps, smaps and pagemap then print per process under '--- process N'.",
        "Numbers: 4096, 0x1000, -1, NULL. Flags: the kernel's names joined by |, numbers allowed "
            + "(PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, PROT_READ|0x10). What follows ' = ' "
            + "(strace's result) and /* comments */ are ignored; lines starting with # are comments.",
        "",
        "Example (a touch of the unmapped page ends in SIGSEGV {si_code=SEGV_MAPERR, ...}):",
        "  mmap(0x10000000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANON, -1, 0)",
        "  munmap(0x10001000, 4096)",
        "  touch(0x10000000, 8192, PROT_WRITE)",
        "",
        "Inspection (docs/inspect.md): --smaps prints after the maps; --ptdump, --walk, --table and --hexdump "
            + "print last; --pagemap-binary, --dump and --html write files.",
        "",
        "Real programs (docs/replay.md, 'Replaying strace logs'): record the program's strace log and its "
            + "/proc/PID/maps at its first instruction (tools/capture does both):",
        "  setarch -R strace -f -y -e trace=memory[,%%process] -o prog.trace prog ...",
        "then replay every pid and compare each result with the recorded one:",
        "  mmemu replay --initial-maps prog.maps prog.trace",
        "It ends with 'checked N, equal N, differ K, unchecked U' (exit 1 when any differ). A log with pids, "
            + "or --initial-maps or --check, selects this mode.",
        ""
    })
public final class ReplayCommand implements Callable<Integer>
{
    private static final String STDIN = "-";

    @Parameters(index = "0", paramLabel = "SCRIPT", description = "The script file; - reads standard input.")
    String script;

    @Option(names = "--maps", description = "After the calls, print the maps lines (as /proc/PID/maps), inside the window if one is set.")
    boolean maps;

    @Option(names = "--pagemap", arity = "2", paramLabel = "START END", hideParamSyntax = true,
        description = "After the calls, print '0xVA 0xWORD' per page of [START, END): the pagemap word as an unprivileged reader sees it.")
    long[] pagemap;

    @Option(names = "--window", arity = "2", paramLabel = "START END", hideParamSyntax = true,
        description = "Compare only [START, END): mapping addresses outside print <outside window>, --maps shows only VMAs meeting it.")
    long[] window;

    @Option(names = "--physmem", defaultValue = "4G", paramLabel = "SIZE", description = "Emulated physical memory (default ${DEFAULT-VALUE}).")
    long physmem;

    @Option(names = "--hugetlb", paramLabel = "2M:N,1G:M",
        description = "Hugetlb pools the emulated machine boots with, for mmap(MAP_HUGETLB): N 2 MiB pages, M 1 GiB pages (default none).")
    String hugetlb;

    @Option(names = "--kernel", defaultValue = "mainline", paramLabel = "mainline|host",
        description = "Kernel build to emulate: mainline (zero page, soft-dirty), or host: probe the kernel this "
            + "runs on (for diffing against it). Default ${DEFAULT-VALUE}.")
    String kernel;

    @Option(names = "--thp", paramLabel = "always|madvise|never|host",
        description = "Let faults map transparent huge pages under this policy (sysfs transparent_hugepage/enabled); "
            + "host: the policy and use_zero_page of the kernel this runs on. Default: 4 KiB pages only.")
    String thp;

    @Option(names = "--initial-maps", paramLabel = "[PATH=]MAPS",
        description = "A /proc/PID/maps file: the traced program's address space at its first instruction; "
            + "PATH=MAPS: the maps of a program the log exec's at PATH (when the log traces process calls). "
            + "Repeatable.")
    List<String> initialMaps = new ArrayList<>();

    @Option(names = "--check", description = "Replay as an strace log and compare results even without pids or --initial-maps.")
    boolean check;

    @Option(names = {"-q", "--quiet"}, description = "Log replay: print only the summary and the first differences.")
    boolean quiet;

    @Mixin
    ViewOptions views;

    @Mixin
    PagingOption paging;

    @Option(names = "--dump", paramLabel = "FILE", description = "Write the address space to a dump file (docs/dump-format.md).")
    Path dump;

    @Option(names = "--dump-data", description = "With --dump: write the data frames' bytes too, not only the page tables.")
    boolean dumpData;

    @Override
    public Integer call()
    {
        if ((pagemap != null && pagemap.length != 2) || (window != null && window.length != 2))
        {
            System.err.println("mmemu replay: --pagemap and --window each take one START END pair");
            return 2;
        }
        final Replay.Options options;
        try
        {
            final KernelConfig build = paging.apply(kernelBuild(kernel));
            if (dumpData && dump == null)
            {
                throw new IllegalArgumentException("--dump-data needs --dump FILE");
            }
            final ThpSettings faults = thp == null ? ThpSettings.OFF
                : "host".equals(thp) ? ThpSettings.host() : ThpSettings.of(ThpMode.of(thp));
            options = new Replay.Options(maps, pagemap == null ? 0 : pagemap[0], pagemap == null ? 0 : pagemap[1],
                pagemap != null, window == null ? 0 : window[0], window == null ? 0 : window[1], physmem, build,
                views.views(dump, dumpData, thp == null ? thpPolicy(kernel) : faults.enabled()), faults,
                hugetlb == null ? HugetlbConfig.NONE : HugetlbConfig.parse(hugetlb));
        }
        catch (final IllegalArgumentException ex)
        {
            System.err.println("mmemu replay: " + ex.getMessage());
            return 2;
        }
        if (check || !initialMaps.isEmpty() || quiet || looksLikeLog(script))
        {
            return runLog(options);
        }
        return runScript("replay", script, options, System.out);
    }

    /** Whether the file's first call line starts with an strace pid (a log, not a script). */
    private static boolean looksLikeLog(final String script)
    {
        if (STDIN.equals(script))
        {
            return false;
        }
        try (BufferedReader reader = Files.newBufferedReader(Path.of(script), StandardCharsets.ISO_8859_1))
        {
            for (String line = reader.readLine(); line != null; line = reader.readLine())
            {
                final String t = line.strip();
                if (!t.isEmpty() && t.charAt(0) != '#')
                {
                    return t.matches("^\\d+\\s+\\S.*");
                }
            }
        }
        catch (final IOException ex)
        {
            return false; // the replay reports it
        }
        return false;
    }

    private int runLog(final Replay.Options scriptOptions)
    {
        if (scriptOptions.pagemap() || scriptOptions.views().any() || window != null)
        {
            System.err.println("mmemu replay: a log replay takes --maps, --initial-maps, --check and --quiet; " +
                "--pagemap, --window and the inspection views work on scripts");
            return 2;
        }
        List<InitialMaps.Line> traced = null;
        final Map<String, List<InitialMaps.Line>> programs = new HashMap<>();
        for (final String spec : initialMaps)
        {
            final int eq = spec.indexOf('=');
            final String file = eq < 0 ? spec : spec.substring(eq + 1);
            final List<List<InitialMaps.Line>> parsed = new ArrayList<>(1);
            final int read = withInput("replay", file, (name, reader) ->
            {
                try
                {
                    parsed.add(InitialMaps.parse(name, reader));
                    return 0;
                }
                catch (final ScriptException ex)
                {
                    ex.report(name, System.err);
                    return 2;
                }
            });
            if (read != 0)
            {
                return read;
            }
            final List<InitialMaps.Line> lines = parsed.get(0);
            if (eq < 0)
            {
                if (traced != null)
                {
                    System.err.println("mmemu replay: two --initial-maps for the traced program (use PATH=MAPS for others)");
                    return 2;
                }
                traced = lines;
            }
            else
            {
                programs.put(spec.substring(0, eq), lines);
            }
        }
        final TraceReplay.Options options = new TraceReplay.Options(traced, programs,
            quiet, maps, scriptOptions.physicalMemory(), scriptOptions.kernel(),
            "host".equals(kernel) ? VdsoImage.host() : VdsoImage.LINUX_6_18, scriptOptions.hugetlb());
        return withInput("replay", script, (name, reader) ->
            TraceReplay.run(name, reader, options, System.out, System.err));
    }

    /** --kernel's value: the build to emulate, mainline or the host's (probed). */
    static KernelConfig kernelBuild(final String name)
    {
        return switch (name)
        {
            case "mainline" -> KernelConfig.MAINLINE;
            case "host" -> KernelConfig.host();
            default -> throw new IllegalArgumentException("--kernel must be mainline or host, not '" + name + "'");
        };
    }

    /** The THP policy that goes with --kernel's value: mainline's default (always), or the host's. */
    static ThpMode thpPolicy(final String name)
    {
        return "host".equals(name) ? ThpMode.host() : ThpMode.ALWAYS;
    }

    /**
     * Runs the script file {@code script} ({@code -}: standard input) with {@code options}, results
     * to {@code out}; a file that cannot be read is "mmemu COMMAND: SCRIPT: reason", exit 2.
     */
    static int runScript(final String command, final String script, final Replay.Options options, final PrintStream out)
    {
        return withInput(command, script, (name, reader) -> Replay.run(name, reader, options, out, System.err));
    }

    /** Reads one input, returning the exit code. */
    @FunctionalInterface
    interface Reading
    {
        int read(String name, Reader reader) throws IOException;
    }

    /**
     * Runs {@code reading} on {@code file} ({@code -}: standard input, named {@code <stdin>}); a file
     * that cannot be read is "mmemu COMMAND: FILE: reason", exit 2.
     */
    static int withInput(final String command, final String file, final Reading reading)
    {
        if (STDIN.equals(file))
        {
            try
            {
                return reading.read("<stdin>", new InputStreamReader(System.in, StandardCharsets.UTF_8));
            }
            catch (final IOException ex)
            {
                System.err.println("mmemu " + command + ": <stdin>: " + ex.getMessage());
                return 2;
            }
        }
        // An InputStreamReader, not Files.newBufferedReader: malformed UTF-8 becomes U+FFFD, which
        // the parser reports with its line, instead of an exception that names no line.
        try (Reader reader = new InputStreamReader(Files.newInputStream(Path.of(file)), StandardCharsets.UTF_8))
        {
            return reading.read(file, reader);
        }
        catch (final NoSuchFileException ex)
        {
            System.err.println("mmemu " + command + ": " + file + ": no such file");
            return 2;
        }
        catch (final IOException ex)
        {
            System.err.println("mmemu " + command + ": " + file + ": " + ex.getMessage());
            return 2;
        }
    }
}
