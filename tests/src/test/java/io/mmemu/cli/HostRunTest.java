package io.mmemu.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmemu.host.NativeBuild;
import io.mmemu.program.HostRun;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code mmemu run --host} and {@code --compare}: the same parsed program on the host kernel, in the
 * native runner (built with cc on first use; skipped, with the reason, where there is no compiler).
 */
final class HostRunTest
{
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path EXAMPLES = Path.of("..", "examples");
    /** The examples that cannot run on the host; each says why in its header. */
    private static final List<String> NOT_ON_HOST = List.of("views.mm", "prefork.mm", "thp.mm");

    @TempDir
    Path dir;

    @BeforeAll
    static void runnerBuilds() throws IOException
    {
        try
        {
            HostRun.runner();
        }
        catch (final NativeBuild.Unavailable ex)
        {
            System.err.println("HostRunTest skipped: " + ex.getMessage());
            Assumptions.abort(ex.getMessage());
        }
    }

    private Path program(final String text) throws IOException
    {
        final Path file = dir.resolve("t.mm");
        Files.writeString(file, text);
        return file;
    }

    private static JsonNode json(final CommandOutput r) throws IOException
    {
        return JSON.readTree(r.out());
    }

    /** Also: the program has no files, as on the emulator (the runner's own descriptors are out of its way). */
    @Test
    void faultsAreCountedAndSignalsToldApartBySiCode() throws IOException
    {
        final Path p = program("""
            a = mmap(NULL, 256 * 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
            touch(a, 256 * 4096, PROT_WRITE) value 0x5a expect ok
            touch(a, 256 * 4096, PROT_READ) value 0x5a expect ok
            mprotect(a, 4096, PROT_READ) expect ok
            touch(a, 4096, PROT_WRITE) expect SIGSEGV SEGV_ACCERR
            touch(a, 4096, PROT_READ) expect ok
            munmap(a, 256 * 4096) = 0
            touch(a + 4096, 4096, PROT_READ) expect SIGSEGV SEGV_MAPERR
            mmap(a, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect value a
            mmap(a, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0) expect errno EEXIST
            mmap(NULL, 4096, PROT_READ, MAP_SHARED, 1, 0) expect errno EBADF
            """);
        final CommandOutput r = CommandOutput.run("run", p.toString(), "--host", "--json", "-");
        assertEquals("", r.err());
        final JsonNode report = json(r);
        assertEquals(0, r.exitCode(), report::toString);
        assertEquals(0, report.path("failed_expectations").asLong(), () -> report.path("failures").toString());
        final JsonNode counters = report.path("counters");
        // 256 write faults, plus the two signals; a few of the runner's own (its thread's stack) at most
        final long faults = counters.path("faults").asLong();
        assertTrue(faults >= 258 && faults < 258 + 32, () -> "faults " + faults);
        assertEquals(1, counters.path("sigsegv_maperr").asLong());
        assertEquals(1, counters.path("sigsegv_accerr").asLong());
        assertEquals(11, report.path("statements").path("executed").asLong());
        assertEquals(1, report.path("statements").path("segv_maperr").asLong());
        assertEquals(1, report.path("statements").path("segv_accerr").asLong());
        assertEquals("host", report.path("options").path("locking").asText());
        // the faults were timed: one latency per served fault
        assertTrue(report.path("latency").path("fault").path("count").asLong() >= 256);
        assertTrue(report.path("error").isNull(), () -> report.path("error").asText());
    }

    @Test
    void failedExpectationsAreReportedWithTheirPositionsAndExitOne() throws IOException
    {
        final Path p = program("""
            a = mmap(NULL, 4 * 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
            touch(a, 4 * 4096, PROT_WRITE) value 7 expect ok
            touch(a, 4 * 4096, PROT_READ) value 9 expect ok
            munmap(a, 4 * 4096) expect ok
            touch(a, 4096, PROT_READ) expect ok or SIGSEGV SEGV_ACCERR
            munmap(a, 4096) expect errno EINVAL or value a
            """);
        final CommandOutput r = CommandOutput.run("run", p.toString(), "--host", "--json", "-");
        final JsonNode report = json(r);
        assertEquals(1, r.exitCode());
        assertEquals(3, report.path("failed_expectations").asLong());
        final List<String> failures = new ArrayList<>();
        report.path("failures").forEach(f -> failures.add(f.asText()));
        final String a = "0x" + failures.get(1).replaceAll(".*si_addr=0x([0-9a-f]+).*", "$1");
        assertEquals(List.of(
            p + ":3:1: 4 read(s) saw another byte than 9, the first 0x7 at " + a,
            p + ":5:1: touch(a, 4096, PROT_READ) = SIGSEGV {si_code=SEGV_MAPERR, si_addr=" + a + "}, expected ok or SIGSEGV SEGV_ACCERR",
            p + ":6:1: munmap(a, 4096) = 0, expected errno EINVAL or value " + a), failures);
    }

    @Test
    void failuresAreGroupedByStatementOnTheHostAsOnTheEmulator() throws IOException
    {
        final Path p = program("""
            a = mmap(NULL, 4M, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
            repeat 1024 as i {
                touch(a + i * 4K, 1, PROT_WRITE) expect ok
            }
            munmap(a, 4M) expect errno EINVAL
            """);
        final CommandOutput r = CommandOutput.run("run", p.toString(), "--compare", "--json", "-");
        assertEquals(1, r.exitCode(), r.err());
        final JsonNode both = json(r);
        for (final String side : List.of("emulator", "host"))
        {
            final JsonNode report = both.path(side);
            assertEquals(1025, report.path("failed_expectations").asLong(), side);
            assertEquals(20, report.path("failures").size(), side);
            final JsonNode groups = report.path("failure_groups");
            assertEquals(2, groups.size(), side + ": " + groups);
            final JsonNode touches = groups.get(0);
            assertEquals(p + ":3:5", touches.path("statement").asText(), side);
            assertEquals(1024, touches.path("count").asLong(), side);
            final long first = Long.decode(touches.path("first_address").asText());
            assertEquals(first + 1023 * 4096L, Long.decode(touches.path("last_address").asText()), side);
            assertTrue(touches.path("first").asText().startsWith("touch(a + i * 4K, 1, PROT_WRITE) = SIGSEGV {si_code=SEGV_ACCERR"),
                side + ": " + touches);
            final JsonNode unmap = groups.get(1);
            assertEquals(p + ":5:1", unmap.path("statement").asText(), side);
            assertEquals(1, unmap.path("count").asLong(), side);
            assertEquals(first, Long.decode(unmap.path("first_address").asText()), side);
            assertEquals("munmap(a, 4M) = 0, expected errno EINVAL", unmap.path("first").asText(), side);
        }
    }

    @Test
    void eventsBarriersJoinsAndLoopsOrderThreadsAsOnTheEmulator() throws IOException
    {
        final Path p = program("""
            param ROUNDS = 3
            base = mmap(NULL, 16 * 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
            thread writer {
                wait go
                touch(base, 16 * 4096, PROT_WRITE) value 7 expect ok
                post written
            }
            post go
            wait written
            parallel 4 {
                repeat ROUNDS as i {
                    touch(base + tid * 4 * 4096 + i * 4096, 4096, PROT_READ) value 7 expect ok
                    barrier
                }
                mine = base + tid * 4 * 4096
                touch(mine, 4096, PROT_WRITE) value tid expect ok
                barrier
                touch(base + (tid + 1) % nthreads * 4 * 4096, 4096, PROT_READ) value (tid + 1) % nthreads expect ok
            }
            join writer
            munmap(base, 16 * 4096) expect ok
            """);
        for (final String side : new String[] {"--host", "--compare"})
        {
            final Path out = dir.resolve("report" + side + ".json");
            final CommandOutput r = CommandOutput.run("run", p.toString(), side, "--json", out.toString(), "--counters", "none");
            assertEquals(0, r.exitCode(), r::toString);
            final JsonNode root = JSON.readTree(out.toFile());
            final JsonNode host = side.equals("--host") ? root : root.path("host");
            assertEquals(0, host.path("failed_expectations").asLong(), () -> host.path("failures").toString());
            assertEquals(1 + 1 + 4 * 3 + 4 * 2 + 1, host.path("statements").path("executed").asLong());
            assertTrue(host.path("error").isNull(), () -> host.path("error").asText());
        }
    }

    @Test
    void aDeadlockStopsTheHostRunAndNamesTheWaiters() throws IOException
    {
        final Path p = program("""
            thread a {
                wait x
                post y
            }
            wait y
            post x
            """);
        final CommandOutput r = CommandOutput.run("run", p.toString(), "--host", "--json", "-");
        final JsonNode report = json(r);
        assertEquals(1, r.exitCode());
        final String error = report.path("error").asText();
        assertTrue(error.startsWith("deadlock: every thread waits and none can go on:"), error);
        assertTrue(error.contains("main at 'wait y' (line 5)") && error.contains("a at 'wait x' (line 2)"), error);
    }

    @Test
    void anUnexpectedSignalAfterSignalsFatalKillsTheRunOnBothSides() throws IOException
    {
        final Path p = program("""
            base = mmap(0x200000000000, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect ok
            touch(base + 4096, 4096, PROT_READ)
            signals fatal
            touch(base + 4096, 4096, PROT_READ) expect SIGSEGV
            touch(base, 4096, PROT_WRITE)
            touch(base, 4096, PROT_READ) expect ok
            """);
        final Path out = dir.resolve("fatal.json");
        final CommandOutput r = CommandOutput.run("run", p.toString(), "--compare", "--json", out.toString(), "--counters", "none");
        assertEquals(1, r.exitCode());
        final JsonNode both = JSON.readTree(out.toFile());
        for (final String side : new String[] {"emulator", "host"})
        {
            final JsonNode report = both.path(side);
            assertEquals(p + ":5:1: touch(base, 4096, PROT_WRITE) raised SIGSEGV {si_code=SEGV_ACCERR, si_addr=0x200000000000}",
                report.path("killed").asText(), side);
            assertEquals(4, report.path("statements").path("executed").asLong(), side);
            assertEquals(0, report.path("failed_expectations").asLong(), side);
        }
    }

    @Test
    void aRunTimeErrorStopsTheRunWithItsPosition() throws IOException
    {
        final Path p = program("""
            a = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
            zero = a - a
            x = 1 / zero
            """);
        final CommandOutput r = CommandOutput.run("run", p.toString(), "--host", "--json", "-");
        assertEquals(1, r.exitCode());
        assertEquals(p + ":3:7: division by zero", json(r).path("error").asText());
    }

    @Test
    void statementsTheHostCannotRunAreRefusedBeforeTheRunWithTheirPositions() throws IOException
    {
        final Path p = program("""
            param SIZE = 1P
            a = mmap(NULL, SIZE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) expect ok
            show maps
            brk(0)
            parallel 2 {
                touch(a + tid * (SIZE / nthreads), SIZE / nthreads, PROT_WRITE) stride 64K expect ok
            }
            dump "x.dump"
            """);
        final CommandOutput r = CommandOutput.run("run", p.toString(), "--host");
        assertEquals(2, r.exitCode());
        assertEquals("", r.out());
        final List<String> lines = r.err().lines().toList();
        assertEquals(4, lines.size(), r.err());
        assertTrue(lines.get(0).startsWith(p + ":3:1: cannot run on the host: 'show maps' reads the emulator's page tables"), lines.get(0));
        assertTrue(lines.get(1).startsWith(p + ":4:1: cannot run on the host: brk moves the program break"), lines.get(1));
        assertTrue(lines.get(2).startsWith(p + ":6:5: cannot run on the host: by here the program writes up to 64.0 TiB"), lines.get(2));
        assertTrue(lines.get(3).startsWith(p + ":8:1: cannot run on the host: 'dump' writes"), lines.get(3));
        // the same with --compare: nothing runs, not even on the emulator
        final CommandOutput both = CommandOutput.run("run", p.toString(), "--compare");
        assertEquals(2, both.exitCode());
        assertEquals("", both.out());
        assertEquals(r.err(), both.err());
    }

    @Test
    void rangesThatReachTheRunnersOwnMappingsAreRefusedConstantOnesBeforeTheRun() throws IOException
    {
        // the whole lower half of the address space holds the runner's code, heap, stacks, wherever ASLR put them
        final Path constant = program("""
            munmap(0x10000, 0x7fff00000000)
            """);
        final CommandOutput before = CommandOutput.run("run", constant.toString(), "--host");
        assertEquals(2, before.exitCode());
        assertTrue(before.err().startsWith(constant + ":1:1: cannot run on the host: [0x10000, +0x7fff00000000) reaches " +
            "the host runner's own mapping"), before.err());
        final CommandOutput beforeBoth = CommandOutput.run("run", constant.toString(), "--compare");
        assertEquals(2, beforeBoth.exitCode());
        assertEquals("", beforeBoth.out(), "nothing ran, not even on the emulator");
        assertEquals(before.err(), beforeBoth.err());

        final Path computed = program("""
            a = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
            touch(a, 4096, PROT_READ) expect ok
            munmap(a - a + 0x10000, 0x7fff00000000)
            touch(a, 4096, PROT_READ) expect ok
            """);
        final CommandOutput during = CommandOutput.run("run", computed.toString(), "--host", "--json", "-");
        final JsonNode report = json(during);
        assertEquals(1, during.exitCode());
        assertTrue(report.path("error").asText().startsWith(computed + ":3:1: refusing to run this on the host: " +
            "[0x10000, +0x7fff00000000) reaches the runner's own mapping"), report.path("error").asText());
        assertEquals(2, report.path("statements").path("executed").asLong(), "the run stopped at the refused statement");
    }

    @Test
    void anExpressionDeeperThanTheRunnersStackIsRefusedBeforeTheRun() throws IOException
    {
        final String nested = "(a + ".repeat(70) + "a" + ")".repeat(70);
        final Path p = program("a = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n" +
            "shallow = " + "a + ".repeat(200) + "a\n" +
            "deep = " + nested + "\n");
        final CommandOutput r = CommandOutput.run("run", p.toString(), "--host");
        assertEquals(2, r.exitCode());
        assertEquals(p + ":3:1: cannot run on the host: an expression nests deeper than the runner's 64 levels\n", r.err());
    }

    @Test
    void emulatorOnlyOptionsAreRefusedWithHost() throws IOException
    {
        final Path p = program("munmap(0x100000, 4096)\n");
        for (final String[] option : new String[][] {{"--locking", "mmap-lock"}, {"--backing", "tables-only"},
            {"--physmem", "1G"}, {"--maps"}, {"--compare"}})
        {
            final List<String> args = new ArrayList<>(List.of("run", p.toString(), "--host"));
            args.addAll(List.of(option));
            final CommandOutput r = CommandOutput.run(args.toArray(String[]::new));
            assertEquals(2, r.exitCode(), option[0]);
            assertTrue(r.err().startsWith("mmemu run: " + (option[0].equals("--compare") ? "--host and --compare" : option[0])),
                r.err());
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aRunnerThatCrashesIsReportedAsACrashAndNeverHangs() throws Exception
    {
        final Path p = program("""
            a = mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
            sleep 1min
            """);
        final CompletableFuture<CommandOutput> run = CompletableFuture.supplyAsync(
            () -> CommandOutput.run("run", p.toString(), "--host", "--json", "-"));
        // the runner is this JVM's child (not its --check run): kill it with SIGSEGV outside any touch, as a bug
        // of its own would
        try
        {
            ProcessHandle runner = null;
            while (runner == null || !runner.isAlive())
            {
                final Optional<ProcessHandle> child = hostRunners().findFirst();
                if (child.isPresent())
                {
                    runner = child.get();
                    Thread.sleep(300); // past its re-exec and its first statement (and gone, if a check run)
                }
                else
                {
                    Thread.onSpinWait();
                }
            }
            final Process kill = new ProcessBuilder("kill", "-SEGV", Long.toString(runner.pid())).start();
            assertEquals(0, kill.waitFor());
            final CommandOutput r = run.get(20, TimeUnit.SECONDS);
            assertEquals(1, r.exitCode());
            final JsonNode report = json(r);
            assertTrue(report.path("error").asText().startsWith("host runner crashed: SIGSEGV"), report.path("error").asText());
        }
        finally
        {
            // a failed test leaves no runner sleeping (and holding CommandOutput's lock) behind
            hostRunners().forEach(ProcessHandle::destroyForcibly);
        }
    }

    /** This JVM's runs of host_run, without the --check runs before them. */
    private static Stream<ProcessHandle> hostRunners()
    {
        return ProcessHandle.current().descendants()
            .filter(h -> h.info().command().orElse("").endsWith("host_run"))
            .filter(h -> !h.info().commandLine().orElse("").contains("--check"));
    }

    @Test
    void compareShowsBothColumnsWithTheRatioAndWritesBothReports() throws IOException
    {
        final Path p = program("""
            a = mmap(NULL, 64 * 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
            touch(a, 64 * 4096, PROT_WRITE) expect ok
            munmap(a, 64 * 4096) expect ok
            touch(a, 4096, PROT_READ) expect SIGSEGV SEGV_MAPERR
            """);
        final Path out = dir.resolve("both.json");
        final CommandOutput r = CommandOutput.run("run", p.toString(), "--compare", "--json", out.toString(), "--counters", "none");
        assertEquals(0, r.exitCode(), r::toString);
        final List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(0).startsWith(p + ": emulator (per-vma, 4.0 GiB full memory) vs host kernel Linux "), lines.get(0));
        assertTrue(lines.get(1).trim().matches("emulator +host +emu/host"), lines.get(1));
        assertTrue(lines.stream().anyMatch(l -> l.trim().matches("statements +4 +4 +1\\.00")), r.out());
        assertTrue(lines.stream().anyMatch(l -> l.trim().matches("SEGV_MAPERR +1 +1 +1\\.00")), r.out());
        final JsonNode both = JSON.readTree(out.toFile());
        assertEquals(p.toString(), both.path("program").asText());
        assertTrue(both.path("host_kernel").asText().startsWith("Linux "));
        for (final String side : new String[] {"emulator", "host"})
        {
            final JsonNode report = both.path(side);
            assertEquals(4, report.path("statements").path("executed").asLong(), side);
            assertEquals(1, report.path("counters").path("sigsegv_maperr").asLong(), side);
            assertTrue(report.path("counters").path("faults").asLong() >= 65, side);
        }
        assertEquals("per-vma", both.path("emulator").path("options").path("locking").asText());
        assertEquals("host", both.path("host").path("options").path("locking").asText());
        assertEquals(1.0, both.path("ratio").path("statements").asDouble());
        assertTrue(both.path("ratio").path("sigbus").isNull(), "0 on the host: no ratio");
        assertTrue(both.path("ratio").path("faults").asDouble() > 0.5 && both.path("ratio").path("faults").asDouble() < 2);
    }

    @Test
    void randomTouchesVisitTheSamePositionsAsOnTheEmulator() throws IOException
    {
        // every odd page unmapped: a random touch stops at the first odd position it draws, so its
        // si_addr shows which; the threads' streams are split from --seed's as the emulator splits them
        final Path p = program("""
            base = mmap(0x200000000000, 64 * 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect value 0x200000000000
            repeat 32 as i {
                munmap(base + (2 * i + 1) * 4096, 4096) expect ok
            }
            touch(base, 64 * 4096, PROT_READ) random 64 seed 7 expect ok
            touch(base, 64 * 4096, PROT_READ) random 64 expect ok
            parallel 3 {
                touch(base, 64 * 4096, PROT_READ) random 64 expect ok
            }
            munmap(base, 64 * 4096) expect ok
            """);
        final Path out = dir.resolve("random.json");
        final CommandOutput r = CommandOutput.run("run", p.toString(), "--compare", "--seed", "11", "--json", out.toString(),
            "--counters", "none");
        assertEquals(1, r.exitCode(), r::toString);
        final JsonNode both = JSON.readTree(out.toFile());
        final List<List<String>> failures = new ArrayList<>();
        for (final String side : new String[] {"emulator", "host"})
        {
            final List<String> messages = new ArrayList<>();
            both.path(side).path("failures").forEach(f -> messages.add(f.asText()));
            messages.sort(null); // the parallel threads report in any order
            assertEquals(5, messages.size(), side + ": " + messages);
            failures.add(messages);
        }
        assertEquals(failures.get(0), failures.get(1));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "seed.mm              | --set SIZE=64M --set PROBES=64",
        "page_fault1.mm       | --set CHUNK=4M --set TIME=100ms --threads 2",
        "populate_tib.mm      | --set SIZE=4G",
        "fixed_storm.mm       | --set SIZE=32M --set TIME=100ms",
        "churn.mm             | --set SIZE=1M --set TIME=100ms --threads 2",
        "mapbench_local.mm    | --set TIME=100ms --threads 2",
        "mapbench_pipeline.mm | --set ROUNDS=50 --threads 3",
        "mapbench_global.mm   | --set ROUNDS=50 --threads 3",
        "unmap_race.mm        | --set POPULATED=16M --set HOLE=4M --set TAIL=4M",
        "swap.mm              | --set SIZE=16M",
    })
    void everyExampleRunsOnTheHostAtASmallSizeWithEveryExpectationMet(final String example, final String options)
        throws IOException
    {
        final List<String> args = new ArrayList<>(List.of("run", EXAMPLES.resolve(example).toString(), "--host", "--json", "-"));
        args.addAll(List.of(options.trim().split(" +")));
        final CommandOutput r = CommandOutput.run(args.toArray(String[]::new));
        assertEquals("", r.err());
        final JsonNode report = json(r);
        assertEquals(0, report.path("failed_expectations").asLong(), () -> report.path("failures").toString());
        assertTrue(report.path("error").isNull(), () -> report.path("error").asText());
        assertTrue(report.path("counters").path("faults").asLong() > 0);
        assertEquals(0, r.exitCode());
    }

    @Test
    void everyExampleRunsOnTheHostOrSaysWhyNot() throws IOException
    {
        final String tested = Files.readString(Path.of("src/test/java/io/mmemu/cli/HostRunTest.java"));
        try (Stream<Path> files = Files.list(EXAMPLES))
        {
            for (final Path example : files.filter(f -> f.toString().endsWith(".mm")).sorted().toList())
            {
                final String name = example.getFileName().toString();
                final String header = String.join("\n", Files.readAllLines(example).stream()
                    .takeWhile(l -> l.startsWith("#")).toList());
                if (NOT_ON_HOST.contains(name))
                {
                    assertTrue(header.contains("cannot run on the host"), name + ": its header says why it cannot run with --host");
                    final CommandOutput r = CommandOutput.run("run", example.toString(), "--host");
                    assertEquals(2, r.exitCode(), name);
                }
                else
                {
                    assertTrue(tested.contains("\"" + name + " "), name + " is run on the host by this test");
                    assertTrue(header.contains("--host") || header.contains("--compare"),
                        name + ": its header says how to run it on the host");
                }
                assertFalse(header.isEmpty(), name);
            }
        }
    }
}
