package io.mmemu.program;

import java.io.IOException;
import java.util.Map;

import io.mmemu.script.ScriptException;
import io.mmemu.vm.MmStats;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Running programs: counts that follow from the program by hand, expectations, value checks,
 * threads and their synchronisation, and every way a run ends early (deadlock, program error,
 * fatal signal, a stop from outside, the duration cap), each reported, none hanging.
 */
@Timeout(60)
final class RunTest
{
    private static Report run(final String source) throws IOException
    {
        return run(source, RunOptions.defaults().withPhysicalMemory(64L << 20, io.mmemu.phys.Backing.FULL));
    }

    private static Report run(final String source, final RunOptions options) throws IOException
    {
        try
        {
            return new Run(Program.parse("t.mm", source, Map.of()), options).execute(Run.Progress.NONE);
        }
        catch (final ScriptException ex)
        {
            throw new AssertionError("malformed: " + ex.errors());
        }
    }

    private static Program parse(final String source)
    {
        try
        {
            return Program.parse("t.mm", source, Map.of());
        }
        catch (final ScriptException ex)
        {
            throw new AssertionError("malformed: " + ex.errors());
        }
    }

    @Test
    void countsFollowFromTheProgram() throws IOException
    {
        // Linux's anonymous-fault rules: a read fault maps the shared zero page (2 faults), a write
        // to it breaks the COW (2 faults, 2 zero-page COWs); MADV_DONTNEED drops the first page, so
        // reading it faults once more (the zero page again); a read beyond the mapping is one
        // fault with SEGV_MAPERR, a write to a PROT_NONE page one with SEGV_ACCERR.
        final Report report = run("""
            a = mmap(NULL, 8K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
            touch(a, 8K, PROT_READ) value 0 expect ok
            touch(a, 8K, PROT_WRITE) expect ok
            madvise(a, 4K, MADV_DONTNEED) = 0
            touch(a, 8K, PROT_READ) expect ok
            touch(a + 8K, 4K, PROT_READ) expect SIGSEGV SEGV_MAPERR
            mprotect(a + 4K, 4K, PROT_NONE) expect ok
            touch(a + 4K, 4K, PROT_WRITE) expect SIGSEGV SEGV_ACCERR
            """);
        final MmStats stats = report.stats();
        assertEquals(7, stats.faults());
        assertEquals(2, stats.zeroPageCow());
        assertEquals(1, stats.segvMaperr());
        assertEquals(1, stats.segvAccerr());
        assertEquals(0, stats.sigbus());
        assertEquals(0, stats.faultWaits());
        assertEquals(7, stats.faultLatency().getTotalCount());
        assertEquals(8, report.statements());
        assertEquals(1, report.statementSignals()[0]);
        assertEquals(1, report.statementSignals()[1]);
        assertEquals(1, report.dataFrames(), "the second page; the first maps the zero page again");
        assertTrue(report.dataFramesPeak() >= 1 && report.dataFramesPeak() <= 2, "sampled: between the end and the true peak");
        // PML4, PDPT, PD and one PT: 8 KiB below 0x7ffff7fff000 share one 2 MiB region
        assertEquals(4, report.tablePages());
        assertEquals(0, report.failedExpectations(), () -> report.failures().toString());
        assertEquals(0, report.exitStatus());
        assertNull(report.error());
    }

    @Test
    void overcommitOptionSetsThePolicyAndTheReportShowsCommittedAs() throws IOException
    {
        // 64 MiB, strict with ratio 50: CommitLimit 8192 pages (32 MiB), less the admin reserve (min(64M/32, 8M) =
        // 512 pages) and min(total_vm/32, user reserve) of what is mapped; the heuristic refuses only above 64 MiB
        final String source = """
            option overcommit 2,ratio=50
            a = mmap(NULL, 60M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)
            b = mmap(NULL, 20M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
            c = mmap(NULL, 12M, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
            mprotect(c, 12M, PROT_READ|PROT_WRITE) = -1 ENOMEM (Cannot allocate memory)
            munmap(b, 10M) = 0
            """;
        final RunOptions small = RunOptions.defaults().withPhysicalMemory(64L << 20, io.mmemu.phys.Backing.FULL);
        final Report strict = run(source, parse(source).applyOptions(small));
        assertEquals(0, strict.failedExpectations(), () -> strict.failures().toString());
        assertEquals(2, strict.options().overcommit().mode());
        assertEquals(8192, strict.pressure().limit());
        assertEquals(10L << 8, strict.pressure().committed(), "20 MiB committed, 10 MiB of it unmapped");
        assertEquals(20L << 8, strict.pressure().committedPeak());

        final Report guess = run(source, parse(source).applyOptions(small).with("overcommit", "0"));
        assertEquals(2, guess.failedExpectations(), "the heuristic allows 60 MiB on 64 MiB and the mprotect");
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(io.mmemu.vm.LockingMode.class)
    void aProgramThatRunsOutIsKilledByTheOomKillerAndGivesEverythingBack(final io.mmemu.vm.LockingMode locking)
        throws IOException
    {
        // 4 threads write 16 MiB each into a 16 MiB machine: a fault finds no frame, the OOM killer
        // chooses the only process, the run ends; its expectations do not matter (SIGKILL is not caught)
        final String source = """
            a = mmap(NULL, 64M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) expect ok
            parallel 4 {
                touch(a + tid * 16M, 16M, PROT_WRITE) expect ok
            }
            munmap(a, 64M) = 0
            """;
        final Report report = run(source, RunOptions.defaults().withPhysicalMemory(16L << 20, io.mmemu.phys.Backing.FULL)
            .withLocking(locking));
        assertTrue(report.fatal() != null && report.fatal().startsWith(Run.OOM_KILLED), report.fatal());
        assertEquals(1, report.pressure().oomKills());
        assertEquals(0, report.stats().sigbus(), "no SIGBUS for lack of memory");
        assertEquals(0, report.dataFrames(), "exit gave every data frame back");
        assertEquals(0, report.tablePages(), "and every table");
        assertEquals(0, report.pressure().committed());
        assertEquals(1, report.exitStatus());
    }

    @Test
    void unmetExpectationsAreCountedWithWhereAndWhat() throws IOException
    {
        final Report report = run("""
            a = mmap(NULL, 8K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
            touch(a, 8K, PROT_WRITE) value 9
            touch(a, 8K, PROT_READ) value 8
            munmap(a, 8K) expect errno EINVAL
            munmap(a, 8K) = -1 EINVAL (Invalid argument)
            touch(a, 4K, PROT_READ) expect ok or value 3
            """);
        assertEquals(4, report.failedExpectations());
        assertEquals(1, report.exitStatus());
        assertEquals("t.mm:3:1: 2 read(s) saw another byte than 8, the first 0x9 at 0x" +
            Long.toHexString(0x7ffff7fff000L - 8192), report.failures().get(0));
        assertEquals("t.mm:4:1: munmap(a, 8K) = 0, expected errno EINVAL", report.failures().get(1));
        assertEquals("t.mm:5:1: munmap(a, 8K) = 0, expected errno EINVAL", report.failures().get(2));
        assertTrue(report.failures().get(3).startsWith("t.mm:6:1: touch(a, 4K, PROT_READ) = SIGSEGV {si_code=SEGV_MAPERR"),
            report.failures().get(3));
        assertTrue(report.failures().get(3).endsWith("expected ok or value 0x3"), report.failures().get(3));
    }

    /** 40,000 failures of one statement are one group: its count, first message, first and last address. */
    @Test
    void failuresAreGroupedByStatement() throws IOException
    {
        final Report report = run("""
            a = mmap(NULL, 8K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
            munmap(a, 8K)
            repeat 40000 as i {
                touch(a + i % 2 * 4K, 1, PROT_READ) expect ok
            }
            touch(a, 4K, PROT_WRITE) value 7 expect SIGSEGV SEGV_MAPERR
            munmap(a, 8K) expect errno EINVAL
            """);
        assertEquals(40_001, report.failedExpectations());
        assertEquals(Run.KEPT_FAILURES, report.failures().size());
        final long a = 0x7ffff7fff000L - 8192;
        final FailureGroup touches = report.failureGroups().get(0);
        assertEquals("t.mm:4:5", touches.statement());
        assertEquals(40_000, touches.count());
        assertEquals("touch(a + i % 2 * 4K, 1, PROT_READ) = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x"
            + Long.toHexString(a) + "}, expected ok", touches.first());
        assertEquals(a, touches.firstAddress());
        assertEquals(a + 4096, touches.lastAddress());
        final FailureGroup munmap = report.failureGroups().get(1);
        assertEquals("t.mm:7:1", munmap.statement());
        assertEquals(1, munmap.count());
        assertEquals("munmap(a, 8K) = 0, expected errno EINVAL", munmap.first());
        assertEquals(a, munmap.firstAddress());
        assertEquals(2, report.failureGroups().size());

        final java.io.ByteArrayOutputStream table = new java.io.ByteArrayOutputStream();
        report.print(new java.io.PrintStream(table, true, java.nio.charset.StandardCharsets.UTF_8));
        final String text = table.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(text.contains("  failed expectations  40001\n  t.mm:4:5: 40000 times at 0x" + Long.toHexString(a)
            + " .. 0x" + Long.toHexString(a + 4096) + ", the first: touch(a + i % 2 * 4K"), text);
        assertTrue(text.contains("\n  t.mm:7:1: munmap(a, 8K) = 0, expected errno EINVAL\n"), text);
        assertEquals(3, text.lines().filter(l -> l.startsWith("  t.mm:") || l.contains("failed expectations")).count(), text);
    }

    @Test
    void threadsSeeACopyOfTheirStartersVariablesAndTheirOwnTid() throws IOException
    {
        // each of 4 threads writes its tid + 1 into its own page, then, after the barrier, checks its
        // neighbour's page: every check passes only if tids are 0..3 and the barrier held
        final Report report = run("""
            a = mmap(NULL, 16K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
            parallel 4 {
                touch(a + tid * 4K, 1, PROT_WRITE) value tid + 1 expect ok
                barrier
                touch(a + (tid + 1) % nthreads * 4K, 1, PROT_READ) value (tid + 1) % nthreads + 1 expect ok
            }
            touch(a, 16K, PROT_READ) stride 4K random 40 expect ok
            """);
        assertEquals(0, report.failedExpectations(), () -> report.failures().toString());
        assertEquals(4, report.stats().faults());
        assertEquals(10, report.statements());
    }

    @Test
    void eventsCountPostsForEachWaiter() throws IOException
    {
        final Report report = run("""
            thread producer {
                repeat 50 {
                    post tick
                }
                wait ack
            }
            parallel 3 {
                repeat 50 {
                    wait tick
                }
            }
            post ack
            join producer
            until tick {
                munmap(0x1000, 4096)
            }
            """);
        assertNull(report.error());
        assertEquals(0, report.statements(), "every tick was waited for: the until loop never runs");
    }

    @Test
    void aDeadlockStopsTheRunAndNamesTheWaiters() throws IOException
    {
        final Report report = run("""
            thread t {
                wait a
                post b
            }
            wait b
            post a
            """);
        assertTrue(report.error().startsWith("deadlock: every thread waits and none can go on:"), report.error());
        assertTrue(report.error().contains("'wait a' (line 2)"), report.error());
        assertTrue(report.error().contains("'wait b' (line 5)"), report.error());
        assertEquals(1, report.exitStatus());
    }

    @Test
    void aBarrierDoesNotWaitForThreadsThatEnded() throws IOException
    {
        final Report report = run("""
            parallel 3 {
                repeat tid {
                    barrier
                }
            }
            """);
        assertNull(report.error());
    }

    @Test
    void aProgramErrorStopsTheRunWithItsPosition() throws IOException
    {
        final Report report = run("""
            x = 0
            parallel 2 {
                for 1h {
                    munmap(0x1000, 4096)
                }
            }
            y = 1 / x
            """.replace("parallel 2", "thread busy"));
        assertEquals("t.mm:7:7: division by zero", report.error());
        assertEquals(1, report.exitStatus());
    }

    @Test
    void aFatalSignalEndsTheRun() throws IOException
    {
        final Report report = run("""
            touch(0x1000, 4096, PROT_READ)
            signals fatal
            touch(0x1000, 4096, PROT_READ) expect SIGSEGV
            touch(0x1000, 4096, PROT_READ)
            munmap(0x1000, 4096)
            """);
        assertEquals("t.mm:4:1: touch(0x1000, 4096, PROT_READ) raised SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x1000}", report.fatal());
        assertEquals(3, report.statements());
        assertEquals(1, report.exitStatus());
    }

    @Test
    void stopEndsLoopsWaitsAndTouchesAndStillReports() throws IOException
    {
        final Program program;
        try
        {
            program = Program.parse("t.mm", """
                a = mmap(NULL, 1G, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0)
                thread waiter {
                    wait never
                }
                thread sleeper {
                    sleep 1h
                }
                thread toucher {
                    touch(a, 1G, PROT_READ) random 1000000000000
                }
                for 1h {
                    touch(a, 4K, PROT_READ)
                }
                post never
                """, Map.of());
        }
        catch (final ScriptException ex)
        {
            throw new AssertionError(ex.errors());
        }
        final Run run = new Run(program, RunOptions.defaults().withPhysicalMemory(1L << 30, io.mmemu.phys.Backing.TABLES_ONLY));
        final Report report = run.execute(sample -> run.stop());
        assertTrue(report.interrupted());
        assertEquals(1, report.exitStatus());
        assertNull(report.error());
    }

    @Test
    void theDurationCapsLoopsOnly() throws IOException
    {
        final Report report = run("""
            repeat 1000000000000 {
                munmap(0x1000, 4096)
            }
            for 1h {
                munmap(0x1000, 4096)
            }
            munmap(0x1000, 4096) expect ok
            """, RunOptions.defaults().withPhysicalMemory(64L << 20, io.mmemu.phys.Backing.FULL).withDuration(100_000_000L));
        assertNull(report.error());
        assertFalse(report.interrupted());
        assertEquals(0, report.failedExpectations());
        assertTrue(report.wallNanos() < 30_000_000_000L);
    }

    @Test
    void aThreadSpinningWithoutCallsDoesNotHoldUpAShootdown() throws IOException
    {
        // the spinner caches the page in its TLB, then loops on arithmetic only: the munmap's
        // shootdown must not wait for it (a real CPU would take the IPI)
        final Report report = run("""
            a = mmap(NULL, 4K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
            touch(a, 4K, PROT_WRITE) expect ok
            thread spinner {
                touch(a, 4K, PROT_READ) expect ok
                post cached
                x = 0
                until done {
                    x = x + 1
                }
                touch(a, 4K, PROT_READ) expect SIGSEGV SEGV_MAPERR
            }
            wait cached
            munmap(a, 4K) expect ok
            post done
            """);
        assertNull(report.error());
        assertEquals(0, report.failedExpectations(), () -> report.failures().toString());
    }

    @Test
    void joinWaitsForTheNamedThread() throws IOException
    {
        final Report report = run("""
            a = mmap(NULL, 4K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
            thread writer {
                touch(a, 4K, PROT_WRITE) value 7
            }
            join writer
            touch(a, 4K, PROT_READ) value 7 expect ok
            """);
        assertEquals(0, report.failedExpectations(), () -> report.failures().toString());
    }
}
