package io.mmemu.bench.results;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

import io.mmemu.bench.results.Plots.Picture;

/**
 * Measures every figure of {@link Figures} and writes the results page: what {@code bench/run}
 * runs. A figure that looks disturbed (spread above its {@link Figure#disturbedSpread()}) is measured
 * again, up to {@link Settings#attempts()}, when the machine has become quiet by then, and the
 * steadier attempt is kept. The {@link Plots} are drawn from the kept attempts' values into
 * {@code plots/} next to the page.
 * <p>
 * Usage: {@code Results [--quick] [--only REGEX] --out FILE}. Exit status 0 when every figure has
 * every value (whether or not it meets its target), 1 otherwise, 2 on bad arguments.
 */
public final class Results
{
    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm z", Locale.ROOT);

    private Results()
    {
    }

    public static void main(final String[] args) throws IOException
    {
        // the plots are drawn off screen: no display needed, none looked for
        System.setProperty("java.awt.headless", "true");
        boolean quick = false;
        Pattern only = null;
        Path out = null;
        for (int i = 0; i < args.length; i++)
        {
            switch (args[i])
            {
                case "--quick" -> quick = true;
                case "--only" -> only = Pattern.compile(next(args, ++i));
                case "--out" -> out = Path.of(next(args, ++i));
                default -> usage("unknown argument " + args[i]);
            }
        }
        if (out == null)
        {
            usage("--out FILE is required");
        }

        final Machine machine = Machine.read();
        final Settings settings = new Settings(quick, javaLauncher(), displayed(benchmarksJar()));
        final List<Section> sections = new ArrayList<>();
        boolean complete = true;
        for (final Figure figure : Figures.all())
        {
            if (only == null || only.matcher(figure.id()).find())
            {
                final Section section = measure(figure, settings, machine);
                complete &= section.outcome().complete();
                sections.add(section);
            }
        }
        if (sections.isEmpty())
        {
            usage("--only " + only + " matches no figure id");
        }
        final Path parent = out.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        final List<Picture> pictures = Plots.draw(Figures.plots(), sections, out);
        final String page = ResultsPage.render(sections, pictures, machine, ZonedDateTime.now().format(DATE), quick);
        Files.writeString(out, page);
        System.out.println("# wrote " + out + (complete ? "" : " (some figures are missing values: see the page)"));
        System.exit(complete ? 0 : 1);
    }

    private static Section measure(final Figure figure, final Settings settings, final Machine machine)
    {
        Section kept = null;
        final List<String> setAside = new ArrayList<>();
        for (int attempt = 1; attempt <= settings.attempts(); attempt++)
        {
            System.out.println("# figure " + figure.id() + ", attempt " + attempt);
            final OtherWork.Meter meter = OtherWork.start(settings.quietWaitSeconds());
            if (attempt > 1 && !meter.quietAtStart())
            {
                // The wait for quiet ran out: measured again now, the figure would be as disturbed
                // as the attempt it is to replace (in past runs such attempts were set aside or no
                // better), so the time goes to the next figure instead.
                final String skipped = "Attempt " + attempt + " not measured: the machine was still " +
                    meter.describeStart();
                System.out.println("# figure " + figure.id() + ", " + skipped);
                setAside.add(skipped);
                break;
            }
            final String at = ZonedDateTime.now().format(DATE);
            final Outcome outcome = figure.measure(settings);
            final Section section = new Section(figure, outcome, at, meter.stop(), machine, attempt, List.of());
            System.out.println("# figure " + figure.id() + ", attempt " + attempt + ": " +
                section.conditions().describe() + String.format("; spread %.0f%%", 100 * outcome.disturbance()));
            if (kept == null || lessDisturbed(section, kept))
            {
                if (kept != null)
                {
                    setAside.add(summary(kept));
                }
                kept = section;
            }
            else
            {
                setAside.add(summary(section));
            }
            if (!disturbed(kept) || !kept.outcome().complete())
            {
                break;
            }
        }
        return new Section(figure, kept.outcome(), kept.measuredAt(), kept.conditions(), machine, kept.attempt(),
            List.copyOf(setAside));
    }

    /** Disturbed: other work took a large share of the CPUs, or the samples spread widely. */
    private static boolean disturbed(final Section section)
    {
        return section.conditions().disturbed() || section.outcome().disturbance() > section.figure().disturbedSpread();
    }

    /**
     * Whether {@code a} is the better measurement: less other work on the machine during it (a
     * steady but slowed-down run is no better than a noisy one), then the smaller spread.
     */
    private static boolean lessDisturbed(final Section a, final Section b)
    {
        final double otherA = a.conditions().otherWork();
        final double otherB = b.conditions().otherWork();
        if (!Double.isNaN(otherA) && !Double.isNaN(otherB) && Math.abs(otherA - otherB) > 0.05)
        {
            return otherA < otherB;
        }
        return a.outcome().disturbance() < b.outcome().disturbance();
    }

    /** An attempt set aside, in one line: when, its spread, and the medians of the rows that decide it. */
    private static String summary(final Section section)
    {
        final StringBuilder line = new StringBuilder()
            .append("Set aside as disturbed: attempt ").append(section.attempt())
            .append(" at ").append(section.measuredAt())
            .append(" (").append(section.conditions().describe()).append(String.format("; spread %.0f%%): ",
                100 * section.outcome().disturbance()));
        String sep = "";
        for (final Row row : section.outcome().decisiveRows())
        {
            line.append(sep).append(row.label()).append(' ')
                .append(row.value() == null ? "—" : Quantity.format(row.value().median(), row.value().unit()));
            sep = "; ";
        }
        return line.toString();
    }

    private static String javaLauncher()
    {
        return ProcessHandle.current().info().command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    private static Path benchmarksJar()
    {
        try
        {
            return Path.of(Results.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        }
        catch (final URISyntaxException ex)
        {
            throw new IllegalStateException("cannot locate benchmarks.jar", ex);
        }
    }

    /** {@code path} relative to the working directory when it lies below it, as commands are shown. */
    private static Path displayed(final Path path)
    {
        final Path here = Path.of("").toAbsolutePath();
        final Path absolute = path.toAbsolutePath();
        return absolute.startsWith(here) ? here.relativize(absolute) : absolute;
    }

    private static String next(final String[] args, final int i)
    {
        if (i >= args.length)
        {
            usage(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    private static void usage(final String problem)
    {
        System.err.println("bench results: " + problem);
        System.err.println("usage: Results [--quick] [--only REGEX] --out FILE");
        System.exit(2);
    }
}
