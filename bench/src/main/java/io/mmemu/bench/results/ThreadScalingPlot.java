package io.mmemu.bench.results;

import java.text.DecimalFormat;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYErrorRenderer;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;

/**
 * Throughput against thread count, one line per side: the total ops/s of all threads at each
 * count ({@code WORKLOAD.tN.SIDE} metrics of {@link io.mmemu.bench.scenario.CompareScenario}), on
 * log scales (threads double from point to point; the sides lie an order of magnitude apart), with
 * a dashed line at the machine's core count, past which threads share cores.
 *
 * @param shownIn  the figure that measures it, whose section shows it.
 * @param workload the workload's name as its metrics carry it ({@code page_fault1}).
 * @param unit     what one op is, per second ({@code faults/s}).
 */
record ThreadScalingPlot(String id, String shownIn, String workload, int[] threads, List<Side> sides, String unit)
    implements Plot
{
    /** Room on the thread axis left of the first and right of the last count. */
    private static final double X_MARGIN = 1.4;
    /** Share of the throughput axis kept free above the highest point, for its value label. */
    private static final double LABEL_ROOM = 0.12;

    @Override
    public Drawing draw(final List<Section> sections)
    {
        final Section section = Plot.find(sections, shownIn);
        if (section == null)
        {
            return null;
        }
        final YIntervalSeriesCollection data = new YIntervalSeriesCollection();
        final SortedSet<Integer> repetitions = new TreeSet<>();
        final Set<Side> withValues = new HashSet<>();
        for (final Side side : sides)
        {
            final YIntervalSeries series = new YIntervalSeries(side.label());
            for (final int n : threads)
            {
                final Measurement m = section.outcome().metrics().get(SideBySide.metric(workload, n, side.metric()));
                if (m != null)
                {
                    series.add(n, m.median(), m.min(), m.max());
                    repetitions.add(m.count());
                    withValues.add(side);
                }
            }
            // an empty series keeps its place, so that every side keeps its colour
            data.addSeries(series);
        }
        if (repetitions.isEmpty())
        {
            return null;
        }

        final LogAxis x = PlotStyle.fonts(new LogAxis("threads"));
        x.setBase(2);
        x.setTickUnit(new NumberTickUnit(1));
        x.setNumberFormatOverride(new DecimalFormat("0"));
        x.setMinorTickMarksVisible(false);
        x.setRange(threads[0] / X_MARGIN, threads[threads.length - 1] * X_MARGIN);
        final XYErrorRenderer renderer = PlotStyle.errorBars(sides, withValues);
        PlotStyle.valueLabels(renderer, unit);
        final LogAxis y = PlotStyle.logAxis("total " + unit + ", all threads", unit);
        y.setUpperMargin(LABEL_ROOM);
        final XYPlot plot = new XYPlot(data, x, y, renderer);
        PlotStyle.grid(plot);
        final int cores = section.machine().coreCount();
        if (inRange(cores))
        {
            plot.addDomainMarker(PlotStyle.marker(cores, cores + " cores: more threads share them →"));
        }
        final String caption = workload + ": total " + unit + " of all threads at " + counts() + " threads, " +
            sides.stream().map(Side::label).collect(Collectors.joining(" beside the ")) + "; log scales" +
            (inRange(cores) ? "; the dashed line marks the machine's " + cores + " cores" : "") + '.';
        return new Drawing(PlotStyle.chart(workload + ": throughput against threads", plot, section.machine(),
            section.measuredAt(), repetitions), caption);
    }

    /** Whether a core-count line falls among the thread counts (no line when every count fits). */
    private boolean inRange(final int cores)
    {
        return cores >= threads[0] && cores < threads[threads.length - 1];
    }

    /** {@code 1, 2, 4, 8 and 16}. */
    private String counts()
    {
        final String all = Arrays.stream(threads).mapToObj(Integer::toString).collect(Collectors.joining(", "));
        final int last = all.lastIndexOf(", ");
        return last < 0 ? all : all.substring(0, last) + " and " + all.substring(last + 2);
    }
}
