package io.mmemu.bench.results;

import java.util.List;

import org.jfree.chart.JFreeChart;

/**
 * A picture on the results page, drawn from values the figures measured (never measured again,
 * never typed in): under one figure's table, or under the summary when it draws from several.
 * New plots are added to {@link Figures#plots()}.
 */
interface Plot
{
    /** Where a plot drawn from several figures is shown: under the summary table. */
    String SUMMARY = "";

    /**
     * A drawn plot.
     *
     * @param caption one line under the picture: what it shows, in words.
     */
    record Drawing(JFreeChart chart, String caption)
    {
    }

    /** The file name without extension, stable: {@code page-fault1-threads}. */
    String id();

    /** The id of the figure under whose table the page shows it, or {@link #SUMMARY}. */
    String shownIn();

    /**
     * The chart of the measured figures' values, or {@code null} when they hold none of them (not
     * measured this run, or their runs failed): a picture of nothing is left out, not drawn empty.
     */
    Drawing draw(List<Section> sections);

    /** The section of figure {@code id} among {@code sections}, or {@code null} when it was not measured. */
    static Section find(final List<Section> sections, final String id)
    {
        return sections.stream().filter(s -> s.figure().id().equals(id)).findFirst().orElse(null);
    }
}
