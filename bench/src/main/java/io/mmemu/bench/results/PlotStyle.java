package io.mmemu.bench.results;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.FieldPosition;
import java.text.NumberFormat;
import java.text.ParsePosition;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.Axis;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.labels.ItemLabelAnchor;
import org.jfree.chart.labels.ItemLabelPosition;
import org.jfree.chart.labels.StandardXYItemLabelGenerator;
import org.jfree.chart.block.BlockBorder;
import org.jfree.chart.plot.DefaultDrawingSupplier;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYErrorRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.chart.ui.TextAnchor;

/**
 * The look every plot of the page shares, so that they read alike: a title, a subtitle with the
 * machine, the date and what the marks mean, the legend below, log axes labelled in the units of
 * the tables ({@link Quantity}), medians joined by lines with min – max bars, and the PNG file.
 */
final class PlotStyle
{
    static final int WIDTH = 960;
    static final int HEIGHT = 560;
    private static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 18);
    private static final Font SUBTITLE = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    private static final Font AXIS_LABEL = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
    private static final Font TICK_LABEL = new Font(Font.SANS_SERIF, Font.PLAIN, 11);
    private static final Color GRID = new Color(0xC4C4C4);
    private static final Color MINOR_GRID = new Color(0xE4E4E4);
    private static final BasicStroke GRID_LINE = new BasicStroke(0.8f);
    /** Lines that mark a place rather than a measurement: the core count, a target. */
    static final Color MARKER = new Color(0x9A1F1F);
    /** Behind a marker's label: white enough to read it, clear enough to see a line under it. */
    private static final Color LABEL_BACKGROUND = new Color(255, 255, 255, 170);
    /** Minor ticks of a log decade, at 2 … 9 times its power of ten (9 intervals). */
    private static final int DECADE_MINOR_TICKS = 9;
    /** Pixels between a point and its value label: clear of the point's min – max bar in most runs. */
    private static final double LABEL_OFFSET = 10;

    private PlotStyle()
    {
    }

    /**
     * A chart of {@code plot} titled {@code title}, its subtitle naming the machine, when the values
     * were measured and how many repetitions each median is of.
     *
     * @param measured    when, as the page gives it: {@code 2026-11-26 13:06 UTC}.
     * @param repetitions the sample counts of the values drawn.
     */
    static JFreeChart chart(final String title, final org.jfree.chart.plot.Plot plot, final Machine machine,
        final String measured, final SortedSet<Integer> repetitions)
    {
        final JFreeChart chart = new JFreeChart(title, TITLE, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        chart.getRenderingHints().put(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        final TextTitle subtitle = new TextTitle(machine.brief() + "; measured " + measured + "; " +
            marks(repetitions), SUBTITLE);
        subtitle.setPadding(new RectangleInsets(2, 0, 8, 0));
        chart.addSubtitle(subtitle);
        chart.getLegend().setPosition(RectangleEdge.BOTTOM);
        chart.getLegend().setFrame(BlockBorder.NONE);
        return chart;
    }

    /** White background, grey grid lines at every tick and lighter ones between (a log axis's 2, 3 … 9). */
    static void grid(final XYPlot plot)
    {
        plot.setBackgroundPaint(Color.WHITE);
        plot.setOutlinePaint(GRID);
        plot.setDomainGridlinePaint(GRID);
        plot.setDomainGridlineStroke(GRID_LINE);
        plot.setRangeGridlinePaint(GRID);
        plot.setRangeGridlineStroke(GRID_LINE);
        plot.setRangeMinorGridlinesVisible(true);
        plot.setRangeMinorGridlinePaint(MINOR_GRID);
        plot.setRangeMinorGridlineStroke(GRID_LINE);
    }

    /** The fonts of an axis: its label and its tick labels. */
    static <A extends Axis> A fonts(final A axis)
    {
        axis.setLabelFont(AXIS_LABEL);
        axis.setTickLabelFont(TICK_LABEL);
        return axis;
    }

    /**
     * A base-10 log axis labelled at every power of ten as the tables print values ({@code 100 K
     * faults/s}, {@code 1 µs}), with unlabelled grid lines at 2, 3 … 9 times each.
     */
    static LogAxis logAxis(final String label, final String unit)
    {
        final LogAxis axis = fonts(new LogAxis(label));
        final UnitFormat format = new UnitFormat(unit);
        axis.setNumberFormatOverride(format);
        // a log axis takes its minor ticks from the tick unit: one decade, split at 2, 3 … 9
        axis.setTickUnit(new NumberTickUnit(1, format, DECADE_MINOR_TICKS));
        axis.setMinorTickMarksVisible(true);
        return axis;
    }

    /** Each point labelled with its median above it, as the tables print it. */
    static void valueLabels(final XYErrorRenderer renderer, final String unit)
    {
        renderer.setDefaultItemLabelGenerator(new StandardXYItemLabelGenerator("{2}", NumberFormat.getInstance(),
            new UnitFormat(unit)));
        renderer.setDefaultItemLabelFont(SUBTITLE);
        renderer.setDefaultItemLabelsVisible(true);
        renderer.setDefaultPositiveItemLabelPosition(
            new ItemLabelPosition(ItemLabelAnchor.OUTSIDE12, TextAnchor.BOTTOM_CENTER));
        renderer.setItemLabelAnchorOffset(LABEL_OFFSET);
    }

    /**
     * Medians joined by lines, each with a min – max bar, in the sides' colours in series order;
     * the sides without values keep their series (and so every colour its side) but leave the legend.
     */
    static XYErrorRenderer errorBars(final List<Side> sides, final Set<Side> withValues)
    {
        final XYErrorRenderer renderer = errorBars(sides.size());
        for (int s = 0; s < sides.size(); s++)
        {
            renderer.setSeriesPaint(s, sides.get(s).color());
            renderer.setSeriesVisibleInLegend(s, withValues.contains(sides.get(s)));
        }
        return renderer;
    }

    /** Medians joined by lines, each with a min – max bar, for {@code series} series; colours are the caller's. */
    static XYErrorRenderer errorBars(final int series)
    {
        final XYErrorRenderer renderer = new XYErrorRenderer();
        renderer.setDrawXError(false);
        renderer.setDefaultLinesVisible(true);
        renderer.setCapLength(6);
        renderer.setErrorStroke(new BasicStroke(1.2f));
        // shapes by series number, not from the plot's supplier: the panels of a combined plot
        // share one supplier, and a side would change shape from panel to panel
        final Shape[] shapes = DefaultDrawingSupplier.createStandardSeriesShapes();
        for (int s = 0; s < series; s++)
        {
            renderer.setSeriesShape(s, shapes[s % shapes.length]);
            renderer.setSeriesStroke(s, new BasicStroke(2f));
        }
        return renderer;
    }

    /** A dashed vertical line at {@code x}, {@code label} beside it half way up. */
    static ValueMarker marker(final double x, final String label)
    {
        // half way up, where lines an order of magnitude apart leave the plot empty
        return dashed(x, label, RectangleAnchor.RIGHT, TextAnchor.CENTER_LEFT, new RectangleInsets(0, 6, 0, 0));
    }

    /** A dashed horizontal line at a target's limit {@code y}, {@code label} above its left end. */
    static ValueMarker targetLine(final double y, final String label)
    {
        return dashed(y, label, RectangleAnchor.TOP_LEFT, TextAnchor.BOTTOM_LEFT, new RectangleInsets(2, 6, 0, 0));
    }

    private static ValueMarker dashed(final double value, final String label, final RectangleAnchor anchor,
        final TextAnchor textAnchor, final RectangleInsets offset)
    {
        final ValueMarker marker = new ValueMarker(value, MARKER,
            new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
        marker.setLabel(label);
        marker.setLabelFont(SUBTITLE);
        marker.setLabelPaint(MARKER);
        marker.setLabelBackgroundColor(LABEL_BACKGROUND);
        marker.setLabelAnchor(anchor);
        marker.setLabelTextAnchor(textAnchor);
        marker.setLabelOffset(offset);
        return marker;
    }

    static void writePng(final JFreeChart chart, final Path file) throws IOException
    {
        try (OutputStream out = Files.newOutputStream(file))
        {
            ChartUtils.writeChartAsPNG(out, chart, WIDTH, HEIGHT);
        }
    }

    /** What a point and its bar are: {@code medians of 3 repetitions, bars from min to max}. */
    private static String marks(final SortedSet<Integer> repetitions)
    {
        if (repetitions.isEmpty() || repetitions.last() == 1)
        {
            return "one repetition per point";
        }
        final String counts = repetitions.size() == 1 ? Integer.toString(repetitions.first()) :
            repetitions.first() + " to " + repetitions.last();
        return "medians of " + counts + " repetitions, bars from min to max";
    }

    /** Tick labels through {@link Quantity#format}, as the tables print values. */
    private static final class UnitFormat extends NumberFormat
    {
        private static final MathContext TICK_PRECISION = new MathContext(9);
        private final String unit;

        UnitFormat(final String unit)
        {
            this.unit = unit;
        }

        @Override
        public StringBuffer format(final double number, final StringBuffer to, final FieldPosition pos)
        {
            // a log axis computes 10^6 as 999,999.99…: to Quantity that is 1,000 K
            final double tidy = new BigDecimal(number).round(TICK_PRECISION).doubleValue();
            return to.append(Quantity.format(tidy, unit));
        }

        @Override
        public StringBuffer format(final long number, final StringBuffer to, final FieldPosition pos)
        {
            return to.append(Quantity.format(number, unit));
        }

        @Override
        public Number parse(final String source, final ParsePosition pos)
        {
            throw new UnsupportedOperationException("tick labels are only written");
        }
    }
}
