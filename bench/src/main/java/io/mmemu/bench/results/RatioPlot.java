package io.mmemu.bench.results;

import java.awt.geom.Rectangle2D;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYErrorRenderer;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;

/**
 * The emulator over the host kernel, one row per comparison, drawn from several figures under the
 * summary: each ratio's median with its min – max bar over the repetitions, its target, and a line
 * at 1× (as fast as the host), on a log scale (the ratios run from about 1 to tens).
 *
 * @param ratios the comparisons, top to bottom.
 */
record RatioPlot(String id, List<Ratio> ratios) implements Plot
{
    /** Half the height of a target's tick across its row, in pixels. */
    private static final double TICK_HALF_HEIGHT = 9;
    private static final int MEASURED = 0;
    private static final int TARGET = 1;

    /**
     * One comparison: a metric whose samples are per-repetition ratios, emulator over host (above
     * 1: the emulator is faster), and the target it has on the page ({@code null} for none).
     */
    record Ratio(String figureId, String metric, String label, Target target)
    {
    }

    @Override
    public String shownIn()
    {
        return SUMMARY;
    }

    @Override
    public Drawing draw(final List<Section> sections)
    {
        final YIntervalSeries measured = new YIntervalSeries("emulator / host");
        final YIntervalSeries targets = new YIntervalSeries("target (at least)");
        final List<String> labels = new ArrayList<>();
        final SortedSet<Integer> repetitions = new TreeSet<>();
        final SortedSet<String> when = new TreeSet<>();
        Machine machine = null;
        for (final Ratio ratio : ratios)
        {
            final Section section = Plot.find(sections, ratio.figureId());
            final Measurement m = section == null ? null : section.outcome().metrics().get(ratio.metric());
            if (m == null)
            {
                continue;
            }
            final int row = labels.size();
            labels.add(ratio.label());
            measured.add(row, m.median(), m.min(), m.max());
            if (ratio.target() != null)
            {
                targets.add(row, ratio.target().limit(), ratio.target().limit(), ratio.target().limit());
            }
            repetitions.add(m.count());
            when.add(section.measuredAt());
            machine = section.machine();
        }
        if (labels.isEmpty())
        {
            return null;
        }

        final YIntervalSeriesCollection data = new YIntervalSeriesCollection();
        data.addSeries(measured);
        data.addSeries(targets);
        final SymbolAxis rows = PlotStyle.fonts(new SymbolAxis(null, labels.toArray(String[]::new)));
        rows.setGridBandsVisible(false);
        // room above the first row for its value label
        rows.setRange(-0.9, labels.size() - 0.4);
        rows.setInverted(true);
        final LogAxis axis = PlotStyle.logAxis("emulator over host kernel (above 1: the emulator is faster)", "×");
        final XYErrorRenderer renderer = PlotStyle.errorBars(2);
        renderer.setDefaultLinesVisible(false);
        renderer.setSeriesPaint(MEASURED, Side.PER_VMA.color());
        PlotStyle.valueLabels(renderer, "×");
        renderer.setSeriesItemLabelsVisible(TARGET, false);
        renderer.setSeriesPaint(TARGET, PlotStyle.MARKER);
        renderer.setSeriesShape(TARGET, new Rectangle2D.Double(-1, -TICK_HALF_HEIGHT, 2, 2 * TICK_HALF_HEIGHT));
        renderer.setSeriesVisibleInLegend(TARGET, !targets.isEmpty());
        final XYPlot plot = new XYPlot(data, rows, axis, renderer);
        plot.setOrientation(PlotOrientation.HORIZONTAL);
        PlotStyle.grid(plot);
        plot.addRangeMarker(PlotStyle.marker(1, "as fast as the host"));
        final String measuredAt = when.first().equals(when.last()) ? when.first() : when.first() + " to " + when.last();
        final String caption = "The emulator over the host kernel in every side-by-side figure: medians with their " +
            "min – max over the repetitions, the targets as ticks; log scale.";
        return new Drawing(PlotStyle.chart("Emulator over host kernel, side by side", plot, machine, measuredAt,
            repetitions), caption);
    }
}
