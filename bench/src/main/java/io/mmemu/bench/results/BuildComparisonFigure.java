package io.mmemu.bench.results;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.mmemu.bench.results.ScenarioFigure.MetricRow;

/**
 * page_fault1 of this working tree beside an older build of the project, by the faulting threads'
 * CPU time: the figure for a bar of the form "stays within N% of commit X". The older build is
 * built from this clone's history ({@code bench/scripts/build_at.sh COMMIT}, once, into
 * bench/results-raw/builds/); both builds run the same measuring code (this tree's
 * FaultCpuTimeScenario, first on each class path), each in a JVM of its own, and are measured in
 * alternation ({@code bench/scripts/fault_cpu_alternation.sh},
 * {@link io.mmemu.bench.scenario.FaultCpuAlternation}) at each thread count. The script prints every pair's {@code alternation.tT.base}, {@code .new}
 * (CPU ns per fault) and {@code .ratio} (new / base) as metric lines, and the rows show those.
 * <p>
 * The pairs scatter by design: now and then a JVM's compilation of its build's hot path comes out
 * 1.3–1.9× slow and stays so for the JVM's life (bench/README.md, "Comparing two builds"), so the
 * figure is the median over the pairs of many rounds, and its min – max spread says
 * nothing about the machine: the figure is measured again only when other work disturbed it.
 *
 * @param baseCommit the commit compared against, as git names it.
 * @param threads    the thread counts, one alternation run each.
 */
public record BuildComparisonFigure(String id, String title, String what, String baseCommit, List<Integer> threads,
    List<MetricRow> rows) implements Figure
{
    @Override
    public double disturbedSpread()
    {
        return Double.POSITIVE_INFINITY;
    }

    @Override
    public Outcome measure(final Settings settings)
    {
        final Path scripts = settings.jar().getParent().getParent().resolve("scripts");
        final String buildAt = scripts.resolve("build_at.sh").toString();
        final String alternation = scripts.resolve("fault_cpu_alternation.sh").toString();
        final List<String> commands = new ArrayList<>();
        final List<String> problems = new ArrayList<>();
        final MetricProcess.Samples samples = new MetricProcess.Samples();

        final String base = MetricProcess.answer(process(settings, List.of(buildAt, baseCommit)));
        final String current = MetricProcess.answer(process(settings, List.of(buildAt, "--current")));
        if (base == null || current == null)
        {
            problems.add("`" + buildAt + (base == null ? " " + baseCommit : " --current") +
                "` failed (see the run's log): nothing measured");
        }
        else
        {
            for (final int count : threads)
            {
                final List<String> command = List.of(alternation, Integer.toString(settings.comparisonRounds()),
                    Integer.toString(settings.comparisonPairs()), Integer.toString(count), base, current);
                // shown as a reader can paste it: the class paths as the script that makes them
                commands.add(Settings.shell(command.subList(0, 4)) + " \"$(" + buildAt + ' ' + baseCommit + ")\" \"$(" +
                    buildAt + " --current)\"");
                System.out.println("# " + id + ": " + Settings.shell(command));
                final int status = MetricProcess.run(process(settings, command), samples);
                if (status != 0)
                {
                    problems.add(count + " thread(s): the comparison exited with status " + status + " (see the run's log)");
                }
            }
        }

        final Map<String, Measurement> metrics = samples.measurements();
        final List<Row> out = new ArrayList<>();
        for (final MetricRow row : rows)
        {
            out.add(new Row(row.label(), metrics.get(row.metric()), row.target(), ""));
        }
        final String method = settings.comparisonRounds() + " rounds of " + settings.comparisonPairs() +
            " pairs a thread count, each round a JVM per build (compiling in line, `-Xbatch`), the two measuring in " +
            "alternation, seconds apart, the order alternating; medians and spreads over every pair of every round";
        return new Outcome(commands, method, out, problems, metrics);
    }

    /** A script run with this JVM's JDK, so that the builds compared are built and run by the page's own. */
    private static ProcessBuilder process(final Settings settings, final List<String> command)
    {
        final ProcessBuilder process = new ProcessBuilder(command);
        final Path javaHome = Path.of(settings.java()).toAbsolutePath().getParent().getParent();
        process.environment().put("JAVA_HOME", javaHome.toString());
        return process;
    }
}
