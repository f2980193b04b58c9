package io.mmemu.cli;

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import io.mmemu.script.Replay;
import io.mmemu.vm.KernelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mmemu replay}: a script of memory syscalls run on a fresh address space (see docs/replay.md). */
@Command(
    name = "replay",
    mixinStandardHelpOptions = true,
    usageHelpWidth = 100,
    description = {
        "Run a script of memory syscalls on a fresh emulated address space and print each call with its",
        "result as strace does; then, if asked, the maps and the pagemap words. The whole script is checked",
        "first: a malformed line is reported as SCRIPT:LINE: reason and nothing runs (exit 2).",
        "",
        "One call a line, in strace's syntax:",
        "  mmap(addr, length, prot, flags, fd, offset)",
        "  munmap(addr, length)",
        "  mprotect(addr, length, prot)",
        "  mremap(old_address, old_size, new_size, flags[, new_address])",
        "  madvise(addr, length, advice)",
        "  touch(addr, length, access)   one byte per page: PROT_READ reads it, PROT_WRITE writes 1,",
        "                                PROT_READ|PROT_WRITE does both, PROT_NONE nothing",
        "Numbers: 4096, 0x1000, -1, NULL. Flags: the kernel's names joined by |, numbers allowed",
        "(PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, PROT_READ|0x10). What follows ' = '",
        "(strace's result) and /* comments */ are ignored; lines starting with # are comments.",
        "",
        "Example (a touch of the unmapped page ends in SIGSEGV {si_code=SEGV_MAPERR, ...}):",
        "  mmap(0x100000000000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)",
        "  munmap(0x100000001000, 4096)",
        "  touch(0x100000000000, 8192, PROT_WRITE)",
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

    @Option(names = "--kernel", defaultValue = "mainline", paramLabel = "mainline|host",
        description = {"Kernel build to emulate: mainline (zero page, soft-dirty), or host: probe the kernel",
            "this runs on (for diffing against it). Default ${DEFAULT-VALUE}."})
    String kernel;

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
            final KernelConfig build = switch (kernel)
            {
                case "mainline" -> KernelConfig.MAINLINE;
                case "host" -> KernelConfig.host();
                default -> throw new IllegalArgumentException("--kernel must be mainline or host, not '" + kernel + "'");
            };
            options = new Replay.Options(maps, pagemap == null ? 0 : pagemap[0], pagemap == null ? 0 : pagemap[1],
                pagemap != null, window == null ? 0 : window[0], window == null ? 0 : window[1], physmem, build);
        }
        catch (final IllegalArgumentException ex)
        {
            System.err.println("mmemu replay: " + ex.getMessage());
            return 2;
        }
        if (STDIN.equals(script))
        {
            return Replay.run("<stdin>", new InputStreamReader(System.in, StandardCharsets.UTF_8), options, System.out, System.err);
        }
        // An InputStreamReader, not Files.newBufferedReader: malformed UTF-8 becomes U+FFFD, which
        // the parser reports with its line, instead of an exception that names no line.
        try (Reader reader = new InputStreamReader(Files.newInputStream(Path.of(script)), StandardCharsets.UTF_8))
        {
            return Replay.run(script, reader, options, System.out, System.err);
        }
        catch (final NoSuchFileException ex)
        {
            System.err.println("mmemu replay: " + script + ": no such file");
            return 2;
        }
        catch (final IOException ex)
        {
            System.err.println("mmemu replay: " + script + ": " + ex.getMessage());
            return 2;
        }
    }
}
