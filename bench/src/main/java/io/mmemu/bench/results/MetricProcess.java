package io.mmemu.bench.results;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import io.mmemu.bench.scenario.Metric;

/**
 * Runs one measuring process (a scenario's JVM, a comparison script) to its end, its output echoed
 * to the run's log and its standard error inherited: every {@link Metric} line it prints is one more
 * sample of that metric.
 */
final class MetricProcess
{
    /** The status of a process that could not be run at all (the reason on standard error). */
    static final int NOT_RUN = -1;

    private MetricProcess()
    {
    }

    /** The samples of every metric printed by the processes run into it, in the order first printed. */
    static final class Samples
    {
        private final Map<String, List<Double>> values = new LinkedHashMap<>();
        private final Map<String, String> units = new LinkedHashMap<>();

        void add(final Metric metric)
        {
            values.computeIfAbsent(metric.name(), name -> new ArrayList<>()).add(metric.value());
            units.put(metric.name(), metric.unit());
        }

        /** Each metric's samples as a measurement, by name. */
        Map<String, Measurement> measurements()
        {
            final Map<String, Measurement> out = new LinkedHashMap<>();
            values.forEach((name, list) ->
                out.put(name, new Measurement(units.get(name), list.stream().mapToDouble(Double::doubleValue).toArray())));
            return out;
        }
    }

    /** Runs {@code process}, adding each metric line it prints to {@code samples}; returns its exit status, or {@link #NOT_RUN}. */
    static int run(final ProcessBuilder process, final Samples samples)
    {
        return run(process, line ->
        {
            final Metric metric = Metric.parse(line);
            if (metric != null)
            {
                samples.add(metric);
            }
        });
    }

    /**
     * Runs {@code process} and returns the last line it printed (a script's answer, such as a class
     * path), or {@code null} when it failed or printed nothing.
     */
    static String answer(final ProcessBuilder process)
    {
        final List<String> printed = new ArrayList<>();
        final int status = run(process, printed::add);
        return status == 0 && !printed.isEmpty() ? printed.getLast() : null;
    }

    private static int run(final ProcessBuilder process, final Consumer<String> eachLine)
    {
        try
        {
            final Process running = process.redirectError(ProcessBuilder.Redirect.INHERIT).start();
            try (BufferedReader lines = new BufferedReader(
                new InputStreamReader(running.getInputStream(), StandardCharsets.UTF_8)))
            {
                String line;
                while ((line = lines.readLine()) != null)
                {
                    System.out.println(line);
                    eachLine.accept(line);
                }
            }
            return running.waitFor();
        }
        catch (final IOException ex)
        {
            System.err.println("cannot run " + process.command() + ": " + ex.getMessage());
            return NOT_RUN;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return NOT_RUN;
        }
    }
}
