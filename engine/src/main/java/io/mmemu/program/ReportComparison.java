package io.mmemu.program;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.function.ToLongFunction;

import com.fasterxml.jackson.core.JsonGenerator;

/**
 * The same program on the emulator and on the host kernel ({@code mmemu run --compare}): the two
 * reports' figures side by side with the ratio emulator/host, and both reports in one JSON object
 * ({@code emulator}, {@code host}, {@code ratio}; keys in docs/language.md).
 *
 * @param emulator the emulated run's report
 * @param host     the host run's report
 */
public record ReportComparison(Report emulator, Report host)
{
    /** One compared figure: its name in the table and in the JSON's {@code ratio}, and how to read it from a report. */
    private record Figure(String name, String key, ToLongFunction<Report> value, Unit unit)
    {
    }

    private enum Unit
    {
        COUNT, NANOS, BYTES
    }

    private static final List<Figure> FIGURES = List.of(
        new Figure("wall time", "wall_ns", Report::wallNanos, Unit.NANOS),
        new Figure("faults", "faults", r -> r.stats().faults(), Unit.COUNT),
        new Figure("faults/s", "faults_per_s", r -> Math.round(r.faultsPerSecond()), Unit.COUNT),
        new Figure("SEGV_MAPERR", "sigsegv_maperr", r -> r.stats().segvMaperr(), Unit.COUNT),
        new Figure("SEGV_ACCERR", "sigsegv_accerr", r -> r.stats().segvAccerr(), Unit.COUNT),
        new Figure("SIGBUS", "sigbus", r -> r.stats().sigbus(), Unit.COUNT),
        new Figure("fault latency p50", "fault_p50_ns", r -> r.stats().faultLatency().getValueAtPercentile(50), Unit.NANOS),
        new Figure("fault latency p99", "fault_p99_ns", r -> r.stats().faultLatency().getValueAtPercentile(99), Unit.NANOS),
        new Figure("fault latency p99.9", "fault_p999_ns", r -> r.stats().faultLatency().getValueAtPercentile(99.9), Unit.NANOS),
        new Figure("fault latency max", "fault_max_ns", r -> r.stats().faultLatency().getMaxValue(), Unit.NANOS),
        new Figure("page-table pages peak", "page_table_pages_peak", Report::tablePagesPeak, Unit.COUNT),
        new Figure("page-table pages end", "page_table_pages", Report::tablePages, Unit.COUNT),
        new Figure("data frames peak", "data_frames_peak", Report::dataFramesPeak, Unit.COUNT),
        new Figure("data frames end", "data_frames", Report::dataFrames, Unit.COUNT),
        new Figure("RSS peak", "rss_peak_bytes", Report::rssPeak, Unit.BYTES),
        new Figure("statements", "statements", Report::statements, Unit.COUNT),
        new Figure("failed expectations", "failed_expectations", Report::failedExpectations, Unit.COUNT));

    /** 0 when both runs held every expectation, else 1. */
    public int exitStatus()
    {
        return Math.max(emulator.exitStatus(), host.exitStatus());
    }

    /** The emulator's figure over the host's, or NaN when the host's is 0 (or either is unknown). */
    private static double ratio(final long emulated, final long onHost)
    {
        return onHost <= 0 || emulated < 0 ? Double.NaN : (double)emulated / onHost;
    }

    /** The side-by-side table, then each side's failures and what stopped it. */
    public void print(final PrintStream out)
    {
        final Report e = emulator;
        out.printf("%s: emulator (%s, %s %s memory) vs host kernel %s, seed %d%s%n", e.program().name(),
            e.options().locking().cliName(), Quantities.bytes(e.options().physicalMemory()),
            Report.backingName(e.options().backing()), host.host(), e.options().seed(),
            e.interrupted() || host.interrupted() ? " -- INTERRUPTED" : "");
        out.printf("  %-22s %14s %14s %10s%n", "", "emulator", "host", "emu/host");
        for (final Figure figure : FIGURES)
        {
            final long a = figure.value().applyAsLong(e);
            final long b = figure.value().applyAsLong(host);
            final double ratio = ratio(a, b);
            out.printf("  %-22s %14s %14s %10s%n", figure.name(), text(figure, a), text(figure, b),
                Double.isNaN(ratio) ? "-" : String.format(Locale.ROOT, "%.2f", ratio));
        }
        side(out, "emulator", e);
        side(out, "host", host);
        out.flush();
    }

    private static String text(final Figure figure, final long value)
    {
        if (value < 0)
        {
            return "unknown";
        }
        return switch (figure.unit())
        {
            case NANOS -> Quantities.nanos(value);
            case BYTES -> Quantities.bytes(value);
            case COUNT -> Long.toString(value);
        };
    }

    private static void side(final PrintStream out, final String name, final Report report)
    {
        for (final String failure : report.failures())
        {
            out.println("  " + name + ": " + failure);
        }
        if (report.failedExpectations() > report.failures().size())
        {
            out.println("  " + name + ": ... and " + (report.failedExpectations() - report.failures().size()) + " more");
        }
        if (report.fatal() != null)
        {
            out.println("  " + name + " killed: " + report.fatal());
        }
        if (report.error() != null)
        {
            out.println("  " + name + " stopped: " + report.error());
        }
    }

    /** One object: {@code program}, {@code host_kernel}, {@code emulator} and {@code host} (each a whole report), {@code ratio}. */
    public void writeJson(final OutputStream out) throws IOException
    {
        try (JsonGenerator json = Report.json(out))
        {
            json.writeStartObject();
            json.writeStringField("program", emulator.program().name());
            json.writeStringField("host_kernel", host.host());
            json.writeFieldName("emulator");
            emulator.writeJson(json);
            json.writeFieldName("host");
            host.writeJson(json);
            json.writeObjectFieldStart("ratio");
            for (final Figure figure : FIGURES)
            {
                final double ratio = ratio(figure.value().applyAsLong(emulator), figure.value().applyAsLong(host));
                if (Double.isNaN(ratio))
                {
                    json.writeNullField(figure.key());
                }
                else
                {
                    json.writeNumberField(figure.key(), ratio);
                }
            }
            json.writeEndObject();
            json.writeEndObject();
        }
    }
}
