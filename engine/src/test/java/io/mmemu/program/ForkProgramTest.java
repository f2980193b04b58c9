package io.mmemu.program;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import io.mmemu.phys.Backing;
import io.mmemu.script.ScriptException;
import io.mmemu.vm.LockingMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code fork { ... }} and {@code wait} in programs: each process sees its own writes and the
 * shared mapping's, the report's per-process and total figures follow from the program by hand,
 * and the statements are checked before the run.
 */
@Timeout(60)
final class ForkProgramTest
{
    private static Report run(final String source, final LockingMode locking) throws IOException
    {
        try
        {
            return new Run(Program.parse("t.mm", source, Map.of()),
                RunOptions.defaults().withPhysicalMemory(64L << 20, Backing.FULL).withLocking(locking)).execute(Run.Progress.NONE);
        }
        catch (final ScriptException ex)
        {
            throw new AssertionError("malformed: " + ex.errors());
        }
    }

    /**
     * The parent writes 8 pages and forks two children. Child k writes k + 1 pages of its own (COW
     * breaks: the parent still maps them) and its page of the shared board; after both exited the
     * parent writes its 8 pages again: no longer shared, every one is reused.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void processesSeeTheirOwnWritesAndTheReportCountsThem(final LockingMode locking) throws IOException
    {
        final Report report = run("""
            data = mmap(NULL, 32K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
            board = mmap(NULL, 8K, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0) expect ok
            touch(data, 32K, PROT_WRITE) value 5 expect ok
            repeat 2 as k {
                fork {
                    touch(data, 32K, PROT_READ) value 5 expect ok
                    touch(data, (k + 1) * 4K, PROT_WRITE) value 9 expect ok
                    touch(data, (k + 1) * 4K, PROT_READ) value 9 expect ok
                    touch(board + k * 4K, 4K, PROT_WRITE) value 7 expect ok
                }
            }
            wait
            touch(board, 8K, PROT_READ) value 7 expect ok
            touch(data, 32K, PROT_READ) value 5 expect ok
            touch(data, 32K, PROT_WRITE) value 6 expect ok
            """, locking);
        assertEquals(0, report.failedExpectations(), () -> report.failures().toString());
        assertNull(report.error());
        final List<Report.ProcessFigures> processes = report.processes();
        assertEquals(List.of("main", "main.1", "main.2"), processes.stream().map(Report.ProcessFigures::name).toList());
        final Report.ProcessFigures main = processes.get(0);
        assertEquals(2, main.forks());
        assertEquals(16, main.forkSharedPages(), "8 pages each fork");
        assertEquals(8, main.cowReuses(), "the children are gone: the parent's pages are its own again");
        assertEquals(0, main.cowBreaks());
        assertEquals(1, processes.get(1).cowBreaks());
        assertEquals(2, processes.get(2).cowBreaks());
        // each child: its copied pages, and the board page it maps in
        assertEquals(2, processes.get(1).faults());
        assertEquals(3, processes.get(2).faults());
        assertEquals(3, report.stats().cowBreaks(), "the total is the processes' sum");
        // the parent: 8 writes, one read of the board (fault-around maps both cached pages), 8 reuses
        assertEquals(8 + 1 + 8 + 2 + 3, report.stats().faults());

        final ByteArrayOutputStream text = new ByteArrayOutputStream();
        report.print(new PrintStream(text, true, StandardCharsets.UTF_8));
        final String table = text.toString(StandardCharsets.UTF_8);
        assertTrue(table.contains("copy on write        3 COW breaks, 8 reused, 16 pages shared by 2 forks"), table);
        assertTrue(table.contains("main.2             faults 3  COW breaks 2"), table);
        final ByteArrayOutputStream json = new ByteArrayOutputStream();
        report.writeJson(json);
        final String j = json.toString(StandardCharsets.UTF_8);
        assertTrue(j.contains("\"cow_breaks\" : 3") && j.contains("\"name\" : \"main.1\""), j);
    }

    /** Children fork too, with threads of their own; the end of the forking block waits for them. */
    @Test
    void grandchildrenAndThreadsInChildren() throws IOException
    {
        final Report report = run("""
            a = mmap(NULL, 16K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
            touch(a, 16K, PROT_WRITE) value 1 expect ok
            fork {
                parallel 2 {
                    touch(a + tid * 4K, 4K, PROT_WRITE) value 2 expect ok
                }
                fork {
                    touch(a, 8K, PROT_READ) value 2 expect ok
                    touch(a + 8K, 8K, PROT_READ) value 1 expect ok
                }
            }
            """, LockingMode.PER_VMA);
        assertEquals(0, report.failedExpectations(), () -> report.failures().toString());
        assertEquals(List.of("main", "main.1", "main.1.1"), report.processes().stream().map(Report.ProcessFigures::name).toList());
        assertEquals(2, report.processes().get(1).cowBreaks());
    }

    /**
     * fork when memory is out (issue 17): the parent's 4096 pages, 2 MiB apart, take 4096 PT pages;
     * the child's copy needs as many again, which 36 MiB does not hold. The run stops with ENOMEM
     * named at the fork's line, the child never ran, and the half-built child's tables went back:
     * what is left is the parent's (its 4096 pages and their tables).
     */
    @Test
    void forkWithoutMemoryStopsTheRunWithEnomemAtTheForkLine() throws IOException
    {
        final String parent = """
            a = mmap(NULL, 8G, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) expect ok
            touch(a, 8G, PROT_WRITE) stride 2M value 1 expect ok
            """;
        final Report report = runIn36MiB(parent + """
            fork {
                touch(a, 4K, PROT_WRITE) value 2 expect ok
            }
            wait
            """);
        assertEquals("t.mm:3:1: fork: ENOMEM, the emulated memory has no room for the child's page tables", report.error());
        assertEquals(1, report.exitStatus());
        assertEquals(0, report.pressure().oomKills(), "fork fails with ENOMEM; it does not call the OOM killer");
        assertEquals(List.of("main"), report.processes().stream().map(Report.ProcessFigures::name).toList(), "no child ran");
        final Report alone = runIn36MiB(parent);
        assertNull(alone.error());
        assertEquals(4096, alone.dataFrames());
        assertEquals(alone.dataFrames(), report.dataFrames());
        assertEquals(alone.tablePages(), report.tablePages(), "the half-built child's tables all went back");
    }

    private static Report runIn36MiB(final String source) throws IOException
    {
        try
        {
            return new Run(Program.parse("t.mm", source, Map.of()),
                RunOptions.defaults().withPhysicalMemory(36L << 20, Backing.FULL).with("thp", "never")).execute(Run.Progress.NONE);
        }
        catch (final ScriptException ex)
        {
            throw new AssertionError("malformed: " + ex.errors());
        }
    }

    @Test
    void malformedForkStatementsAreParseErrors()
    {
        final ScriptException noBrace = assertThrows(ScriptException.class, () -> Program.parse("t.mm", "fork\n", Map.of()));
        assertTrue(noBrace.errors().get(0).toString().contains("expected '{' at the end of 'fork'"), noBrace.errors().toString());
        final ScriptException reserved = assertThrows(ScriptException.class, () -> Program.parse("t.mm", "fork = 1\n", Map.of()));
        assertTrue(reserved.errors().get(0).toString().contains("fork"), reserved.errors().toString());
    }
}
