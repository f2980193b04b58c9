package io.mmemu.bench.results;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.jfree.chart.JFreeChart;

/**
 * Draws the plots of the measured figures as PNG files in {@value #DIRECTORY}/ next to the page
 * that shows them, so that the page links them by a relative path wherever it is read.
 */
final class Plots
{
    static final String DIRECTORY = "plots";
    static final String EXTENSION = ".png";

    /**
     * A drawn plot as the page shows it.
     *
     * @param link  the file, relative to the page.
     * @param title the chart's title, the picture's alternative text.
     */
    record Picture(String figureId, String link, String title, String caption)
    {
    }

    private Plots()
    {
    }

    /**
     * Draws every plot whose figure is among {@code sections} into the plots directory beside
     * {@code page}. A plot that cannot be drawn this run (its figure not measured, or without
     * values) has its file of an earlier run removed, so that the directory holds only what the
     * page shows.
     */
    static List<Picture> draw(final List<Plot> plots, final List<Section> sections, final Path page)
        throws IOException
    {
        final Path directory = page.toAbsolutePath().getParent().resolve(DIRECTORY);
        final List<Picture> pictures = new ArrayList<>();
        for (final Plot plot : plots)
        {
            final Path file = directory.resolve(plot.id() + EXTENSION);
            final Section section = sections.stream()
                .filter(s -> s.figure().id().equals(plot.figureId()))
                .findFirst()
                .orElse(null);
            final JFreeChart chart = section == null ? null : plot.draw(section);
            if (chart == null)
            {
                Files.deleteIfExists(file);
                continue;
            }
            Files.createDirectories(directory);
            PlotStyle.writePng(chart, file);
            pictures.add(new Picture(plot.figureId(), DIRECTORY + '/' + file.getFileName(), chart.getTitle().getText(),
                plot.caption(section)));
        }
        return pictures;
    }
}
