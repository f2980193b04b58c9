package io.mmemu.bench.results;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.CombinedRangeXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;

/**
 * Fault latency percentiles per side, in two panels sharing one log latency axis: over the whole
 * run and during the munmap window ({@code WORKLOAD.tN.SIDE.{all,window}.{p50,p99,p999,max}}
 * metrics of {@link io.mmemu.bench.scenario.CompareScenario}). Each side's percentiles are joined
 * into a curve, as latency distributions are usually read; sides are set slightly apart along the
 * percentile axis so that their min – max bars do not hide one another.
 *
 * @param shownIn    the figure that measures it, whose section shows it.
 * @param windowP999 the target of the first side's p99.9 during the munmap, drawn as a line in that
 *                   panel; {@code null} for none.
 */
record LatencyPlot(String id, String shownIn, String workload, int threads, List<Side> sides, Target windowP999)
    implements Plot
{
    /** The percentiles drawn: the metric suffix and the label under it. */
    private static final String[] PERCENTILES = {"p50", "p99", "p999", "max"};
    private static final String[] PERCENTILE_LABELS = {"p50", "p99", "p99.9", "max"};
    /** The panels: the metric scope and the axis label under it. */
    private static final String WINDOW = "window";
    private static final String[] SCOPES = {"all", WINDOW};
    private static final String[] SCOPE_LABELS = {"over the whole run", "during the munmap (faults that overlapped it)"};
    /** How far apart neighbouring sides are set along the percentile axis (a percentile is 1 apart). */
    private static final double DODGE = 0.12;

    @Override
    public Drawing draw(final List<Section> sections)
    {
        final Section section = Plot.find(sections, shownIn);
        if (section == null)
        {
            return null;
        }
        final SortedSet<Integer> repetitions = new TreeSet<>();
        final Set<Side> withValues = new HashSet<>();
        final List<YIntervalSeriesCollection> panels = new ArrayList<>();
        for (final String scope : SCOPES)
        {
            final YIntervalSeriesCollection data = new YIntervalSeriesCollection();
            for (int s = 0; s < sides.size(); s++)
            {
                final Side side = sides.get(s);
                final YIntervalSeries series = new YIntervalSeries(side.label());
                final double offset = (s - (sides.size() - 1) / 2.0) * DODGE;
                for (int p = 0; p < PERCENTILES.length; p++)
                {
                    final Measurement m = section.outcome().metrics().get(
                        SideBySide.metric(workload, threads, side.metric()) + '.' + scope + '.' + PERCENTILES[p]);
                    if (m != null)
                    {
                        series.add(p + offset, m.median(), m.min(), m.max());
                        repetitions.add(m.count());
                        withValues.add(side);
                    }
                }
                // an empty series keeps its place, so that every side keeps its colour in both panels
                data.addSeries(series);
            }
            panels.add(data);
        }
        if (repetitions.isEmpty())
        {
            return null;
        }

        final CombinedRangeXYPlot plot = new CombinedRangeXYPlot(PlotStyle.logAxis("fault latency", "ns"));
        plot.setGap(16);
        for (int scope = 0; scope < SCOPES.length; scope++)
        {
            final SymbolAxis percentile = PlotStyle.fonts(new SymbolAxis(SCOPE_LABELS[scope], PERCENTILE_LABELS));
            percentile.setGridBandsVisible(false);
            percentile.setRange(-0.5, PERCENTILES.length - 0.5);
            final XYPlot panel = new XYPlot(panels.get(scope), percentile, null,
                PlotStyle.errorBars(sides, withValues));
            PlotStyle.grid(panel);
            if (windowP999 != null && SCOPES[scope].equals(WINDOW))
            {
                panel.addRangeMarker(PlotStyle.targetLine(windowP999.limit(), "target: " + sides.getFirst().label() +
                    " p99.9 " + windowP999.describe()));
            }
            plot.add(panel);
        }
        PlotStyle.grid(plot);
        // one legend entry per side: the panels have the same series, each panel would list them all
        plot.setFixedLegendItems(plot.getSubplots().getFirst().getLegendItems());
        final String caption = workload + " scenario, " + threads + " faulting threads: fault latency p50, p99, " +
            "p99.9 and max over the whole run and during the munmap, " +
            sides.stream().map(Side::label).collect(Collectors.joining(", ")) + "; log scale" +
            (windowP999 == null ? "" : "; the dashed line is the target of " + sides.getFirst().label() +
                "'s p99.9 during the munmap") + '.';
        return new Drawing(PlotStyle.chart(workload + ": fault latency percentiles per locking mode", plot,
            section.machine(), section.measuredAt(), repetitions), caption);
    }
}
