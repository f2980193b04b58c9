package io.mmemu.diff;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The harness on its own, against the host kernel only: the generator's scripts run on the host
 * without ever reaching outside the window, reach every call, flag and outcome the harness claims
 * to cover, and give the same output twice; the runner rejects malformed scripts line by line like
 * the emulator's parser, refuses an occupied window, and refuses statements that would reach its
 * own memory.
 */
class HostRunnerTest
{
    private static final int SEEDS = 300;
    /** A call whose first argument is an address that is not a multiple of 4096. */
    private static final Pattern MISALIGNED = Pattern.compile("^\\w+\\(0x[0-9a-f]*(?!000,)[0-9a-f]{3},");
    private static final Pattern RESULT = Pattern.compile(
        " = (0x[0-9a-f]+|<outside window>|0|-1 E[A-Z]+ \\([^)]+\\)|SIG(SEGV|BUS) \\{si_code=[A-Z_]+, si_addr=0x[0-9a-f]+\\})$");
    private static final Pattern OUTCOME = Pattern.compile(
        " = (<outside window>|-1 E[A-Z]+|SIG[A-Z]+ \\{si_code=[A-Z_]+)");

    private static HostReplay host;
    private static List<List<String>> scripts;
    private static List<HostReplay.Result> results;

    @BeforeAll
    static void runGeneratedScriptsOnTheHost() throws IOException
    {
        host = HostReplay.get();
        assumeTrue(host != null, HostReplay.unavailableReason());
        scripts = new ArrayList<>();
        results = new ArrayList<>();
        for (int seed = 1; seed <= SEEDS; seed++)
        {
            final List<String> script = new ScriptGenerator(seed).generate();
            scripts.add(script);
            results.add(host.run(ScriptGenerator.text(script), ReplayRun.generated().options()));
        }
    }

    @Test
    void everyGeneratedScriptRunsOnTheHostInsideTheWindow()
    {
        for (int i = 0; i < SEEDS; i++)
        {
            final HostReplay.Result result = results.get(i);
            final String context = "seed " + (i + 1) + ":\n" + ScriptGenerator.text(scripts.get(i)) + result.err();
            assertEquals(0, result.exitCode(), context);
            assertEquals("", result.err(), context);
            final List<String> lines = result.out().lines().toList();
            final List<String> script = scripts.get(i);
            for (int s = 0; s < script.size(); s++)
            {
                assertTrue(lines.get(s).startsWith(script.get(s) + " = "), context + "\nline " + lines.get(s));
                assertTrue(RESULT.matcher(lines.get(s)).find(), context + "\nunexpected result: " + lines.get(s));
            }
            final long pagemapLines = lines.stream().filter(l -> l.startsWith("0x")).count();
            assertEquals((ScriptGenerator.ARENA.end() - ScriptGenerator.ARENA.start()) / ScriptGenerator.PAGE, pagemapLines,
                context);
        }
    }

    @Test
    void scriptsCoverEveryCallAndFlag()
    {
        final Set<String> missing = new TreeSet<>(List.of(
            "mmap(NULL", "MAP_PRIVATE", "MAP_SHARED|", "MAP_SHARED_VALIDATE", "MAP_ANONYMOUS", "MAP_ANON|", "MAP_FIXED|",
            "MAP_FIXED_NOREPLACE", "MAP_POPULATE", "MAP_NORESERVE", "MAP_GROWSDOWN", "MAP_STACK", "PROT_NONE, MAP",
            "PROT_READ|PROT_WRITE|PROT_EXEC", "PROT_EXEC, MAP", "PROT_WRITE, MAP", "|0x10, ", "munmap(", "mprotect(",
            "PROT_GROWSDOWN)", "PROT_NONE)", "PROT_READ)", "PROT_WRITE)", "PROT_EXEC)", "PROT_READ|PROT_EXEC)",
            "PROT_WRITE|PROT_EXEC)", "PROT_READ|PROT_WRITE)", "PROT_READ|PROT_WRITE|PROT_EXEC)",
            ", 0)", "MREMAP_MAYMOVE)", "MREMAP_MAYMOVE|MREMAP_FIXED,", "MREMAP_MAYMOVE|MREMAP_FIXED|MREMAP_DONTUNMAP",
            "MREMAP_MAYMOVE|MREMAP_DONTUNMAP)", "MREMAP_FIXED,", "MREMAP_DONTUNMAP,", "MREMAP_MAYMOVE|0x8",
            "MADV_DONTNEED", "MADV_FREE", "MADV_WILLNEED", "MADV_NORMAL", "MADV_RANDOM", "MADV_SEQUENTIAL",
            "MADV_POPULATE_READ", "MADV_POPULATE_WRITE", "MADV_HUGEPAGE", "MADV_NOHUGEPAGE", ", 999)",
            "touch(", "PROT_NONE)", "PROT_READ|PROT_WRITE)", ", -1", ", 0xfffffffffffff000", ", 0, "));
        boolean misaligned = false;
        boolean odd = false;
        for (final List<String> script : scripts)
        {
            for (final String line : script)
            {
                missing.removeIf(line::contains);
                misaligned |= MISALIGNED.matcher(line).find();
                odd |= Pattern.compile("^\\w+\\(0x[0-9a-f]+, ([0-9]+)").matcher(line).results()
                    .anyMatch(m -> Long.parseUnsignedLong(m.group(1)) % ScriptGenerator.PAGE != 0);
            }
        }
        assertEquals(Set.of(), missing, "never generated in " + SEEDS + " seeds");
        assertTrue(misaligned, "no misaligned address in " + SEEDS + " seeds");
        assertTrue(odd, "no odd length in " + SEEDS + " seeds");
    }

    /** The scripts must reach interesting states, not just be syntactically varied. */
    @Test
    void scriptsReachEveryKindOfOutcomeOnTheHost()
    {
        final Set<String> missing = new TreeSet<>(List.of(
            " = <outside window>", " = -1 EINVAL", " = -1 ENOMEM", " = -1 EEXIST", " = -1 EFAULT", " = -1 EBADF",
            " = SIGSEGV {si_code=SEGV_MAPERR", " = SIGSEGV {si_code=SEGV_ACCERR", " = SIGBUS {si_code=BUS_ADRERR"));
        int addresses = 0;
        for (final HostReplay.Result result : results)
        {
            final Matcher m = OUTCOME.matcher(result.out());
            while (m.find())
            {
                missing.remove(m.group());
            }
            addresses += (int)result.out().lines().filter(l -> l.matches("^m(re)?map\\(.* = 0x[0-9a-f]+$")).count();
        }
        assertEquals(Set.of(), missing, "never seen on the host in " + SEEDS + " seeds");
        assertTrue(addresses > SEEDS, "only " + addresses + " successful mappings in the window");
    }

    /** A comparison is only as good as the host's determinism: the same script must print the same twice. */
    @Test
    void theHostPrintsTheSameTwice() throws IOException
    {
        for (int i = 0; i < 20; i++)
        {
            final HostReplay.Result again = host.run(ScriptGenerator.text(scripts.get(i)), ReplayRun.generated().options());
            assertEquals(ReplayDiff.normalise(results.get(i).out()), ReplayDiff.normalise(again.out()), "seed " + (i + 1));
        }
    }

    @Test
    void seedsDetermineScripts()
    {
        assertEquals(scripts.get(6), new ScriptGenerator(7).generate());
        assertNotEquals(scripts.get(6), scripts.get(7));
    }

    private static final String MALFORMED = """
            mmap(0x100000000000, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
            frobnicate(1, 2)
            # a comment

            munmap(0x100000000000, 4096
            munmap(0x100000000000, 4096) garbage
            mprotect(0x100000000000, 4096, PROT_READ|PROT_BOGUS)
            madvise(0x100000000000, zz, MADV_DONTNEED)
            mremap(0x100000000000, 4096, 8192)
            touch(0x100000000000, 4096, PROT_READ) = 0
            touch(0x100000000000, 4096, PROT_EXEC)
            munmap(0x100000000000 /* unterminated, 4096)
            munmap(0x100000000000, 4096) # not a comment
            """;

    @Test
    void malformedLinesAreReportedWithTheirLineNumbers() throws IOException
    {
        final HostReplay.Result result = host.run(MALFORMED, List.of());
        assertEquals(2, result.exitCode(), result.err());
        assertEquals("", result.out(), "nothing runs when a line is malformed");
        final List<Integer> lines = result.err().lines().map(l -> Integer.parseInt(l.split(":")[1])).toList();
        assertEquals(List.of(2, 5, 6, 7, 8, 9, 11, 12, 13), lines, result.err());
        assertTrue(result.err().startsWith("-:2: unknown call 'frobnicate'"), result.err());
    }

    /** Both parsers must reject the same lines, or a script could mean different things to each side. */
    @Test
    void theEmulatorsParserRejectsTheSameLines() throws IOException
    {
        final ReplayRun.Output emulator = ReplayRun.parse("").onEmulator("-", MALFORMED);
        assertEquals(2, emulator.exitCode(), emulator.err());
        final List<String> hostErrors = host.run(MALFORMED, List.of()).err().lines().map(l -> l.split(":")[1]).toList();
        final List<String> emulatorErrors = emulator.err().lines().map(l -> l.split(":")[1]).toList();
        assertEquals(hostErrors, emulatorErrors,
            "host:\n" + host.run(MALFORMED, List.of()).err() + "emulator:\n" + emulator.err());
    }

    /** Process lines both parsers must reject alike: a process no fork made, a bad prefix, too many forks. */
    private static final String MALFORMED_PROCESSES = """
        mmap(0x100000000000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
        @1 touch(0x100000000000, 4096, PROT_WRITE)
        fork()
        @1 touch(0x100000000000, 4096, PROT_WRITE)
        @2 munmap(0x100000000000, 4096)
        @x munmap(0x100000000000, 4096)
        @1munmap(0x100000000000, 4096)
        @1 fork()
        fork()
        fork()
        fork()
        fork()
        fork()
        fork()
        """;

    @Test
    void bothParsersRejectTheSameProcessLines() throws IOException
    {
        final HostReplay.Result onHost = host.run(MALFORMED_PROCESSES, List.of());
        assertEquals(2, onHost.exitCode(), onHost.err());
        final ReplayRun.Output emulator = ReplayRun.parse("").onEmulator("-", MALFORMED_PROCESSES);
        assertEquals(2, emulator.exitCode(), emulator.err());
        final List<String> hostLines = onHost.err().lines().map(l -> l.split(":")[1]).toList();
        assertEquals(List.of("2", "5", "6", "7", "14"), hostLines, onHost.err());
        assertEquals(hostLines, emulator.err().lines().map(l -> l.split(":")[1]).toList(), emulator.err());
    }

    /**
     * A forked script on the host: lines in script order whichever process runs them, the child's
     * own copy on write, each process's views under its header; the same on the emulator.
     */
    @Test
    void aForkedScriptRunsInScriptOrderAndPrintsEachProcess() throws IOException
    {
        final String script = """
            mmap(0x100000000000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
            touch(0x100000000000, 8192, PROT_WRITE)
            fork()
            @1 touch(0x100000000000, 4096, PROT_WRITE)
            munmap(0x100000001000, 4096)
            @1 fork()
            @2 munmap(0x100000000000, 4096)
            """;
        final ReplayRun run = new ReplayRun(true, 0x100000000000L, 0x100000002000L, true, ScriptGenerator.WINDOW.start(),
            ScriptGenerator.WINDOW.end(), HostKernel.probe(host));
        final HostReplay.Result onHost = host.run(script, run.options());
        assertEquals(0, onHost.exitCode(), onHost.err());
        final String exclusive = "0x8100000000000000";
        final String shared = "0x8000000000000000";
        assertEquals(List.of(
            "mmap(0x100000000000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x100000000000",
            "touch(0x100000000000, 8192, PROT_WRITE) = 0",
            "fork() = 1",
            "@1 touch(0x100000000000, 4096, PROT_WRITE) = 0",
            "munmap(0x100000001000, 4096) = 0",
            "@1 fork() = 2",
            "@2 munmap(0x100000000000, 4096) = 0",
            "--- process 0",
            "100000000000-100000001000 rw-p 00000000 00:00 0 ",
            "0x100000000000 " + exclusive,
            "0x100000001000 0x0000000000000000",
            "--- process 1",
            "100000000000-100000002000 rw-p 00000000 00:00 0 ",
            "0x100000000000 " + exclusive,
            "0x100000001000 " + shared,
            "--- process 2",
            "100000001000-100000002000 rw-p 00000000 00:00 0 ",
            "0x100000000000 0x0000000000000000",
            "0x100000001000 " + shared),
            onHost.out().lines().map(HostRunnerTest::presentExclusiveFile).toList(), onHost.out());
        final List<String> statements = script.lines().toList();
        final ReplayDiff.Difference difference = ReplayDiff.firstDifference(statements, onHost.out(),
            run.onEmulator("-", script).out());
        assertNull(difference, () -> difference.describe());
    }

    /** A pagemap line with only bits 63 (present), 61 (file) and 56 (exclusive) kept (soft-dirty is the build's); other lines as they are. */
    private static String presentExclusiveFile(final String line)
    {
        if (!line.matches("0x[0-9a-f]+ 0x[0-9a-f]{16}"))
        {
            return line;
        }
        final long word = Long.parseUnsignedLong(line.substring(line.length() - 16), 16);
        return line.substring(0, line.length() - 16)
            + String.format("%016x", word & (1L << 63 | 1L << 61 | HostKernel.PM_MMAP_EXCLUSIVE));
    }

    /** strace's own output forms: results, timings, comments, odd spacing, huge page bits, NULL, -1. */
    @Test
    void bothSidesReadStraceOutputAlike() throws IOException
    {
        final String script = """
            munmap(0x100000000000, 4096)=0
            munmap(0x100000000000 /* here */, 4096) = 0 <0.000012>
              munmap ( 0x100000000000 ,4096 )
            mmap(0x100000000000, 8192, PROT_READ|0x10 /* PROT_??? */, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED|MAP_FILE|21<<MAP_HUGE_SHIFT, -1, 0) = 0x100000000000
            mprotect(0X100000000000, 4096, PROT_READ|0x10)
            madvise(0x100000000000, 4096, 4)
            mremap(0x100000000000, 8192, 8192, 0)
            touch(0x100000000000, 0, PROT_READ|PROT_WRITE)
            touch(0x100000001000, 1, PROT_NONE)
            munmap(NULL, 0)
            munmap(0x100000000000, 18446744073709551615)
            munmap(0x100000000000, -1)
            """;
        final ReplayRun run = new ReplayRun(true, 0x100000000000L, 0x100000002000L, true, ScriptGenerator.WINDOW.start(),
            ScriptGenerator.WINDOW.end(), HostKernel.probe(host));
        final HostReplay.Result onHost = host.run(script, run.options());
        assertEquals(0, onHost.exitCode(), onHost.err());
        final List<String> statements = script.lines().map(String::strip).map(l -> l.replaceAll("\\) *=.*", ")")).toList();
        final ReplayDiff.Difference difference = ReplayDiff.firstDifference(statements, onHost.out(),
            run.onEmulator("-", script).out());
        assertNull(difference, () -> difference.describe());
    }

    @Test
    void theWindowMustBeFree() throws IOException
    {
        final HostReplay.Result result = host.run("munmap(0x100000000000, 4096)\n",
            List.of("--window", "0x1000", "0x7ffffffff000"));
        assertEquals(3, result.exitCode());
        assertTrue(result.err().contains("is not free in this process"), result.err());
    }

    @Test
    void statementsThatWouldReachTheRunnerItselfAreRefused() throws IOException
    {
        final HostReplay.Result result = host.run("""
            munmap(0x100000000000, 4096)
            madvise(0x100000000000, 0x6f0000000000, MADV_DONTNEED)
            """, List.of());
        assertEquals(3, result.exitCode());
        assertEquals("munmap(0x100000000000, 4096) = 0\n", result.out());
        assertTrue(result.err().contains("-:2: refusing to run 'madvise(0x100000000000, 0x6f0000000000, MADV_DONTNEED)'"),
            result.err());
    }
}
