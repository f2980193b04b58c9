package io.mmemu.bench.results;

import org.jfree.chart.JFreeChart;

/**
 * A picture on the results page, drawn from the values one figure measured (never measured again,
 * never typed in) and shown in that figure's section under its table. New plots are added to
 * {@link Figures#plots()}.
 */
interface Plot
{
    /** The file name without extension, stable: {@code page-fault1-threads}. */
    String id();

    /** The figure whose values it draws and whose section shows it. */
    String figureId();

    /** One line under the picture: what it shows, in words. */
    String caption(Section section);

    /**
     * The chart of the section's values, or {@code null} when the section holds none of them (its
     * runs failed): a picture of nothing is left out rather than drawn empty.
     */
    JFreeChart draw(Section section);
}
