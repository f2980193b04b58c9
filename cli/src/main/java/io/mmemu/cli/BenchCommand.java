package io.mmemu.cli;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import io.mmemu.bench.JvmFlags;
import io.mmemu.bench.workload.BenchSpec;
import io.mmemu.bench.workload.Comparison;
import io.mmemu.bench.workload.EmulatorLoops;
import io.mmemu.bench.workload.HostProgram;
import io.mmemu.bench.workload.Workload;
import io.mmemu.phys.Backing;
import io.mmemu.vm.LockingMode;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mmemu bench}: the will-it-scale loops and the seed scenario on the emulator, the host
 * kernel, or both alternating ({@link Comparison}); or, with {@code --jmh}, the JMH benchmarks of
 * bench/target/benchmarks.jar in a JVM with the flags they need.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = {
        "Run a will-it-scale loop on the emulator, on the host kernel, or on both.",
        "",
        "WORKLOAD (page_fault1/2/3, page_fault1_guard, mmap1/2, seed) runs on the emulator, on the host kernel "
            + "(--host, a small C program built with cc on first use) or on both, alternating (--compare, ending "
            + "with the line 'ratio emulator/host: X.XX'). Prints ops/s per run (total and per thread), then the "
            + "median, min and max.",
        "",
        "--jmh PATTERN runs the JMH benchmarks matching PATTERN instead; words after '--' go to JMH "
            + "(e.g. mmemu bench --jmh TlbHit -- -prof gc).",
        ""
    })
public final class BenchCommand implements Callable<Integer>
{
    @Parameters(arity = "0..*", paramLabel = "WORKLOAD | JMH-ARGS",
        description = "page_fault1, page_fault1_guard, page_fault2, page_fault3, mmap1, mmap2 or seed; with --jmh, arguments passed to JMH.")
    List<String> words = new ArrayList<>();

    @Option(names = "--threads", description = "Threads running the loop (default 1; seed: 4).")
    Integer threads;

    @Option(names = "--seconds", defaultValue = "1", description = "Length of each run (default ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--reps", defaultValue = "3", description = "Runs per side (default ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--size", defaultValue = "128M", description = "Bytes each loop maps (default ${DEFAULT-VALUE}).")
    long size;

    @Option(names = "--locking", defaultValue = "per-vma", description = "per-vma or mmap-lock (default ${DEFAULT-VALUE}).")
    String locking;

    @Option(names = "--backing", description = "full or tables-only (default full; seed: tables-only).")
    String backing;

    @Option(names = "--big", defaultValue = "16G",
        description = "seed: the large mapping the emulator unmaps (default ${DEFAULT-VALUE}).")
    long big;

    @Option(names = "--host-big", defaultValue = "1G",
        description = "seed: the large mapping the host unmaps, real memory (default ${DEFAULT-VALUE}).")
    long hostBig;

    @ArgGroup(exclusive = true)
    Side side;

    @Option(names = "--jmh", paramLabel = "PATTERN", description = "Run the JMH benchmarks matching PATTERN.")
    String jmh;

    static final class Side
    {
        @Option(names = "--host", description = "Run on the host kernel only.")
        boolean host;

        @Option(names = "--compare", description = "Run on both, alternating, and print the ratio.")
        boolean compare;
    }

    @Override
    public Integer call()
    {
        if (jmh != null)
        {
            return runJmh();
        }
        if (words.size() != 1)
        {
            System.err.println("mmemu bench: one WORKLOAD is needed: " + io.mmemu.bench.workload.Workload.NAMES + " (or --jmh PATTERN)");
            return 2;
        }
        final BenchSpec spec;
        try
        {
            final Workload workload = Workload.fromCliName(words.get(0));
            final boolean seed = workload.seed();
            final Backing mode = switch (backing == null ? (seed ? "tables-only" : "full") : backing)
            {
                case "full" -> Backing.FULL;
                case "tables-only" -> Backing.TABLES_ONLY;
                default -> throw new IllegalArgumentException("--backing must be full or tables-only, not '" + backing + "'");
            };
            if (reps < 1)
            {
                throw new IllegalArgumentException("--reps must be at least 1");
            }
            spec = new BenchSpec(workload, threads == null ? (seed ? 4 : 1) : threads, seconds, size, big, hostBig,
                LockingMode.fromCliName(locking), mode);
        }
        catch (final IllegalArgumentException ex)
        {
            System.err.println("mmemu bench: " + ex.getMessage());
            return 2;
        }
        final Comparison.Sides sides = side == null ? Comparison.Sides.EMULATOR :
            side.host ? Comparison.Sides.HOST : Comparison.Sides.BOTH;
        try (EmulatorLoops loops = new EmulatorLoops())
        {
            final HostProgram host = sides == Comparison.Sides.EMULATOR ? null : HostProgram.build();
            System.out.printf("%s, %d threads, %s s a run, %d runs a side%n", spec.workload().cliName(), spec.threads(),
                seconds, reps);
            new Comparison(loops, host, System.out).run(spec, reps, sides);
            return 0;
        }
        catch (final IOException | IllegalStateException ex)
        {
            System.err.println("mmemu bench: " + ex.getMessage());
            return 1;
        }
    }

    /** benchmarks.jar run by this JVM's java with the JVM flags, in a child process sharing our terminal. */
    private int runJmh()
    {
        final Path jar = benchmarksJar();
        if (!Files.isRegularFile(jar))
        {
            System.err.println("mmemu bench: " + jar + " is missing; build it with bench/run or " +
                "'mvn -q -DskipTests -pl bench -am package'");
            return 2;
        }
        final String java = ProcessHandle.current().info().command().orElse("java");
        final List<String> command = new ArrayList<>(List.of(java, JvmFlags.NATIVE_ACCESS, JvmFlags.OPEN_MISC,
            "-jar", jar.toString(), jmh));
        command.addAll(words);
        System.out.println("mmemu bench: " + String.join(" ", command));
        try
        {
            return new ProcessBuilder(command).inheritIO().start().waitFor();
        }
        catch (final IOException ex)
        {
            System.err.println("mmemu bench: cannot run JMH: " + ex.getMessage());
            return 1;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    /** bench/target/benchmarks.jar of the project this command's jar was built in ($MMEMU_HOME overrides). */
    private static Path benchmarksJar()
    {
        final String home = System.getenv("MMEMU_HOME");
        if (home != null)
        {
            return Path.of(home, "bench", "target", "benchmarks.jar");
        }
        try
        {
            // cli/target/mmemu.jar (or cli/target/classes) -> the project root
            final Path self = Path.of(BenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return self.getParent().getParent().getParent().resolve("bench").resolve("target").resolve("benchmarks.jar");
        }
        catch (final URISyntaxException | RuntimeException ex)
        {
            return Path.of("bench", "target", "benchmarks.jar");
        }
    }
}
