package io.mmemu.script;

import java.io.IOException;
import java.io.StringReader;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** strace's log syntax as it really appears (the forms in tests' resources/strace/SYNTAX.md). */
final class TraceParserTest
{
    private static List<TraceEvent> parse(final String log)
    {
        try
        {
            return TraceParser.parse(new StringReader(log));
        }
        catch (final IOException | ScriptException ex)
        {
            throw new AssertionError(ex);
        }
    }

    private static List<ParseError> errors(final String log)
    {
        return assertThrows(ScriptException.class, () -> TraceParser.parse(new StringReader(log))).errors();
    }

    @Test
    void pidsResultsAndFdPaths()
    {
        final List<TraceEvent> events = parse("""
            2204  brk(NULL)                         = 0x55555557a000
            2204  mmap(NULL, 38759, PROT_READ, MAP_PRIVATE, 3</etc/ld.so.cache>, 0) = 0x7ffff7fb6000
            2204  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)
            """);
        assertEquals(3, events.size());
        final TraceEvent.Syscall brk = assertInstanceOf(TraceEvent.Syscall.class, events.get(0));
        assertEquals(2204, brk.pid());
        assertEquals(Call.BRK, brk.statement().call());
        assertEquals("0x55555557a000", brk.statement().recordedResult());
        final TraceEvent.Syscall mmap = assertInstanceOf(TraceEvent.Syscall.class, events.get(1));
        assertEquals("/etc/ld.so.cache", mmap.fdPath());
        assertEquals(3, mmap.statement().argument(4));
        assertEquals(2, mmap.line());
        assertEquals("-1 ENOMEM (Cannot allocate memory)", ((TraceEvent.Syscall)events.get(2)).statement().recordedResult());
        assertNull(((TraceEvent.Syscall)events.get(2)).fdPath());
    }

    @Test
    void unfinishedCallsAreJoinedAndAppliedWhereTheyResume()
    {
        final List<TraceEvent> events = parse("""
            2529  mmap(NULL, 134217728, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0 <unfinished ...>
            2530  munmap(0x7ffff0000000, 4096)     = 0
            2529  <... mmap resumed>)              = 0x7fffe8000000
            """);
        assertEquals(2, events.size());
        assertEquals(2530, events.get(0).pid());
        final TraceEvent.Syscall mmap = assertInstanceOf(TraceEvent.Syscall.class, events.get(1));
        assertEquals(3, mmap.line());
        assertEquals(Call.MMAP, mmap.statement().call());
        assertEquals(134217728, mmap.statement().argument(1));
        assertEquals("0x7fffe8000000", mmap.statement().recordedResult());
    }

    @Test
    void signalsAndOtherSyscallsAreSkippedExitsEndThreads()
    {
        final List<TraceEvent> events = parse("""
            8701  --- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_ACCERR, si_addr=0x7ffff7c9a000} ---
            8701  +++ killed by SIGSEGV +++
            8699  +++ exited with 0 +++
            2807  wait4(2810,  <unfinished ...>
            2807  <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 2810
            2810  exit_group(0)                     = ?
            2810  +++ killed by SIGABRT (core dumped) +++
            2811  +++ superseded by execve in pid 2810 +++
            """);
        assertEquals(List.of(new TraceEvent.Exit(2, 8701), new TraceEvent.Exit(3, 8699), new TraceEvent.Exit(7, 2810)), events,
            "an exit or kill line ends its pid; other +++ lines and signals are skipped");
    }

    @Test
    void processEvents()
    {
        final List<TraceEvent> events = parse("""
            2493  execve("/usr/bin/java", ["/usr/bin/java", "-version"], 0x7fffffffed68 /* 4 vars */) = 0
            2493  clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD, exit_signal=0, stack=0x7ffff6820000, stack_size=0xfef80} => {parent_tid=[2496]}, 88) = 2496
            2807  vfork( <unfinished ...>
            2807  <... vfork resumed>)              = 2810
            8696  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7ffff7d8aa10) = 8700
            8696  execve("/nonexistent", ["x"], 0x7ffd /* 1 var */) = -1 ENOENT (No such file or directory)
            """);
        assertEquals(4, events.size(), "a failed execve changes nothing");
        assertEquals("/usr/bin/java", assertInstanceOf(TraceEvent.Exec.class, events.get(0)).path());
        final TraceEvent.Spawn thread = assertInstanceOf(TraceEvent.Spawn.class, events.get(1));
        assertTrue(thread.sharesVm());
        assertEquals(2496, thread.child());
        final TraceEvent.Spawn vfork = assertInstanceOf(TraceEvent.Spawn.class, events.get(2));
        assertTrue(vfork.sharesVm(), "vfork shares the address space until exec");
        assertEquals(2810, vfork.child());
        final TraceEvent.Spawn fork = assertInstanceOf(TraceEvent.Spawn.class, events.get(3));
        assertFalse(fork.sharesVm());
        assertEquals(8700, fork.child());
    }

    @Test
    void execveArgvAsStracePrintsIt()
    {
        final List<TraceEvent> events = parse("""
            2810  execve("/usr/lib/gcc/x86_64-linux-gnu/12/cc1", ["/usr/lib/gcc/x86_64-linux-gnu/12"..., "-quiet", "a\\tb \\"q\\"", ""], 0x56d990 /* 9 vars */ <unfinished ...>
            2810  <... execve resumed>)             = 0
            2811  execve("/bin/x", [], NULL) = 0
            """);
        final TraceEvent.Exec cc1 = assertInstanceOf(TraceEvent.Exec.class, events.get(0));
        assertEquals("/usr/lib/gcc/x86_64-linux-gnu/12/cc1", cc1.path());
        assertEquals(List.of("/usr/lib/gcc/x86_64-linux-gnu/12", "-quiet", "a\tb \"q\"", ""), cc1.argv(),
            "a string strace cut short is kept as printed; escapes are decoded");
        assertEquals(List.of(), assertInstanceOf(TraceEvent.Exec.class, events.get(1)).argv());
    }

    @Test
    void unmodelledMemoryCallsAndOddArguments()
    {
        final List<TraceEvent> events = parse("""
            8696  mlock2(0x7ffff7cb1000, 4096, MLOCK_ONFAULT) = 0
            8696  syscall_0x1ce(0x7ffff7cb1000, 0x1000, 0, 0, 0, 0) = 0
            8696  mincore(0x7ffff7cb1000, 32768, [1, 1, 1, 1, 1, 1, 1, 1]) = 0
            8696  mremap(0x100000000000, 32768, 32768, 0x80 /* MREMAP_??? */) = -1 EINVAL (Invalid argument)
            8696  mmap(NULL, 4096, PROT_READ|0x100, MAP_PRIVATE|MAP_ANONYMOUS|0xc00000, -1, 0) = -1 EINVAL (Invalid argument)
            8696  mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3</tmp/mmemu-capture/probe dir\\76x.bin>(deleted), 0) = 0x7ffff7ca7000
            8696  mmap(NULL, 4096, PROT_READ, MAP_SHARED, 4</tmp/probe\\nnewline.bin>, 0) = 0x7ffff7fb6000
            8696  pkey_mprotect(0x7ffff7dc1000, 4096, PROT_READ, -1) = 0
            """);
        assertEquals("mlock2", assertInstanceOf(TraceEvent.Unmodelled.class, events.get(0)).name());
        assertEquals("mseal", assertInstanceOf(TraceEvent.Unmodelled.class, events.get(1)).name());
        assertEquals("mincore", assertInstanceOf(TraceEvent.Unmodelled.class, events.get(2)).name());
        assertEquals(0x80, ((TraceEvent.Syscall)events.get(3)).statement().argument(3));
        assertEquals(0x101, ((TraceEvent.Syscall)events.get(4)).statement().argument(2));
        assertEquals("/tmp/mmemu-capture/probe dir>x.bin (deleted)", ((TraceEvent.Syscall)events.get(5)).fdPath());
        assertEquals("/tmp/probe\nnewline.bin", ((TraceEvent.Syscall)events.get(6)).fdPath());
        assertEquals(Call.PKEY_MPROTECT, ((TraceEvent.Syscall)events.get(7)).statement().call());
    }

    @Test
    void scriptsWithoutPidsStillParse()
    {
        final List<TraceEvent> events = parse("""
            # a comment
            mmap(0x100000000000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
            touch(0x100000000000, 8192, PROT_WRITE)
            """);
        assertEquals(2, events.size());
        assertEquals(0, events.get(0).pid());
        assertEquals(Call.TOUCH, ((TraceEvent.Syscall)events.get(1)).statement().call());
    }

    @Test
    void malformedLinesAreReportedWithTheirLineNumbers()
    {
        final List<ParseError> errors = errors("""
            2204  mmap(NULL, 4096, PROT_READ) = 0x1000
            2204  <... mmap resumed>) = 0
            2205  munmap(0x1000, 4096 <unfinished ...>
            2205  mprotect(0x1000, 4096, PROT_READ <unfinished ...>
            2206  mmapp(0, 4096)
            2207  <... munmap resumed>) = 0
            garbage here
            2208  madvise(0x1000, 4096, MADV_BOGUS) = 0
            """);
        assertEquals(List.of(1, 2, 4, 5, 6, 7, 8), errors.stream().map(ParseError::line).toList(), errors::toString);
        assertTrue(errors.get(0).reason().contains("mmap takes 6 arguments"), errors.get(0).reason());
        assertTrue(errors.get(1).reason().contains("without an unfinished mmap"), errors.get(1).reason());
        assertTrue(errors.get(2).reason().contains("is unfinished"), errors.get(2).reason());
        assertTrue(errors.get(3).reason().contains("unknown call 'mmapp'"), errors.get(3).reason());
        assertTrue(errors.get(6).reason().contains("MADV_BOGUS"), errors.get(6).reason());
        assertEquals("prog.trace:5: unknown call 'mmapp' (the calls are mmap, munmap, mprotect, mremap, madvise, brk, " +
            "pkey_mprotect or touch) (column 7)", errors.get(3).format("prog.trace"));
    }
}
