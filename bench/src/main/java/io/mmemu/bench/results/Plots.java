package io.mmemu.bench.results;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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
     * @param shownIn the figure under whose table it is, or {@link Plot#SUMMARY}.
     * @param link    the file, relative to the page.
     * @param title   the chart's title, the picture's alternative text.
     */
    record Picture(String shownIn, String link, String title, String caption)
    {
    }

    private Plots()
    {
    }

    /**
     * Draws every plot of the measured {@code sections} into the plots directory beside
     * {@code page}. A plot that cannot be drawn this run (its figures not measured, or without
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
            final Plot.Drawing drawing = plot.draw(sections);
            if (drawing == null)
            {
                Files.deleteIfExists(file);
                continue;
            }
            Files.createDirectories(directory);
            PlotStyle.writePng(drawing.chart(), file);
            pictures.add(new Picture(plot.shownIn(), DIRECTORY + '/' + file.getFileName(),
                drawing.chart().getTitle().getText(), drawing.caption()));
        }
        return pictures;
    }
}
