package io.mmemu.bench.results;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A figure measured by a scenario main class run in fresh JVMs (a first populate, a process's
 * resident set: things a JMH iteration cannot show). Each run prints {@link io.mmemu.bench.scenario.Metric} lines; each
 * row is one metric, its samples the runs' values.
 *
 * @param repeated whether the figure varies from run to run (timings) and so is run
 *                 {@link Settings#scenarioRuns()} times; exact counts run once.
 */
public record ScenarioFigure(String id, String title, String what, String mainClass, List<String> args,
    boolean repeated, List<MetricRow> rows) implements Figure
{
    /** A row: the metric it shows and its target ({@code null} for context). */
    public record MetricRow(String label, String metric, Target target)
    {
    }

    @Override
    public Outcome measure(final Settings settings)
    {
        final List<String> command = new ArrayList<>(settings.javaCommand());
        command.add("-cp");
        command.add(settings.jar().toString());
        command.add(mainClass);
        command.addAll(args);

        final int runs = repeated ? settings.scenarioRuns() : 1;
        final MetricProcess.Samples samples = new MetricProcess.Samples();
        final List<String> problems = new ArrayList<>();
        for (int run = 1; run <= runs; run++)
        {
            System.out.println("# " + id + " run " + run + " of " + runs + ": " + Settings.shell(command));
            final int status = MetricProcess.run(new ProcessBuilder(command), samples);
            if (status != 0)
            {
                problems.add("run " + run + " exited with status " + status + " (see the run's log)");
            }
        }

        final Map<String, Measurement> metrics = samples.measurements();
        final List<Row> out = new ArrayList<>();
        for (final MetricRow row : rows)
        {
            out.add(new Row(row.label(), metrics.get(row.metric()), row.target(), ""));
        }
        final String method = runs == 1 ? "one run" : runs + " runs, each in a fresh JVM (medians and spreads over the runs)";
        return new Outcome(List.of(Settings.shell(command)), method, out, problems, metrics);
    }
}
