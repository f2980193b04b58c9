package io.mmemu.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.mmemu.phys.Backing;
import io.mmemu.program.CountersFile;
import io.mmemu.program.Program;
import io.mmemu.program.Report;
import io.mmemu.program.Run;
import io.mmemu.program.RunOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code mmemu stat} reading a running program's live counters file, once and following; bad targets. */
@Timeout(60)
final class StatCommandTest
{
    @TempDir
    Path dir;

    @Test
    void printsTheCountersOfARunningProgramOnceAndFollowing() throws Exception
    {
        final Program program = Program.parse("live.mm", """
            a = mmap(NULL, 1G, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0)
            for 1h {
                touch(a, 1G, PROT_WRITE) random 1000
            }
            """, Map.of());
        final Path file = dir.resolve("live.counters");
        final Run run = new Run(program, RunOptions.defaults().withPhysicalMemory(2L << 30, Backing.TABLES_ONLY).withCounters(file));
        final CompletableFuture<Report> report = CompletableFuture.supplyAsync(() ->
        {
            try
            {
                return run.execute(Run.Progress.NONE);
            }
            catch (final IOException ex)
            {
                throw new IllegalStateException(ex);
            }
        });
        try
        {
            awaitFaults(file);
            final CommandOutput once = CommandOutput.run("stat", file.toString());
            assertEquals(0, once.exitCode(), once.err());
            final List<String> lines = once.out().lines().toList();
            assertEquals(3, lines.size(), once.out());
            assertEquals("# live.mm (pid " + ProcessHandle.current().pid() + ")", lines.get(0));
            final List<String> labels = List.of(lines.get(1).trim().split(" +"));
            assertEquals(List.of("elapsed_ms", "faults", "faults_per_s", "fault_waits", "fault_retries", "sigsegv_maperr",
                "sigsegv_accerr", "sigbus", "page_table_pages", "data_frames", "statements", "failed_expectations",
                "threads"), labels);
            final String[] values = lines.get(2).trim().split(" +");
            assertEquals(labels.size(), values.length);
            assertTrue(Long.parseLong(values[labels.indexOf("faults")]) > 0, lines.get(2));
            assertEquals(1, Long.parseLong(values[labels.indexOf("threads")]), lines.get(2));

            final CommandOutput follow = CommandOutput.run("stat", file.toString(), "--follow", "--count", "3", "--interval", "10ms");
            assertEquals(0, follow.exitCode(), follow.err());
            assertEquals(5, follow.out().lines().count(), follow.out());
        }
        finally
        {
            run.stop();
        }
        assertTrue(report.get(30, TimeUnit.SECONDS).interrupted());
        assertFalse(Files.exists(file), "the file goes when the run ends");
        final CommandOutput gone = CommandOutput.run("stat", file.toString());
        assertEquals(2, gone.exitCode());
        assertTrue(gone.err().contains("no such counters file"), gone.err());
    }

    private static void awaitFaults(final Path file) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline)
        {
            if (Files.exists(file))
            {
                // the run may still be writing the header: not yet a counters file, try again
                try (CountersFile counters = CountersFile.open(file))
                {
                    final long[] faults = {0};
                    counters.reader().forEach((value, id, label) ->
                    {
                        if (label.equals("faults"))
                        {
                            faults[0] = value;
                        }
                    });
                    if (counters.live() && faults[0] > 0)
                    {
                        return;
                    }
                }
                catch (final IOException halfWritten)
                {
                    // next round
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the run never published its counters");
    }

    @Test
    void aFileThatIsNotACountersFileIsRefused() throws IOException
    {
        final Path other = Files.writeString(dir.resolve("other.counters"), "hello");
        final CommandOutput r = CommandOutput.run("stat", other.toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("not an mmemu counters file"), r.err());
        final CommandOutput interval = CommandOutput.run("stat", other.toString(), "--interval", "fast");
        assertEquals(2, interval.exitCode());
        assertTrue(interval.err().contains("--interval takes a positive duration"), interval.err());
    }
}
