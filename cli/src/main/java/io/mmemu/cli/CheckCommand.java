package io.mmemu.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import io.mmemu.check.CheckMachine;
import io.mmemu.check.ProgramText;
import io.mmemu.check.Scenario;
import io.mmemu.check.ScenarioGenerator;
import io.mmemu.check.Soak;
import io.mmemu.check.Violation;
import io.mmemu.phys.Backing;
import io.mmemu.program.RunOptions;
import io.mmemu.script.Call;
import io.mmemu.vm.LockingMode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mmemu check}: the linearizability checker as a soak. Random concurrent programs run on
 * the chosen locking modes and backings; every history is checked against the one-thread
 * emulator; a violation is shrunk and printed (and written to a file) as a {@code .mm} program.
 */
@Command(
    name = "check",
    mixinStandardHelpOptions = true,
    description = {
        "Check concurrent programs against every sequential order (a linearizability checker).",
        "",
        "Runs random concurrent programs (threads of mmap, munmap, mprotect, mremap, madvise, brk and "
            + "one-byte touches over one small window) and checks that every run's results are those of some "
            + "sequential order that respects real time, replayed on one thread of the emulator; the invariant "
            + "checker and frame accounting run after each. A violation is shrunk and printed as a program for "
            + "mmemu run, with the failing history as comments.",
        "",
        "Exit status: 0 no violation, 1 violations found, 2 bad options."
    })
public final class CheckCommand implements Callable<Integer>
{
    /** Scenarios per mode when neither --scenarios nor --minutes is given. */
    private static final long DEFAULT_SCENARIOS = 100;
    private static final long PROGRESS_NANOS = TimeUnit.SECONDS.toNanos(2);

    @Option(names = "--minutes", description = "Run for this long (a soak); with --scenarios, whichever ends first.")
    Double minutes;

    @Option(names = "--scenarios", description = "Scenarios per mode (default " + DEFAULT_SCENARIOS + " without --minutes).")
    Long scenarios;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the programs (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--locking", defaultValue = "both", description = "per-vma, mmap-lock or both (default ${DEFAULT-VALUE}).")
    String locking;

    @Option(names = "--backing", defaultValue = "both", description = "full, tables-only or both (default ${DEFAULT-VALUE}).")
    String backing;

    @Option(names = "--threads", defaultValue = "2-4", description = "Threads per program, N or MIN-MAX (default ${DEFAULT-VALUE}).")
    String threads;

    @Option(names = "--ops", defaultValue = "3-6", description = "Operations per thread, N or MIN-MAX (default ${DEFAULT-VALUE}).")
    String ops;

    @Option(names = "--without", split = ",", paramLabel = "CALL",
        description = "Calls the threads never make (mmap, munmap, mprotect, mremap, madvise, brk, touch), to look past a known bug.")
    List<String> without = new ArrayList<>();

    @Option(names = "--max-violations", defaultValue = "3", description = "Stop after this many (default ${DEFAULT-VALUE}).")
    int maxViolations;

    @Option(names = "--shrink-seconds", defaultValue = "60", description = "Time to shrink each violation (default ${DEFAULT-VALUE}).")
    long shrinkSeconds;

    @Option(names = "--shrink-runs", defaultValue = "200",
        description = "Runs of a smaller program before shrinking calls it passing (default ${DEFAULT-VALUE}).")
    int shrinkRuns;

    @Option(names = "--out", paramLabel = "DIR", description = "Also write each shrunk program to DIR/violation-N.mm.")
    Path out;

    @Option(names = "--program", paramLabel = "FILE",
        description = "Instead of random programs, run this one (a violation's .mm as mmemu check wrote it) --runs times.")
    Path program;

    @Option(names = "--runs", defaultValue = "1000", description = "Runs of --program (default ${DEFAULT-VALUE}).")
    int runs;

    @Override
    public Integer call()
    {
        if (program != null)
        {
            return runProgram();
        }
        final Soak.Settings settings;
        try
        {
            settings = settings();
        }
        catch (final IllegalArgumentException ex)
        {
            System.err.println("mmemu check: " + ex.getMessage());
            return 2;
        }
        final long[] lastPrint = {System.nanoTime()};
        final long start = lastPrint[0];
        final List<Violation> found = new ArrayList<>();
        final Soak.Summary summary;
        try
        {
            summary = Soak.run(settings, (tallies, violation) ->
            {
                if (violation != null)
                {
                    found.add(violation);
                    report(found.size(), violation);
                }
                final long now = System.nanoTime();
                if (now - lastPrint[0] >= PROGRESS_NANOS)
                {
                    lastPrint[0] = now;
                    System.out.println(progress(tallies, now - start));
                    System.out.flush();
                }
            });
        }
        catch (final IllegalStateException ex)
        {
            // a scenario thread hung: the program is in the message; its machine cannot be reused
            System.out.flush();
            System.err.println("mmemu check: " + ex.getMessage());
            return 1;
        }
        System.out.println(progress(summary.tallies(), summary.nanos()));
        final long steps = summary.tallies().values().stream().mapToLong(Soak.Tally::modelSteps).sum();
        final long inconclusive = summary.tallies().values().stream().mapToLong(Soak.Tally::inconclusive).sum();
        System.out.printf("%d scenarios, %d histories checked (%.0f model steps each on average, %d inconclusive), %d violations%n",
            summary.scenarios(), summary.scenarios(), steps / (double)Math.max(1, summary.scenarios()), inconclusive,
            summary.violations().size());
        return summary.violations().isEmpty() ? 0 : 1;
    }

    /** {@code --program}: its runs, how many failed, the first failing one. */
    private int runProgram()
    {
        final Scenario scenario;
        try
        {
            if (runs < 1)
            {
                throw new IllegalArgumentException("--runs must be at least 1");
            }
            scenario = ProgramText.parse(program.toString(), Files.readString(program));
        }
        catch (final IOException ex)
        {
            System.err.println("mmemu check: cannot read " + program + ": " + ex.getMessage());
            return 2;
        }
        catch (final IllegalArgumentException ex)
        {
            System.err.println("mmemu check: " + ex.getMessage());
            return 2;
        }
        final SplittableRandom jitter = new SplittableRandom(seed);
        CheckMachine.Result first = null;
        int failed = 0;
        try (CheckMachine machine = new CheckMachine(scenario.backing()))
        {
            for (int i = 0; i < runs; i++)
            {
                final CheckMachine.Result result = machine.run(scenario, jitter);
                if (result.failed())
                {
                    failed++;
                    first = first == null ? result : first;
                }
            }
        }
        if (first != null)
        {
            report(1, new Violation(first.history(), failed, first.history(), first.verdict(), failed, runs));
        }
        System.out.printf("%s: %d runs, %d failed%n", program, runs, failed);
        return failed == 0 ? 0 : 1;
    }

    private void report(final int n, final Violation violation)
    {
        System.out.println("==> violation " + n + ": " + violation.summary());
        System.out.print(violation.program());
        if (out != null)
        {
            try
            {
                Files.createDirectories(out);
                final Path file = out.resolve("violation-" + n + ".mm");
                Files.writeString(file, violation.program());
                System.out.println("==> written to " + file);
            }
            catch (final IOException ex)
            {
                System.err.println("mmemu check: cannot write into " + out + ": " + ex.getMessage());
            }
        }
        System.out.flush();
    }

    private static String progress(final Map<Soak.Mode, Soak.Tally> tallies, final long nanos)
    {
        final StringBuilder sb = new StringBuilder(String.format("%7.1f s", nanos / 1e9));
        long total = 0;
        for (final Map.Entry<Soak.Mode, Soak.Tally> e : tallies.entrySet())
        {
            final Soak.Tally t = e.getValue();
            total += t.scenarios();
            sb.append(String.format("  %s %d", e.getKey().name(), t.scenarios()));
            if (t.violations() > 0 || t.inconclusive() > 0)
            {
                sb.append(String.format(" (%d violations, %d inconclusive)", t.violations(), t.inconclusive()));
            }
        }
        sb.append(String.format("  | %.0f scenarios/s", total / Math.max(1e-9, nanos / 1e9)));
        return sb.toString();
    }

    private Soak.Settings settings()
    {
        final List<LockingMode> lockings = switch (locking)
        {
            case "both" -> List.of(LockingMode.PER_VMA, LockingMode.MMAP_LOCK);
            default -> List.of(LockingMode.fromCliName(locking));
        };
        final List<Backing> backings = backing.equals("both") ? List.of(Backing.FULL, Backing.TABLES_ONLY)
            : List.of(RunOptions.defaults().with("backing", backing).backing());
        final int[] t = range("--threads", threads, 1, 16);
        final int[] o = range("--ops", ops, 1, 16);
        if (t[1] * o[1] + 12 > Long.SIZE)
        {
            throw new IllegalArgumentException("at most 52 operations a program: --threads and --ops ask for " + t[1] * o[1]);
        }
        final Set<Call> left = EnumSet.noneOf(Call.class);
        for (final String name : without)
        {
            final Call call = Call.named(name);
            if (call == null || call == Call.PKEY_MPROTECT)
            {
                throw new IllegalArgumentException("--without takes mmap, munmap, mprotect, mremap, madvise, brk or touch, not '"
                    + name + "'");
            }
            left.add(call);
        }
        if (minutes != null && !(minutes > 0))
        {
            throw new IllegalArgumentException("--minutes must be positive");
        }
        if ((scenarios != null && scenarios < 1) || maxViolations < 1 || shrinkSeconds < 0 || shrinkRuns < 1)
        {
            throw new IllegalArgumentException(
                "--scenarios, --max-violations and --shrink-runs must be at least 1, --shrink-seconds at least 0");
        }
        final long perMode = scenarios != null ? scenarios : minutes != null ? Long.MAX_VALUE : DEFAULT_SCENARIOS;
        final long deadline = minutes == null ? Long.MAX_VALUE : System.nanoTime() + (long)(minutes * 60e9);
        return new Soak.Settings(Soak.modes(lockings, backings), perMode, deadline, seed,
            new ScenarioGenerator(t[0], t[1], o[0], o[1], left), shrinkRuns, TimeUnit.SECONDS.toNanos(shrinkSeconds),
            maxViolations);
    }

    /** {@code N} or {@code MIN-MAX}, inside [lo, hi]. */
    private static int[] range(final String option, final String text, final int lo, final int hi)
    {
        final String[] parts = text.split("-", 2);
        try
        {
            final int min = Integer.parseInt(parts[0].strip());
            final int max = parts.length == 2 ? Integer.parseInt(parts[1].strip()) : min;
            if (min < lo || max < min || max > hi)
            {
                throw new IllegalArgumentException(option + " must be N or MIN-MAX within " + lo + "-" + hi + ", not '" + text + "'");
            }
            return new int[] {min, max};
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException(option + " must be N or MIN-MAX, not '" + text + "'");
        }
    }
}
