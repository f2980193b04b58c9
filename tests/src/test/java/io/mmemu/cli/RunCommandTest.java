package io.mmemu.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code mmemu run} from the command line: the JSON report's keys and values for a program whose
 * counts follow from Linux's rules by hand, the exit statuses, option precedence, malformed
 * programs and options, and replay's output run back as a program.
 */
final class RunCommandTest
{
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * 16 pages written (16 faults); read back (none); a write to the write-protected first page (1
     * fault, SEGV_ACCERR); the upper half unmapped, then read there (1 fault, SEGV_MAPERR) and over
     * all 16 pages (stops at page 8: 1 fault, SEGV_MAPERR). 8 data pages and 4 table pages stay
     * (PML4, PDPT, PD, one PT).
     */
    private static final String KNOWN = """
        # counts known by hand
        a = mmap(NULL, 64K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
        touch(a, 64K, PROT_WRITE) value 9 expect ok
        touch(a, 64K, PROT_READ) value 9 expect ok
        mprotect(a, 4K, PROT_READ) expect ok
        touch(a, 4K, PROT_WRITE) expect SIGSEGV SEGV_ACCERR
        munmap(a + 32K, 32K) = 0
        touch(a + 32K, 4K, PROT_READ) expect SIGSEGV SEGV_MAPERR
        touch(a, 64K, PROT_READ) expect SIGSEGV SEGV_MAPERR
        """;

    @TempDir
    Path dir;

    private Path write(final String name, final String text) throws IOException
    {
        return Files.writeString(dir.resolve(name), text);
    }

    private CommandOutput run(final String... args)
    {
        final List<String> all = new ArrayList<>(List.of("run"));
        all.addAll(List.of(args));
        all.addAll(List.of("--counters", "none"));
        return CommandOutput.run(all.toArray(String[]::new));
    }

    @Test
    void overcommitFlagOverridesTheProgramsOptionAndBadValuesAreRefused() throws IOException
    {
        final Path program = write("oc.mm", """
            option overcommit 1
            a = mmap(NULL, 1G, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
            """);
        final CommandOutput always = run(program.toString(), "--physmem", "64M", "--json", "-");
        assertEquals(0, always.exitCode(), always.out() + always.err());
        assertEquals(1L << 30, JSON.readTree(always.out()).path("memory").path("committed_as_bytes").asLong());
        final CommandOutput strict = run(program.toString(), "--physmem", "64M", "--overcommit", "2,ratio=90");
        assertEquals(1, strict.exitCode(), "1 GiB on 64 MiB under strict overcommit: ENOMEM, an unmet expectation");
        assertTrue(strict.out().contains("errno ENOMEM") || strict.out().contains("ENOMEM"), strict.out());
        assertTrue(strict.out().contains("overcommit 2,ratio=90"), strict.out());
        final CommandOutput bad = run(program.toString(), "--overcommit", "2,ratio=x");
        assertEquals(2, bad.exitCode());
        assertTrue(bad.err().contains("overcommit ratio takes a decimal number"), bad.err());
    }

    @Test
    void aProgramThatExhaustsMemoryIsKilledByTheOomKiller() throws IOException
    {
        final Path program = write("oom.mm", """
            a = mmap(NULL, 64M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) expect ok
            touch(a, 64M, PROT_WRITE) expect ok
            """);
        final CommandOutput r = run(program.toString(), "--physmem", "16M", "--json", "-");
        assertEquals(1, r.exitCode(), r.err());
        final JsonNode report = JSON.readTree(r.out());
        assertTrue(report.path("killed").asText().startsWith("killed by the OOM killer"), report.path("killed").asText());
        assertEquals(1, report.path("counters").path("oom_kill").asLong());
        assertEquals(0, report.path("counters").path("sigbus").asLong());
        assertEquals(0, report.path("memory").path("data_frames").asLong());
    }

    @Test
    void jsonReportHasTheKeysAndTheValuesTheProgramImplies() throws IOException
    {
        final Path program = write("known.mm", KNOWN);
        final Path json = dir.resolve("report.json");
        final CommandOutput r = run(program.toString(), "--physmem", "64M", "--json", json.toString(), "--seed", "7");
        assertEquals("", r.err());
        assertEquals(0, r.exitCode(), r.out());
        final JsonNode report = JSON.readTree(json.toFile());
        assertEquals(program.toString(), report.path("program").asText());
        final JsonNode counters = report.path("counters");
        assertEquals(19, counters.path("faults").asLong());
        assertEquals(0, counters.path("fault_waits").asLong());
        assertEquals(0, counters.path("fault_retries").asLong());
        assertEquals(2, counters.path("sigsegv_maperr").asLong());
        assertEquals(1, counters.path("sigsegv_accerr").asLong());
        assertEquals(0, counters.path("sigbus").asLong());
        final JsonNode latency = report.path("latency").path("fault");
        assertEquals(19, latency.path("count").asLong());
        final long p50 = latency.path("p50_ns").asLong();
        final long p99 = latency.path("p99_ns").asLong();
        final long p999 = latency.path("p999_ns").asLong();
        final long max = latency.path("max_ns").asLong();
        assertTrue(0 < p50 && p50 <= p99 && p99 <= p999 && p999 <= max, latency.toString());
        assertEquals(4, report.path("memory").path("page_table_pages").asLong());
        assertEquals(8, report.path("memory").path("data_frames").asLong());
        assertTrue(report.path("memory").path("rss_bytes").asLong() > 0);
        assertEquals(0, report.path("failed_expectations").asLong());
        assertEquals(8, report.path("statements").path("executed").asLong());
        final JsonNode options = report.path("options");
        assertEquals(64L << 20, options.path("physmem").asLong());
        assertEquals("full", options.path("backing").asText());
        assertEquals("per-vma", options.path("locking").asText());
        assertEquals(1L << 30, options.path("section").asLong());
        assertEquals(7, options.path("seed").asLong());
        assertTrue(options.path("duration_ns").isNull());
        assertEquals(4, options.path("threads").asLong());
        assertEquals("0", options.path("overcommit").asText(), "Linux's heuristic by default");
        assertEquals(8L << 12, report.path("memory").path("committed_as_bytes").asLong(), "64 KiB private writable, half unmapped");
        assertEquals(16L << 12, report.path("memory").path("committed_as_peak_bytes").asLong());
        assertEquals(32L << 20, report.path("memory").path("commit_limit_bytes").asLong(), "ratio 50 of 64 MiB, no swap");
        assertEquals(0, counters.path("oom_kill").asLong());
        assertTrue(report.path("error").isNull());
        assertFalse(report.path("interrupted").asBoolean());
        // the table says the same
        assertTrue(r.out().contains("faults               19  ("), r.out());
        assertTrue(r.out().contains("SIGSEGV              2 SEGV_MAPERR, 1 SEGV_ACCERR"), r.out());
        assertTrue(r.out().contains("failed expectations  0"), r.out());
    }

    @Test
    void theFinalAddressSpaceIsShownAndDumpedAsAsked() throws IOException
    {
        final Path program = write("views.mm", """
            a = mmap(0x100000000000, 64K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
            touch(a, 32K, PROT_WRITE)
            mprotect(a, 16K, PROT_READ)
            """);
        final Path dump = dir.resolve("views.dump");
        final Path html = dir.resolve("views.html");
        final CommandOutput r = run(program.toString(), "--physmem", "64M", "--quiet", "--maps", "--smaps", "--ptdump",
            "--dump", dump.toString(), "--html", html.toString());
        assertEquals(0, r.exitCode(), r.err());
        // the mprotect split the mapping in two: read-only then read-write
        assertTrue(r.out().contains("100000000000-100000004000 r--p 00000000 00:00 0 \n"), r.out());
        assertTrue(r.out().contains("100000004000-100000010000 rw-p 00000000 00:00 0 \n"), r.out());
        assertTrue(r.out().contains("Private_Dirty:        16 kB"), "smaps of the written pages: " + r.out());
        assertTrue(r.out().contains("---[ User Space ]---"), "ptdump: " + r.out());
        assertTrue(Files.size(dump) > 0 && Files.size(html) > 0);
        final CommandOutput inspected = CommandOutput.run("inspect", dump.toString(), "--maps");
        assertEquals(0, inspected.exitCode(), inspected.err());
        assertTrue(inspected.out().contains("100000000000-100000004000 r--p"), "the dump holds the same VMAs: " + inspected.out());
    }

    private static final String MID_RUN = """
        a = mmap(0x100000000000, 64K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
        touch(a, 32K, PROT_WRITE)
        mprotect(a, 16K, PROT_READ)
        show maps
        dump "mid.dump"
        munmap(a, 64K)
        show maps
        """;

    /** The text of the view whose header names {@code what} at line {@code line}, from a run's view output. */
    private static String view(final String output, final String what, final int line)
    {
        final String[] parts = output.split("(?m)^(?===> view )");
        for (final String part : parts)
        {
            final int newline = part.indexOf('\n');
            final String header = part.substring(0, newline);
            if (header.matches("==> view \\d+: " + java.util.regex.Pattern.quote(what) + " at .*:" + line +
                ", thread main, \\d+\\.\\d{3} ms <=="))
            {
                return part.substring(newline + 1);
            }
        }
        throw new AssertionError("no view '" + what + "' of line " + line + " in:\n" + output);
    }

    @Test
    void aDumpTakenMidRunOpensInInspectWithTheMapsOfThatMoment() throws IOException
    {
        final Path out = dir.resolve("out");
        final CommandOutput r = run(write("mid.mm", MID_RUN).toString(), "--physmem", "64M", "--quiet", "--views-dir", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        final String views = Files.readString(out.resolve("views.txt"));
        final String mid = view(views, "maps", 4);
        assertEquals(2, mid.lines().count(), "the mprotect split the mapping: " + mid);
        view(views, "dump " + out.toAbsolutePath().resolve("mid.dump"), 5);
        assertEquals("", view(views, "maps", 7), "after the munmap");
        assertFalse(r.out().contains("==> view"), "views go to the file: " + r.out());
        assertTrue(r.out().contains("failed expectations  0"), r.out());
        final CommandOutput inspected = CommandOutput.run("inspect", out.resolve("mid.dump").toString(), "--maps");
        assertEquals(0, inspected.exitCode(), inspected.err());
        assertEquals(mid, inspected.out());
    }

    @Test
    void viewsPrecedeTheReportOnStandardOutputAndGoToStandardErrorWithJsonThere() throws IOException
    {
        final Path program = write("mid.mm", MID_RUN.replace("dump \"mid.dump\"", "dump \"" + dir.resolve("x.dump") + "\""));
        final CommandOutput table = run(program.toString(), "--physmem", "64M", "--quiet");
        assertEquals(0, table.exitCode(), table.err());
        assertEquals(2, view(table.out(), "maps", 4).lines().count());
        assertTrue(table.out().indexOf("==> view 3: maps") < table.out().indexOf("failed expectations  0"), table.out());
        final CommandOutput json = run(program.toString(), "--physmem", "64M", "--quiet", "--json", "-");
        assertEquals(0, json.exitCode(), json.err());
        assertEquals(0, JSON.readTree(json.out()).path("failed_expectations").asLong(), "standard output is the JSON alone");
        assertEquals(view(table.out(), "maps", 4), view(json.err(), "maps", 4));
    }

    @Test
    void aDumpThatCannotBeWrittenStopsTheRunWithItsPosition() throws IOException
    {
        final Path program = write("bad.mm", MID_RUN.replace("dump \"mid.dump\"", "dump \"" + dir.resolve("no/such.dump") + "\""));
        final CommandOutput r = run(program.toString(), "--physmem", "64M", "--quiet");
        assertEquals(1, r.exitCode(), r.err());
        assertTrue(r.out().contains("stopped              " + program + ":5:1: cannot write " + dir.resolve("no/such.dump") +
            ": no such directory"), r.out());
        assertFalse(r.out().contains("==> view 2"), "nothing after the dump ran: " + r.out());
    }

    @Test
    void jsonToStandardOutputReplacesTheTable() throws IOException
    {
        final CommandOutput r = run(write("known.mm", KNOWN).toString(), "--physmem", "64M", "--json", "-");
        assertEquals(0, r.exitCode());
        assertEquals(19, JSON.readTree(r.out()).path("counters").path("faults").asLong());
    }

    @Test
    void aFailedExpectationIsReportedAndExitsOne() throws IOException
    {
        final CommandOutput r = run(write("f.mm", "munmap(0x1000, 4096) expect errno EINVAL\n").toString(), "--physmem", "64M");
        assertEquals(1, r.exitCode());
        assertTrue(r.out().contains("failed expectations  1"), r.out());
        assertTrue(r.out().contains("f.mm:1:1: munmap(0x1000, 4096) = 0, expected errno EINVAL"), r.out());
    }

    /** The documented exit status (README, docs/language.md, the help): 0 all held, 1 some failed, 2 bad input. */
    @Test
    void theExitStatusSaysWhetherEveryExpectationHeld() throws IOException
    {
        final String held = write("held.mm", "munmap(0x1000, 4096) expect ok\n").toString();
        assertEquals(0, run(held, "--physmem", "64M").exitCode());
        final String failed = write("failed.mm", "munmap(0x1000, 4096) expect ok\nmunmap(0x1001, 4096) expect ok\n")
            .toString();
        assertEquals(1, run(failed, "--physmem", "64M").exitCode());
        final CommandOutput bad = run(write("bad.mm", "munmap(0x1000)\n").toString(), "--physmem", "64M");
        assertEquals(2, bad.exitCode(), bad.err());
        assertEquals(2, run(held, "--physmem", "64M", "--locking", "no-such-mode").exitCode());
    }

    /** A statement failing thousands of times is one line of the table and one JSON group. */
    @Test
    void failuresAreGroupedByStatementWithCountAndAddresses() throws IOException
    {
        final String program = write("many.mm", """
            a = mmap(0x10000000, 4M, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect ok
            repeat 1024 as i {
                touch(a + i * 4K, 1, PROT_WRITE) expect ok
            }
            """).toString();
        final CommandOutput table = run(program, "--physmem", "64M");
        assertEquals(1, table.exitCode(), table.err());
        assertTrue(table.out().contains("failed expectations  1024\n  " + program + ":3:5: 1024 times at 0x10000000 .. "
            + "0x103ff000, the first: touch(a + i * 4K, 1, PROT_WRITE) = SIGSEGV {si_code=SEGV_ACCERR, "
            + "si_addr=0x10000000}, expected ok\n"), table.out());
        final CommandOutput json = run(program, "--physmem", "64M", "--json", "-");
        final JsonNode report = JSON.readTree(json.out());
        assertEquals(1024, report.path("failed_expectations").asLong());
        assertEquals(20, report.path("failures").size());
        final JsonNode groups = report.path("failure_groups");
        assertEquals(1, groups.size(), groups.toString());
        assertEquals(program + ":3:5", groups.get(0).path("statement").asText());
        assertEquals(1024, groups.get(0).path("count").asLong());
        assertEquals("0x10000000", groups.get(0).path("first_address").asText());
        assertEquals("0x103ff000", groups.get(0).path("last_address").asText());
        assertTrue(groups.get(0).path("first").asText().startsWith("touch(a + i * 4K, 1, PROT_WRITE) = SIGSEGV"),
            groups.toString());
    }

    @Test
    void malformedProgramsAreReportedWithFileLineColumnAndDoNotRun() throws IOException
    {
        final Path program = write("bad.mm", "a = 4096\nmunmap(y, a)\nrepeat 2 {\n    sleep 3\n}\n");
        final CommandOutput r = run(program.toString());
        assertEquals(2, r.exitCode());
        assertEquals("", r.out());
        assertEquals(program + ":2:8: unknown name 'y': no variable or param of that name is defined above\n" +
            program + ":4:11: expected a duration after 'sleep' (500ms, 5s, 1min, or a param holding one), found '3'\n", r.err());
    }

    @Test
    void badOptionsExitTwo() throws IOException
    {
        final String program = write("ok.mm", "munmap(0x1000, 4096)\nparam N = 1\n").toString();
        for (final String[] bad : new String[][] {{"--backing", "fully"}, {"--locking", "none"}, {"--duration", "5"},
            {"--threads", "0"}, {"--set", "NOPE=1"}, {"--set", "N"}, {"--physmem", "1K"}})
        {
            final List<String> args = new ArrayList<>(List.of(program));
            args.addAll(List.of(bad));
            final CommandOutput r = run(args.toArray(String[]::new));
            assertEquals(2, r.exitCode(), () -> String.join(" ", bad) + ": " + r.err());
            assertTrue(r.err().startsWith("mmemu run: "), r.err());
            assertEquals(1, r.err().lines().count(), r.err());
        }
        final CommandOutput missing = run(dir.resolve("missing.mm").toString());
        assertEquals(2, missing.exitCode());
        assertTrue(missing.err().contains("no such file"), missing.err());
    }

    @Test
    void theCommandLineOverridesTheProgramsOptions() throws IOException
    {
        final Path program = write("o.mm", "option locking mmap-lock\noption physmem 32M\nparam N = 2\nrepeat N {\n    munmap(0x1000, 4096)\n}\n");
        final JsonNode fromProgram = JSON.readTree(run(program.toString(), "--json", "-").out());
        assertEquals("mmap-lock", fromProgram.path("options").path("locking").asText());
        assertEquals(32L << 20, fromProgram.path("options").path("physmem").asLong());
        assertEquals(2, fromProgram.path("statements").path("executed").asLong());
        final JsonNode overridden = JSON.readTree(run(program.toString(), "--json", "-", "--locking", "per-vma",
            "--set", "N=5").out());
        assertEquals("per-vma", overridden.path("options").path("locking").asText());
        assertEquals("5", overridden.path("options").path("params").path("N").asText());
        assertEquals(5, overridden.path("statements").path("executed").asLong());
    }

    @Test
    void replayOutputRunsAsAProgramWithEveryResultChecked() throws IOException
    {
        final String script = """
            mmap(0x100000000000, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
            mprotect(0x100000001000, 4096, PROT_READ)
            touch(0x100000000000, 16384, PROT_WRITE)
            munmap(0x100000002000, 4096)
            touch(0x100000000000, 16384, PROT_READ)
            mremap(0x100000000000, 4096, 8192, 0)
            munmap(0x100000000001, 4096)
            mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
            madvise(0x100000000000, 4096, MADV_DONTNEED)
            """;
        final CommandOutput replayed = CommandOutput.run("replay", write("s.strace", script).toString(), "--physmem", "64M");
        assertEquals(0, replayed.exitCode(), replayed.err());
        assertTrue(replayed.out().contains("= SIGSEGV {si_code=SEGV_ACCERR"), replayed.out());
        assertTrue(replayed.out().contains("= -1 EINVAL (Invalid argument)"), replayed.out());
        // the script itself is a program (no expectations), and so is replay's output (every result expected)
        assertEquals(0, run(dir.resolve("s.strace").toString(), "--physmem", "64M").exitCode());
        final CommandOutput checked = run(write("out.strace", replayed.out()).toString(), "--physmem", "64M", "--json", "-");
        assertEquals(0, checked.exitCode(), checked.out());
        assertEquals(0, JSON.readTree(checked.out()).path("failed_expectations").asLong());
        // and a result that differs is caught
        final String wrong = replayed.out().replace("= SIGSEGV {si_code=SEGV_ACCERR", "= SIGSEGV {si_code=SEGV_MAPERR");
        assertEquals(1, run(write("wrong.strace", wrong).toString(), "--physmem", "64M").exitCode());
    }

    @Test
    void aProgramFromStandardInput()
    {
        final CommandOutput r = CommandOutput.runWithInput("munmap(0x1000, 4096) expect ok\n", "run", "-", "--counters", "none",
            "--physmem", "64M", "--json", "-");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("\"program\" : \"<stdin>\""), r.out());
    }
}
