package io.mmemu.bench.results;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * A figure measured by JMH: one JMH command line (benchmark selection plus the run's options),
 * parsed by JMH's own command-line parser and run in this JVM, so the command shown on the page
 * is exactly what ran. Each row is one benchmark (and parameter set) of the run; its samples are
 * the measured iterations of every fork. The {@code -prof gc} allocation per op is noted beside.
 *
 * @param selection the benchmark regex and any {@code -p} options.
 * @param forks     JMH forks (fresh JVMs): more than the page's default of one where a figure varies
 *                  from run to run (the shared machine's slow spells), so that its median is over
 *                  several and each fork's median shows.
 */
public record JmhFigure(String id, String title, String what, List<String> selection, List<Bench> rows, int forks)
    implements Figure
{
    public JmhFigure(final String id, final String title, final String what, final List<String> selection,
        final List<Bench> rows)
    {
        this(id, title, what, selection, rows, 1);
    }

    /** JMH's normalised allocation figure, from {@code -prof gc}. */
    private static final String ALLOC_PER_OP = "gc.alloc.rate.norm";

    /**
     * A row: the benchmark {@code Class.method} and the parameters that pick its result.
     *
     * @param params     {@code name=value} pairs, empty for a benchmark without parameters.
     * @param pagesPerOp pages one op maps (or unmaps), to show the rate beside the time; 0 for none.
     */
    public record Bench(String label, String benchmark, List<String> params, Target target, long pagesPerOp)
    {
        public Bench(final String label, final String benchmark, final List<String> params, final Target target)
        {
            this(label, benchmark, params, target, 0);
        }

        boolean matches(final BenchmarkParams run)
        {
            if (!run.getBenchmark().endsWith('.' + benchmark))
            {
                return false;
            }
            for (final String pair : params)
            {
                final int eq = pair.indexOf('=');
                if (!pair.substring(eq + 1).equals(run.getParam(pair.substring(0, eq))))
                {
                    return false;
                }
            }
            return true;
        }
    }

    @Override
    public Outcome measure(final Settings settings)
    {
        final List<String> jmhArgs = new ArrayList<>(selection);
        jmhArgs.addAll(settings.jmhOptions(forks));
        final List<String> command = new ArrayList<>(settings.javaCommand());
        command.add("-jar");
        command.add(settings.jar().toString());
        command.addAll(jmhArgs);

        final List<String> problems = new ArrayList<>();
        Collection<RunResult> results = List.of();
        try
        {
            results = new Runner(new CommandLineOptions(jmhArgs.toArray(String[]::new))).run();
        }
        catch (final CommandLineOptionException | RunnerException ex)
        {
            problems.add("JMH failed: " + ex.getMessage());
        }

        final List<Row> out = new ArrayList<>();
        for (final Bench bench : rows)
        {
            final RunResult result = results.stream()
                .filter(r -> bench.matches(r.getParams()))
                .findFirst()
                .orElse(null);
            if (result == null)
            {
                out.add(new Row(bench.label(), null, bench.target(), ""));
                continue;
            }
            final List<Double> scores = new ArrayList<>();
            final List<Double> allocation = new ArrayList<>();
            final List<String> forkMedians = new ArrayList<>();
            String unit = result.getPrimaryResult().getScoreUnit();
            for (final BenchmarkResult fork : result.getBenchmarkResults())
            {
                final List<Double> forkScores = new ArrayList<>();
                for (final IterationResult iteration : fork.getIterationResults())
                {
                    forkScores.add(iteration.getPrimaryResult().getScore());
                    unit = iteration.getPrimaryResult().getScoreUnit();
                    final Map<String, Result> secondary = iteration.getSecondaryResults();
                    final Result alloc = secondary.get(ALLOC_PER_OP);
                    if (alloc != null)
                    {
                        allocation.add(alloc.getScore());
                    }
                }
                scores.addAll(forkScores);
                forkMedians.add(Quantity.format(new Measurement(unit, toArray(forkScores)).median(), unit));
            }
            final Measurement time = new Measurement(unit, toArray(scores));
            final List<String> note = new ArrayList<>();
            if (bench.pagesPerOp() > 0)
            {
                final double rate = bench.pagesPerOp() / Quantity.secondsPerOp(time.median(), unit);
                note.add(Quantity.format(rate, "pages/s") + " each way");
            }
            if (forkMedians.size() > 1)
            {
                // a fork that ran in one of the shared machine's slow spells shows as such, not only in the spread
                note.add("fork medians " + sharingUnit(forkMedians));
            }
            if (!allocation.isEmpty())
            {
                note.add("JMH alloc " + Quantity.format(new Measurement("B/op", toArray(allocation)).median(), "B/op"));
            }
            out.add(new Row(bench.label(), time, bench.target(), String.join("; ", note)));
        }
        final String method = "JMH: " + String.join(" ", settings.jmhOptions(forks)) +
            " (medians and spreads over the measured iterations)";
        return new Outcome(List.of(Settings.shell(command)), method, out, problems, Map.of());
    }

    /** "41.3 ns/op, 68.8 ns/op" as "41.3, 68.8 ns/op" when every value has the same unit. */
    static String sharingUnit(final List<String> values)
    {
        final String last = values.getLast();
        final String unit = last.substring(last.indexOf(' '));
        if (values.stream().allMatch(v -> v.endsWith(unit)))
        {
            return values.stream().map(v -> v.substring(0, v.length() - unit.length()))
                .collect(Collectors.joining(", ")) + unit;
        }
        return String.join(", ", values);
    }

    private static double[] toArray(final List<Double> values)
    {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
