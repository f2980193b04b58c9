package io.mmemu.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code mmemu exec}: the maps it computes from the ELF files equal those the kernel made, for the
 * captured fixtures (when this machine holds the very files they recorded) and for programs built
 * here and run under the real kernel with randomisation off (tools/initial-maps.c).
 */
final class ExecCommandTest
{
    private static final Path FIXTURES = Path.of("src/test/resources/strace");
    private static final Path INITIAL_MAPS_SOURCE = Path.of("..", "tools", "initial-maps.c");
    /** tools/capture --clean-env's environment, which the fixtures' programs were started with. */
    private static final List<String> CAPTURE_ENV = List.of("PATH=/usr/bin:/bin", "HOME=/root", "LANG=C.UTF-8", "TZ=UTC");

    @TempDir
    Path dir;

    private static List<String> execArgs(final String path, final List<String> env, final List<String> args)
    {
        final List<String> command = new ArrayList<>(List.of("exec"));
        for (final String e : env)
        {
            command.add("--env");
            command.add(e);
        }
        command.add(path);
        command.addAll(args);
        return command;
    }

    /** Skips, naming the file, unless every file the maps name is here with the recorded inode. */
    private static void assumeSameFiles(final List<String> maps) throws IOException
    {
        for (final String line : maps)
        {
            final String[] f = line.trim().split("\\s+");
            if (f.length == 6 && f[5].startsWith("/"))
            {
                final Path file = Path.of(f[5]);
                final long inode = Files.exists(file) ? ((Number)Files.getAttribute(file, "unix:ino")).longValue() : -1;
                if (inode != Long.parseLong(f[4]))
                {
                    final String reason = f[5] + " on this machine is not the file the capture recorded (inode " + f[4] + ")";
                    System.err.println("ExecCommandTest skipped: " + reason);
                    Assumptions.abort(reason);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "ls/ls.maps                           | /usr/bin/ls                          | /usr/bin/ls /",
        "python3/python3.maps                 | /usr/bin/python3                     | /usr/bin/python3 -c pass",
        "java/java.maps                       | /usr/bin/java                        | /usr/bin/java -version",
        "gcc/gcc.maps                         | /usr/bin/gcc                         | /usr/bin/gcc -o hello hello.c",
        "gcc/children/02-cc1.maps             | /usr/lib/gcc/x86_64-linux-gnu/12/cc1 | @gcc/children/02-cc1.cmdline",
        "gcc/children/03-x86_64-linux-gnu-as.maps | /usr/bin/as                      | @gcc/children/03-x86_64-linux-gnu-as.cmdline",
        "gcc/children/04-collect2.maps        | /usr/lib/gcc/x86_64-linux-gnu/12/collect2 | @gcc/children/04-collect2.cmdline",
        "gcc/children/05-x86_64-linux-gnu-ld.bfd.maps | /usr/bin/ld                    | @gcc/children/05-x86_64-linux-gnu-ld.bfd.cmdline",
        "gcc-c/gcc-c.maps                     | /usr/bin/gcc                         | /usr/bin/gcc -c x.c",
        "gcc-c/children/02-cc1.maps           | /usr/lib/gcc/x86_64-linux-gnu/12/cc1 | @gcc-c/children/02-cc1.cmdline",
        "gcc-c/children/03-x86_64-linux-gnu-as.maps | /usr/bin/as                    | @gcc-c/children/03-x86_64-linux-gnu-as.cmdline",
        "sh-pipe/sh-pipe.maps                 | /usr/bin/sh                          | @sh-pipe/children/01-dash.cmdline",
        "sh-pipe/children/02-ls.maps          | /usr/bin/ls                          | @sh-pipe/children/02-ls.cmdline",
        "sh-pipe/children/03-wc.maps          | /usr/bin/wc                          | @sh-pipe/children/03-wc.cmdline",
        "python3-subprocess/python3-subprocess.maps | /usr/bin/python3               | @python3-subprocess/children/01-python3.11.cmdline",
        "python3-subprocess/children/02-true.maps | /usr/bin/true                    | @python3-subprocess/children/02-true.cmdline",
    })
    void theMapsOfEachCapturedProgramAtItsFirstInstruction(final String maps, final String path, final String argv)
        throws IOException
    {
        final List<String> recorded = Files.readAllLines(FIXTURES.resolve(maps));
        assumeSameFiles(recorded);
        final List<String> args = argv.startsWith("@") ? Files.readAllLines(FIXTURES.resolve(argv.substring(1)))
            : List.of(argv.split(" "));
        // the children's environment (what their parents passed them) was not recorded: their strings fit the
        // stack's one page without it, as with it
        final List<String> env = maps.contains("children") ? List.of() : CAPTURE_ENV;
        final CommandOutput r = CommandOutput.run(execArgs(path, env, args.subList(1, args.size())).toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(String.join("\n", recorded) + "\n", r.out());
    }

    private void run(final List<String> command) throws IOException, InterruptedException
    {
        final ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
        final Process p = pb.start();
        final String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + command);
        if (p.exitValue() != 0)
        {
            final String reason = String.join(" ", command) + " failed here: " + output.strip();
            System.err.println("ExecCommandTest skipped: " + reason);
            Assumptions.abort(reason);
        }
    }

    private static String stackLimit() throws IOException
    {
        for (final String line : Files.readAllLines(Path.of("/proc/self/limits")))
        {
            if (line.startsWith("Max stack size"))
            {
                final String soft = line.substring(26).trim().split("\\s+")[0];
                return soft.equals("unlimited") ? String.valueOf(Long.MAX_VALUE) : soft;
            }
        }
        return "8M";
    }

    /**
     * Programs of every kind execve lays out differently, built here with gcc and run under the real
     * kernel by tools/initial-maps (personality ADDR_NO_RANDOMIZE, maps copied at the exec stop).
     */
    @ParameterizedTest(name = "gcc {0}")
    @CsvSource({"-static", "-static-pie", "-no-pie", "-pie"})
    void programsBuiltHereEqualTheKernelsLayout(final String kind) throws IOException, InterruptedException
    {
        if (!Files.isExecutable(Path.of("/usr/bin/gcc")))
        {
            System.err.println("ExecCommandTest skipped: no /usr/bin/gcc");
            Assumptions.abort("no /usr/bin/gcc to build the test programs");
        }
        final Path tool = dir.resolve("initial-maps");
        run(List.of("gcc", "-O2", "-o", tool.toString(), INITIAL_MAPS_SOURCE.toAbsolutePath().toString()));
        final Path source = Files.writeString(dir.resolve("p.c"),
            "static char bss[300000]; int data[2000] = {1}; int main(void) { return bss[1] + data[2]; }\n");
        final Path program = dir.resolve("p" + kind);
        run(List.of("gcc", "-O2", kind, "-o", program.toString(), source.toString()));
        // a long argument spreads execve's strings over several pages
        final List<String> args = List.of("x".repeat(9000), "second");
        final List<String> command = new ArrayList<>(List.of(tool.toString(), dir.resolve("kernel.maps").toString(), "--",
            program.toString(), program.toString()));
        command.addAll(args);
        final ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().putAll(Map.of("A", "B", "LONG", "y".repeat(5000)));
        final Process p = pb.start();
        final String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        if (p.exitValue() != 0)
        {
            final String reason = "tools/initial-maps cannot trace here: " + output.strip();
            System.err.println("ExecCommandTest skipped: " + reason);
            Assumptions.abort(reason);
        }
        final List<String> env = new ArrayList<>();
        pb.environment().forEach((k, v) -> env.add(k + "=" + v));
        // the kernel copies envp in the order the process gave it; only the total size counts here
        final List<String> mmemu = new ArrayList<>(execArgs(program.toString(), env, args));
        mmemu.add(1, "--stack-limit");
        mmemu.add(2, stackLimit());
        final CommandOutput r = CommandOutput.run(mmemu.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(Files.readString(dir.resolve("kernel.maps")), r.out());
    }

    @Test
    void aFileExecveRefusesIsNamedWithExitTwo() throws IOException
    {
        final Path script = Files.writeString(dir.resolve("script.sh"), "#!/bin/sh\n");
        final CommandOutput notElf = CommandOutput.run("exec", script.toString());
        assertEquals(2, notElf.exitCode());
        assertEquals("mmemu exec: " + script + ": offset 0x0: not an ELF file (no \\177ELF magic)\n", notElf.err());
        assertEquals("", notElf.out());
        final CommandOutput missing = CommandOutput.run("exec", dir.resolve("absent").toString());
        assertEquals(2, missing.exitCode());
        assertEquals("mmemu exec: " + dir.resolve("absent") + ": no such file (execve: ENOENT)\n", missing.err());
        // an ELF64 header of an aarch64 executable (e_machine 183), and the same cut short
        final byte[] header = new byte[64];
        System.arraycopy(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1}, 0, header, 0, 7);
        header[16] = 2;
        header[18] = (byte)183;
        final Path arm = Files.write(dir.resolve("arm"), header);
        final CommandOutput otherMachine = CommandOutput.run("exec", arm.toString());
        assertEquals(2, otherMachine.exitCode());
        assertEquals("mmemu exec: " + arm + ": offset 0x12: e_machine 183 is not x86-64 (62)\n", otherMachine.err());
        final Path cut = Files.write(dir.resolve("cut"), Arrays.copyOf(header, 40));
        final CommandOutput truncated = CommandOutput.run("exec", cut.toString());
        assertEquals(2, truncated.exitCode());
        assertEquals("mmemu exec: " + cut + ": offset 0x28: truncated ELF header (40 of 64 bytes)\n", truncated.err());
        assertEquals("", truncated.out());
    }
}
