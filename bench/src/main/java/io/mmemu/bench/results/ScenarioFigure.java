package io.mmemu.bench.results;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.mmemu.bench.scenario.Metric;

/**
 * A figure measured by a scenario main class run in fresh JVMs (a first populate, a process's
 * resident set: things a JMH iteration cannot show). Each run prints {@link Metric} lines; each
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
        final Map<String, List<Double>> samples = new LinkedHashMap<>();
        final Map<String, String> units = new LinkedHashMap<>();
        final List<String> problems = new ArrayList<>();
        for (int run = 1; run <= runs; run++)
        {
            System.out.println("# " + id + " run " + run + " of " + runs + ": " + Settings.shell(command));
            final int status = runOnce(command, samples, units);
            if (status != 0)
            {
                problems.add("run " + run + " exited with status " + status + " (see the run's log)");
            }
        }

        final Map<String, Measurement> metrics = new LinkedHashMap<>();
        samples.forEach((name, values) -> metrics.put(name,
            new Measurement(units.get(name), values.stream().mapToDouble(Double::doubleValue).toArray())));
        final List<Row> out = new ArrayList<>();
        for (final MetricRow row : rows)
        {
            out.add(new Row(row.label(), metrics.get(row.metric()), row.target(), ""));
        }
        final String method = runs == 1 ? "one run" : runs + " runs, each in a fresh JVM (medians and spreads over the runs)";
        return new Outcome(List.of(Settings.shell(command)), method, out, problems, metrics);
    }

    /** Runs the scenario once, echoing its output and collecting its metrics; returns its exit status. */
    private static int runOnce(final List<String> command, final Map<String, List<Double>> samples,
        final Map<String, String> units)
    {
        try
        {
            final Process process = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
            try (BufferedReader lines = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
            {
                String line;
                while ((line = lines.readLine()) != null)
                {
                    System.out.println(line);
                    final Metric metric = Metric.parse(line);
                    if (metric != null)
                    {
                        samples.computeIfAbsent(metric.name(), name -> new ArrayList<>()).add(metric.value());
                        units.put(metric.name(), metric.unit());
                    }
                }
            }
            return process.waitFor();
        }
        catch (final IOException ex)
        {
            System.err.println("cannot run " + command + ": " + ex.getMessage());
            return -1;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
