package io.mmemu.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real programs of this machine, captured with tools/capture (each fixture's README has the
 * commands): {@code mmemu replay --initial-maps} reproduces every result the kernel gave.
 */
final class StraceFixtureTest
{
    private static final Path FIXTURES = Path.of("src/test/resources/strace");
    private static final Pattern SUMMARY = Pattern.compile("checked (\\d+), equal (\\d+), differ (\\d+), unchecked (\\d+)");
    /** A line completing a call mmemu models: a whole call with its result, or the resumed half of one. */
    private static final Pattern MODELLED = Pattern.compile("^\\s*(\\d+)\\s+(?:(?:mmap|munmap|mprotect|mremap|madvise|brk|pkey_mprotect)" +
        "\\(.*\\)\\s+= |<\\.\\.\\. (?:mmap|munmap|mprotect|mremap|madvise|brk|pkey_mprotect) resumed>)");
    /** mremap with MREMAP_DONTUNMAP but not MREMAP_FIXED: its hint is not in the log, so it is unchecked. */
    private static final Pattern HIDDEN_HINT = Pattern.compile("mremap\\((?!.*MREMAP_FIXED).*MREMAP_DONTUNMAP");
    /** %memory calls mmemu does not model (unchecked). */
    private static final Pattern UNMODELLED = Pattern.compile(
        "^\\s*\\d+\\s+(msync|mincore|mlock2?|munlock|mlockall|munlockall|shmat|shmdt|io_setup|io_destroy|remap_file_pages|mbind|" +
            "[gs]et_mempolicy|migrate_pages|move_pages|set_mempolicy_home_node|syscall_0x1c5|syscall_0x1ce)\\(");

    private static final Pattern EXECVE = Pattern.compile("execve\\(\"([^\"]+)\"");

    private record Summary(long checked, long equal, long differ, long unchecked)
    {
    }

    private static Summary replay(final String... args)
    {
        final CommandOutput r = CommandOutput.run(args);
        final Matcher m = SUMMARY.matcher(r.out());
        assertTrue(m.find(), () -> "no summary in:\n" + r.out() + r.err());
        final Summary s = new Summary(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)),
            Long.parseLong(m.group(4)));
        assertEquals(s.differ() == 0 ? 0 : 1, r.exitCode(), r::out);
        assertEquals(0, s.differ(), r::out);
        return s;
    }

    private static List<String> lines(final Path path) throws IOException
    {
        return Files.readAllLines(path);
    }

    /** Modelled calls completed by {@code pid} (any pid when 0) whose result the log fully determines. */
    private static long checkable(final Path trace, final int pid) throws IOException
    {
        return lines(trace).stream().filter(l -> !HIDDEN_HINT.matcher(l).find()).map(MODELLED::matcher)
            .filter(Matcher::find).filter(m -> pid == 0 || Integer.parseInt(m.group(1)) == pid).count();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ls/ls", "python3/python3", "java/java", "java/java-process", "probe/probe-process"})
    void everyResultOfASingleProgramIsReproduced(final String fixture) throws IOException
    {
        final Path trace = FIXTURES.resolve(fixture + ".trace");
        final Summary s = replay("replay", "-q", "--initial-maps", FIXTURES.resolve(fixture + ".maps").toString(), trace.toString());
        assertEquals(checkable(trace, 0), s.checked(), "every modelled call of every thread is checked");
        assertEquals(lines(trace).stream().filter(l -> UNMODELLED.matcher(l).find() || HIDDEN_HINT.matcher(l).find()).count(),
            s.unchecked(), "only calls mmemu does not model, or whose arguments the log hides, are unchecked");
    }

    /** The paths of the log's execve lines, in the order they appear. */
    private static List<String> execPaths(final Path trace) throws IOException
    {
        final Matcher exec = EXECVE.matcher(Files.readString(trace));
        final List<String> paths = new ArrayList<>();
        while (exec.find())
        {
            paths.add(exec.group(1));
        }
        return paths;
    }

    /** Skips the test, naming the file, unless every program the log exec's is on this machine. */
    private static void assumeExecedFilesHere(final Path trace, final String fixture) throws IOException
    {
        for (final String path : execPaths(trace))
        {
            if (!Files.exists(Path.of(path)))
            {
                final String reason = path + " (exec'ed in " + fixture + ") is not on this machine";
                System.err.println("StraceFixtureTest skipped: " + reason);
                Assumptions.abort(reason);
            }
        }
    }

    @Test
    void aCompilerDriverAndTheProgramsItExecs() throws IOException
    {
        final Path dir = FIXTURES.resolve("gcc");
        final List<String> args = new ArrayList<>(List.of("replay", "-q", "--initial-maps", dir.resolve("gcc-process.maps").toString()));
        final Path trace = dir.resolve("gcc-process.trace");
        // children/NN-NAME.maps were captured at each exec of the same command, in exec order (01 is gcc
        // itself); the log's execve lines name the paths, in the same order
        final List<String> paths = execPaths(trace);
        try (var children = Files.list(dir.resolve("children")))
        {
            final List<Path> maps = children.filter(p -> p.toString().endsWith(".maps")).sorted().toList();
            assertEquals(paths.size(), maps.size(), "one maps file per exec");
            for (int i = 1; i < maps.size(); i++)
            {
                args.add("--initial-maps");
                args.add(paths.get(i) + "=" + maps.get(i));
            }
        }
        args.add(trace.toString());
        final Summary s = replay(args.toArray(String[]::new));
        assertEquals(checkable(trace, 0), s.checked(), "cc1, as, collect2 and ld are checked too");
        assertEquals(0, s.unchecked());
    }

    /**
     * Real programs that fork, vfork and run threads, traced with %process (each README has the
     * command): {@code gcc -c} (vfork, exec of cc1 and as), {@code sh -c 'ls / | wc -l'} (dash forks
     * twice: clone without CLONE_VM, each child execs), python's {@code subprocess.run} (vfork, exec),
     * python's {@code os.fork} (the child grows and shrinks the break it inherited and maps memory in
     * the copy of its parent's layout, without exec: treated as a thread it would collide with the
     * parent's mappings), and {@code subprocess.run} from four threads at once (eight vforks, two in
     * flight at a time, while the other threads map). The traced program starts from its captured maps,
     * each exec'ed child from {@code children/NN-EXE.maps} when the capture saved them (the kernel's
     * layout at the child's first instruction), else from its ELF file: every call of every process
     * is checked and equal.
     */
    @ParameterizedTest
    @ValueSource(strings = {"gcc-c/gcc-c", "sh-pipe/sh-pipe", "python3-subprocess/python3-subprocess", "python3-fork/python3-fork",
        "python3-threads/python3-threads"})
    void everyCallOfEveryProcessOfAMultiProcessProgramIsChecked(final String fixture) throws IOException
    {
        final Path trace = FIXTURES.resolve(fixture + ".trace");
        assumeExecedFilesHere(trace, fixture);
        final List<String> args = new ArrayList<>(List.of("replay", "-q", "--initial-maps", FIXTURES.resolve(fixture + ".maps").toString()));
        final Path children = FIXTURES.resolve(fixture).resolveSibling("children");
        if (Files.isDirectory(children))
        {
            args.addAll(childMaps(trace, children));
        }
        args.add(trace.toString());
        final Summary s = replay(args.toArray(String[]::new));
        assertTrue(execPaths(trace).size() > 1 || fixture.contains("fork"), "the fixture starts other processes");
        assertEquals(checkable(trace, 0), s.checked(), "every modelled call of every process is checked");
        assertEquals(0, s.unchecked());
    }

    /**
     * {@code --initial-maps PATH=MAPS} for each program the log execs after the first: the maps in
     * {@code children} whose first line (the executable's own mapping) names the file PATH resolves to.
     */
    private static List<String> childMaps(final Path trace, final Path children) throws IOException
    {
        final List<String> args = new ArrayList<>();
        final List<Path> maps;
        try (var list = Files.list(children))
        {
            maps = list.filter(p -> p.toString().endsWith(".maps")).sorted().toList();
        }
        for (final String path : execPaths(trace).subList(1, execPaths(trace).size()).stream().distinct().toList())
        {
            final String real = Path.of(path).toRealPath().toString();
            for (final Path m : maps)
            {
                if (Files.readAllLines(m).get(0).endsWith(" " + real))
                {
                    args.add("--initial-maps");
                    args.add(path + "=" + m);
                    break;
                }
            }
        }
        assertEquals(maps.size() - 1, args.size() / 2, () -> "a maps file for every exec'ed program: " + args);
        return args;
    }

    /**
     * Without any maps, every execve of a %process log is laid out from the program's ELF file
     * (mmemu exec's layout): the driver and cc1, as, collect2 and ld are checked from their first
     * call to their last. Before, only the calls made before the first exec could be (19 of 260, 10
     * of them differing since the driver started empty).
     */
    @ParameterizedTest
    @ValueSource(strings = {"gcc/gcc-process", "java/java-process", "gcc-c/gcc-c", "sh-pipe/sh-pipe", "python3-subprocess/python3-subprocess",
        "python3-fork/python3-fork", "python3-threads/python3-threads"})
    void withoutMapsEveryExecIsLaidOutFromItsElfFile(final String fixture) throws IOException
    {
        final Path trace = FIXTURES.resolve(fixture + ".trace");
        assumeExecedFilesHere(trace, fixture);
        final Summary s = replay("replay", "-q", trace.toString());
        assertEquals(checkable(trace, 0), s.checked(), "every modelled call of every process is checked");
        assertEquals(lines(trace).stream().filter(l -> UNMODELLED.matcher(l).find() || HIDDEN_HINT.matcher(l).find()).count(),
            s.unchecked());
    }

    @Test
    void anExecOfAFileNotOnThisMachineIsNamedAndLeftUnchecked(@TempDir final Path dir) throws IOException
    {
        final Path log = Files.writeString(dir.resolve("gone.trace"), """
            100  execve("/nonexistent/prog", ["prog"], 0x7ffd /* 0 vars */) = 0
            100  brk(NULL) = 0x555555559000
            """);
        final CommandOutput r = CommandOutput.run("replay", "-q", log.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("checked 0, equal 0, differ 0, unchecked 1"), r.out());
        assertEquals(log + ":1: pid 100 is unchecked: /nonexistent/prog: no such file (execve: ENOENT)\n", r.err());
    }

    @Test
    void aMemoryOnlyLogChecksTheTracedProgramAndLeavesExecedChildrenUnchecked() throws IOException
    {
        final Path dir = FIXTURES.resolve("gcc");
        final Path trace = dir.resolve("gcc.trace");
        final int first = Integer.parseInt(lines(trace).get(0).strip().split("\\s+")[0]);
        final Summary s = replay("replay", "-q", "--initial-maps", dir.resolve("gcc.maps").toString(), trace.toString());
        assertEquals(checkable(trace, first), s.checked());
        assertEquals(checkable(trace, 0) - checkable(trace, first), s.unchecked());
    }

    @Test
    void aDifferingResultIsReportedWithItsLineAndExitsOne(@TempDir final Path dir) throws IOException
    {
        final Path log = Files.writeString(dir.resolve("prog.trace"), """
            100  mmap(0x200000000000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x200000000000
            100  munmap(0x200000000000, 4096) = -1 EINVAL (Invalid argument)
            101  mlock(0x200000001000, 4096) = 0
            100  brk(NULL) = 0
            """);
        final CommandOutput r = CommandOutput.run("replay", log.toString());
        assertEquals(1, r.exitCode(), r.out());
        assertTrue(r.out().contains("checked 3, equal 2, differ 1, unchecked 1"), r.out());
        assertTrue(r.out().contains(log + ":2: 100  munmap(0x200000000000, 4096) = 0, recorded -1 EINVAL (Invalid argument)"), r.out());
        assertTrue(r.out().contains("100  munmap(0x200000000000, 4096) = 0   # differs: recorded -1 EINVAL"), r.out());
        assertTrue(r.out().contains("mlock(0x200000001000, 4096) = ?   # mlock is not modelled"), r.out());
    }

    @Test
    void malformedLogsAndMapsNameFileAndLine(@TempDir final Path dir) throws IOException
    {
        final Path log = Files.writeString(dir.resolve("bad.trace"), "100  brk(NULL) = 0\n100  mmap(NULL) = 0x1000\n");
        final CommandOutput badLog = CommandOutput.run("replay", log.toString());
        assertEquals(2, badLog.exitCode());
        assertTrue(badLog.err().contains(log + ":2: mmap takes 6 arguments"), badLog.err());
        final Path maps = Files.writeString(dir.resolve("bad.maps"), "00400000-00401000 r--p 00000000 08:01 12 /bin/x\nnonsense\n");
        final CommandOutput badMaps = CommandOutput.run("replay", "--initial-maps", maps.toString(), log.toString());
        assertEquals(2, badMaps.exitCode());
        assertTrue(badMaps.err().contains(maps + ":2: not a /proc/PID/maps line"), badMaps.err());
        final Path overlapping = Files.writeString(dir.resolve("overlap.maps"),
            "00400000-00402000 r--p 00000000 08:01 12 /bin/x\n00401000-00403000 r-xp 00001000 08:01 12 /bin/x\n");
        final Path ok = Files.writeString(dir.resolve("ok.trace"), "100  brk(NULL) = 0x402000\n");
        final CommandOutput overlap = CommandOutput.run("replay", "--initial-maps", overlapping.toString(), ok.toString());
        assertEquals(2, overlap.exitCode());
        assertTrue(overlap.err().contains(overlapping + ":2: VMA 401000-403000 overlaps"), overlap.err());
    }
}
