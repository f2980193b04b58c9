package io.mmemu.script;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import io.mmemu.elf.ElfImage;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.VdsoImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link TraceReplay}'s processes over their whole lives: a process's address space goes away when
 * its last pid exits or execs, and a fork the emulated memory cannot hold is named, not thrown.
 * The logs are built so that a leak shows: in 36 MiB the parent's pages and tables take 16 MiB
 * (2048 pages 2 MiB apart, each with its own PT page) and each forked copy 8 MiB more (its PT
 * pages), so at most two copies can be alive at once.
 */
final class TraceReplayProcessTest
{
    private static final long SMALL_MACHINE = 36L << 20;
    private static final long BASE = 0x100000000000L;
    private static final long STRIDE = 2L << 20;
    private static final String FORK = "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, " +
        "child_tidptr=0x7ffff7dd2a10)";

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int replay(final String log, final Map<String, List<InitialMaps.Line>> programs)
    {
        final TraceReplay.Options options = new TraceReplay.Options(null, programs, true, false, SMALL_MACHINE,
            KernelConfig.MAINLINE, VdsoImage.LINUX_6_18);
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8))
        {
            return TraceReplay.run("t.trace", new StringReader(log), options, o, e);
        }
    }

    /** Pid 100 maps {@code pages} pages 2 MiB apart and writes each (MADV_POPULATE_WRITE): one PT page each. */
    private static StringBuilder parentWith(final int pages)
    {
        final StringBuilder log = new StringBuilder();
        log.append("100  mmap(0x100000000000, ").append(pages * STRIDE)
            .append(", PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED|MAP_NORESERVE, -1, 0) = 0x100000000000\n");
        for (int i = 0; i < pages; i++)
        {
            log.append("100  madvise(0x").append(Long.toHexString(BASE + i * STRIDE)).append(", 4096, MADV_POPULATE_WRITE) = 0\n");
        }
        return log;
    }

    private String summary()
    {
        return out.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("checked ")).findFirst().orElse("no summary");
    }

    @Test
    void anExitedChildsCopyIsReleased()
    {
        final StringBuilder log = parentWith(2048);
        for (int child = 101; child <= 106; child++)
        {
            log.append("100  ").append(FORK).append(" = ").append(child).append('\n');
            log.append(child).append("  munmap(0x100000000000, 4096) = 0\n");
            log.append(child).append("  +++ exited with 0 +++\n");
            log.append("100  --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=").append(child).append("} ---\n");
        }
        log.append("100  munmap(0x100000000000, 4096) = 0\n");
        assertEquals(0, replay(log.toString(), Map.of()), err::toString);
        assertEquals("", err.toString(StandardCharsets.UTF_8), "six forks, never more than one copy alive");
        assertEquals("checked " + (1 + 2048 + 6 + 1) + ", equal " + (1 + 2048 + 6 + 1) + ", differ 0, unchecked 0", summary());
    }

    @Test
    void anExecReleasesTheForkedCopyItReplaces() throws Exception
    {
        final List<InitialMaps.Line> program = InitialMaps.parse("x.maps",
            new StringReader("00400000-00401000 r-xp 00000000 fe:00 12                                 /bin/x\n"));
        final StringBuilder log = parentWith(2048);
        for (int child = 101; child <= 106; child++)
        {
            // the children exec and stay: only the exec can give their copies back
            log.append("100  ").append(FORK).append(" = ").append(child).append('\n');
            log.append(child).append("  execve(\"/bin/x\", [\"x\"], 0x7ffd /* 0 vars */) = 0\n");
            log.append(child).append("  brk(NULL) = 0x401000\n");
        }
        assertEquals(0, replay(log.toString(), Map.of("/bin/x", program)), err::toString);
        assertEquals("", err.toString(StandardCharsets.UTF_8));
        assertEquals("checked " + (1 + 2048 + 6) + ", equal " + (1 + 2048 + 6) + ", differ 0, unchecked 0", summary());
    }

    @Test
    void aForkTheEmulatedMemoryCannotHoldIsNamedWithItsLineAndTheChildIsUnchecked()
    {
        final StringBuilder log = parentWith(4096);
        log.append("100  ").append(FORK).append(" = 101\n");
        log.append("101  munmap(0x100000000000, 4096) = 0\n");
        log.append("100  munmap(0x100000000000, 4096) = 0\n");
        assertEquals(0, replay(log.toString(), Map.of()), "no frame leaked (3), nothing differs (1): " + err);
        assertEquals("t.trace:4098: pid 101 is unchecked: clone: ENOMEM, the emulated memory has no room for the child's " +
            "page tables (--physmem)\n", err.toString(StandardCharsets.UTF_8));
        assertEquals("checked " + (1 + 4096 + 1) + ", equal " + (1 + 4096 + 1) + ", differ 0, unchecked 1", summary());
    }

    /**
     * Forked children that exec files execve would refuse (issue 17's bad input): each is named on
     * standard error with the execve's line and the file's offset, its pid's calls are unchecked,
     * the others' checked; nothing is thrown and no frame is left behind (exit 3 would say so).
     */
    @Test
    void anExecOfAFileExecveRefusesIsNamedAndItsPidUnchecked(@TempDir final Path dir) throws IOException
    {
        final ElfImage good = ElfImage.executable().load(5, 0, 0x400000, 0x1000, 0x1000);
        final Path script = Files.writeString(dir.resolve("script"), "#!/bin/sh\necho hello\n");
        final Path truncated = Files.write(dir.resolve("truncated"), Arrays.copyOf(good.bytes(), 40));
        final Path arm = good.machine(183).write(dir.resolve("arm"));
        final Path orphan = ElfImage.dynamic().interpreter("/nonexistent/ld.so").load(4, 0, 0, 0x1000, 0x1000)
            .write(dir.resolve("orphan"));
        final StringBuilder log = new StringBuilder("""
            100  mmap(0x100000000000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x100000000000
            100  madvise(0x100000000000, 8192, MADV_POPULATE_WRITE) = 0
            """);
        int child = 101;
        for (final Path bad : List.of(script, truncated, arm, orphan))
        {
            log.append("100  ").append(FORK).append(" = ").append(child).append('\n');
            log.append(child).append("  execve(\"").append(bad).append("\", [\"x\"], 0x7ffd /* 0 vars */) = 0\n");
            log.append(child).append("  brk(NULL) = 0x401000\n");
            child++;
        }
        log.append("100  munmap(0x100000000000, 8192) = 0\n");
        assertEquals(0, replay(log.toString(), Map.of()), err::toString);
        assertEquals("checked 3, equal 3, differ 0, unchecked 4", summary());
        assertEquals("t.trace:4: pid 101 is unchecked: " + script + ": offset 0x0: not an ELF file (no \\177ELF magic)\n" +
            "t.trace:7: pid 102 is unchecked: " + truncated + ": offset 0x28: truncated ELF header (40 of 64 bytes)\n" +
            "t.trace:10: pid 103 is unchecked: " + arm + ": offset 0x12: e_machine 183 is not x86-64 (62)\n" +
            "t.trace:13: pid 104 is unchecked: " + orphan + ": offset 0xb0: interpreter /nonexistent/ld.so: no such file (execve: ENOENT)\n",
            err.toString(StandardCharsets.UTF_8));
    }

    /**
     * Pids that share the address space leave it without taking it away: a thread that exits, a
     * vfork child that exits without exec (its parent goes on), and the traced program's exit,
     * after which {@code --maps} still prints its maps.
     */
    @Test
    void threadsAndVforkChildrenLeaveTheirSharedAddressSpaceInPlace() throws IOException
    {
        final String log = """
            100  mmap(0x100000000000, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x100000000000
            100  clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD, exit_signal=0} => {parent_tid=[101]}, 88) = 101
            101  munmap(0x100000000000, 4096) = 0
            101  +++ exited with 0 +++
            100  vfork( <unfinished ...>
            102  execve("/nonexistent/x", ["x"], 0x7ffd /* 0 vars */) = -1 ENOENT (No such file or directory)
            102  +++ exited with 127 +++
            100  <... vfork resumed>) = 102
            100  munmap(0x100000001000, 4096) = 0
            100  mprotect(0x100000002000, 8192, PROT_READ) = 0
            100  +++ exited with 0 +++
            """;
        final TraceReplay.Options options = new TraceReplay.Options(null, Map.of(), true, true, SMALL_MACHINE,
            KernelConfig.MAINLINE, VdsoImage.LINUX_6_18);
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8))
        {
            assertEquals(0, TraceReplay.run("t.trace", new StringReader(log), options, o, e), err::toString);
        }
        assertEquals("checked 4, equal 4, differ 0, unchecked 0", summary());
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("100000002000-100000004000 r--p 00000000 00:00 0 \n" +
            "checked"), out::toString);
    }
}
