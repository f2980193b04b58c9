package io.mmemu.bench.results;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.imageio.ImageIO;

import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.CombinedRangeXYPlot;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.ui.Layer;
import org.jfree.data.xy.XYDataset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.mmemu.bench.results.Plots.Picture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The plots drawn from a small fixed set of figures: the files are there, are PNG images of the
 * chart's size, hold marks in each measured series' colour (and none for a side without values),
 * and the page shows exactly them, each in its place. No timing: the values are made up, shaped
 * like a real run's.
 */
class PlotsTest
{
    private static final byte[] PNG_SIGNATURE = {(byte)0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    private static final int[] THREADS = {1, 2, 4, 8, 16};
    private static final Machine MACHINE = new Machine("2", "Test CPU", "1.0 GiB", "6.1.0-test", "JDK 25", "never");
    /** Pixels of a series' exact colour that its marks leave at the least (a 2-pixel line, 8 dots). */
    private static final int MARK_PIXELS = 50;

    @TempDir
    Path dir;

    @Test
    void throughputAgainstThreadsHasOneSeriesPerSideAndTheCoreLine()
    {
        final XYPlot plot = draw("page-fault1-threads", pageFault1(true)).getXYPlot();
        assertEquals(2, plot.getDataset().getSeriesCount());
        assertEquals(THREADS.length, plot.getDataset().getItemCount(0));
        assertEquals(THREADS.length, plot.getDataset().getItemCount(1));
        assertEquals(2, plot.getLegendItems().getItemCount());
        assertEquals(1, plot.getDomainMarkers(Layer.FOREGROUND).size());
        // the medians drawn are the measured ones, at their thread counts
        assertEquals(2, plot.getDataset().getXValue(0, 1));
        assertEquals(2.57e6, plot.getDataset().getYValue(0, 1));
    }

    @Test
    void latencyPercentilesHaveOneSeriesPerSideInEachPanelAndOneLegendEntryEach()
    {
        final CombinedRangeXYPlot plot = (CombinedRangeXYPlot)draw("seed-latency", seed(true)).getXYPlot();
        assertEquals(2, plot.getSubplots().size());
        for (final XYPlot panel : plot.getSubplots())
        {
            final XYDataset data = panel.getDataset();
            assertEquals(3, data.getSeriesCount());
            for (int s = 0; s < 3; s++)
            {
                assertEquals(4, data.getItemCount(s), "p50, p99, p99.9, max");
            }
        }
        assertEquals(3, plot.getLegendItems().getItemCount());
        // the p99.9 target is a line in the munmap window's panel only
        assertNull(plot.getSubplots().get(0).getRangeMarkers(Layer.FOREGROUND));
        final List<?> target = new ArrayList<>(plot.getSubplots().get(1).getRangeMarkers(Layer.FOREGROUND));
        assertEquals(1, target.size());
        assertEquals(50_000, ((ValueMarker)target.getFirst()).getValue());
    }

    @Test
    void ratiosHaveARowPerComparisonMeasuredAndATickPerTarget()
    {
        final XYPlot all = draw("emulator-over-host", pageFault1(true), mmap1(), munmapGib(), seed(true)).getXYPlot();
        assertEquals(2, all.getDataset().getSeriesCount());
        assertEquals(THREADS.length + 3, all.getDataset().getItemCount(0), "5 thread counts, mmap1, 2 munmaps");
        assertEquals(5, all.getDataset().getItemCount(1), "page_fault1 at 1 and 2 threads, mmap1, 2 munmaps");
        assertEquals(22.6, all.getDataset().getYValue(0, 0));

        // a figure not measured leaves its rows out, not empty
        final XYPlot some = draw("emulator-over-host", pageFault1(true), seed(true)).getXYPlot();
        assertEquals(THREADS.length + 1, some.getDataset().getItemCount(0));
        assertEquals(3, some.getDataset().getItemCount(1));
    }

    @Test
    void filesArePngImagesWithMarksInEverySeriesColour() throws IOException
    {
        final List<Picture> pictures = Plots.draw(Figures.plots(), everything(), dir.resolve("RESULTS.md"));
        assertEquals(3, pictures.size());

        final Map<String, List<Color>> colours = Map.of(
            "plots/page-fault1-threads.png", List.of(Side.PER_VMA.color(), Side.HOST.color()),
            "plots/seed-latency.png", List.of(Side.PER_VMA.color(), Side.MMAP_LOCK.color(), Side.HOST.color()),
            "plots/emulator-over-host.png", List.of(Side.PER_VMA.color(), PlotStyle.MARKER));
        for (final Picture picture : pictures)
        {
            final Path file = dir.resolve(picture.link());
            assertTrue(Files.size(file) > 0, file + " is empty");
            try (InputStream in = Files.newInputStream(file))
            {
                assertArrayEquals(PNG_SIGNATURE, in.readNBytes(PNG_SIGNATURE.length), file + " is no PNG");
            }
            final BufferedImage image = ImageIO.read(file.toFile());
            assertEquals(PlotStyle.WIDTH, image.getWidth());
            assertEquals(PlotStyle.HEIGHT, image.getHeight());
            final Map<Integer, Integer> counts = colourCounts(image);
            for (final Color colour : colours.get(picture.link()))
            {
                assertTrue(counts.getOrDefault(colour.getRGB(), 0) > MARK_PIXELS, picture.link() + " lacks " + colour);
            }
        }
    }

    @Test
    void aSideWithoutValuesIsNeitherDrawnNorInTheLegend() throws IOException
    {
        final Section section = pageFault1(false);
        assertEquals(1, draw("page-fault1-threads", section).getXYPlot().getLegendItems().getItemCount());

        final List<Picture> pictures = Plots.draw(Figures.plots(), List.of(section), dir.resolve("RESULTS.md"));
        final Picture threads = pictures.stream().filter(p -> p.link().contains("page-fault1")).findFirst().orElseThrow();
        final Map<Integer, Integer> counts = colourCounts(ImageIO.read(dir.resolve(threads.link()).toFile()));
        assertTrue(counts.getOrDefault(Side.PER_VMA.color().getRGB(), 0) > MARK_PIXELS);
        assertEquals(0, counts.getOrDefault(Side.HOST.color().getRGB(), 0), "host drawn without values");
    }

    @Test
    void aFigureWithoutValuesGetsNoPlotAndLosesAnEarlierOne() throws IOException
    {
        final Path page = dir.resolve("RESULTS.md");
        Plots.draw(Figures.plots(), everything(), page);
        final Path seedFile = dir.resolve(Plots.DIRECTORY).resolve("seed-latency" + Plots.EXTENSION);
        assertTrue(Files.exists(seedFile));

        final Section failed = section("seed", Map.of());
        assertNull(plot("seed-latency").draw(List.of(failed)));
        final List<Picture> pictures = Plots.draw(Figures.plots(), List.of(pageFault1(true), failed), page);
        assertEquals(List.of(Plot.SUMMARY, "page-fault1"), pictures.stream().map(Picture::shownIn).toList());
        assertFalse(Files.exists(seedFile), "a stale plot would sit beside a page that no longer shows it");
    }

    @Test
    void thePageShowsEachPictureInItsPlaceAndLinksFilesThatExist() throws IOException
    {
        final Path page = dir.resolve("RESULTS.md");
        final List<Section> sections = everything();
        final List<Picture> pictures = Plots.draw(Figures.plots(), sections, page);
        final String md = ResultsPage.render(sections, pictures, MACHINE, "today", false);

        final Matcher link = Pattern.compile("!\\[[^]]+]\\(([^)]+)\\)").matcher(md);
        final List<String> links = new ArrayList<>();
        while (link.find())
        {
            links.add(link.group(1));
            assertTrue(Files.isRegularFile(dir.resolve(link.group(1))), link.group(1) + " does not exist");
        }
        assertEquals(pictures.stream().map(Picture::link).toList(), links);
        for (final Picture picture : pictures)
        {
            final String heading = picture.shownIn().equals(Plot.SUMMARY) ? "## Summary" :
                "## " + Plot.find(sections, picture.shownIn()).figure().title();
            final int start = md.indexOf(heading);
            final int next = md.indexOf("\n## ", start + 1);
            final String body = md.substring(start, next < 0 ? md.length() : next);
            assertTrue(body.contains("](" + picture.link() + ")"), picture.link() + " outside its section");
            assertTrue(body.contains('*' + picture.caption() + '*'), picture.link() + "'s caption missing");
        }
    }

    /** The summary states the host's own rate, measured here, beside the bare-metal anchor; only when measured. */
    @Test
    void theSummaryStatesTheHostsRateBesideTheBareMetalAnchor()
    {
        final String md = ResultsPage.render(everything(), List.of(), MACHINE, "today", false);
        final String summary = md.substring(md.indexOf("## Summary"), md.indexOf("\n## ", md.indexOf("## Summary") + 1));
        assertTrue(summary.contains("here the host faulted at 77.1 K faults/s in page_fault1 on one thread, where a "
            + "bare-metal kernel faults at 543 K faults/s on one thread of a 16-core Linux 6.18 machine. The same host "
            + "program faulted at 82 K/s on one 2-core guest and at 350–550 K/s on another"), summary);
        final String without = ResultsPage.render(List.of(pageFault1(false), seed(true)), List.of(), MACHINE, "today", false);
        assertFalse(without.contains("bare-metal kernel faults at"), without);
    }

    private static Plot plot(final String id)
    {
        return Figures.plots().stream().filter(p -> p.id().equals(id)).findFirst().orElseThrow();
    }

    private static JFreeChart draw(final String id, final Section... sections)
    {
        return plot(id).draw(List.of(sections)).chart();
    }

    private static List<Section> everything()
    {
        return List.of(pageFault1(true), mmap1(), munmapGib(), seed(true));
    }

    /** page_fault1 at 1 to 16 threads: the emulator in the millions of faults/s, the host 20× below. */
    private static Section pageFault1(final boolean withHost)
    {
        final double[] emulator = {1.69e6, 2.57e6, 2.35e6, 1.90e6, 1.32e6};
        final double[] host = {77.1e3, 143e3, 139e3, 121e3, 56.0e3};
        final double[] ratio = {22.6, 18.0, 16.9, 15.7, 23.6};
        final Map<String, Measurement> metrics = new HashMap<>();
        for (int i = 0; i < THREADS.length; i++)
        {
            metrics.put(SideBySide.metric("page_fault1", THREADS[i], "per-vma"), around(emulator[i], "ops/s"));
            if (withHost)
            {
                metrics.put(SideBySide.metric("page_fault1", THREADS[i], "host"), around(host[i], "ops/s"));
                metrics.put(SideBySide.metric("page_fault1", THREADS[i], "ratio"), around(ratio[i], "×"));
            }
        }
        return section("page-fault1", metrics);
    }

    private static Section mmap1()
    {
        return section("mmap1", Map.of(SideBySide.metric("mmap1", 1, "ratio"), around(8.46, "×")));
    }

    private static Section munmapGib()
    {
        return section("munmap-gib", Map.of(SideBySide.metric("seed", 0, "munmap_speedup"), around(4.06, "×")));
    }

    /** The seed scenario's percentiles: per-vma in ns to µs, mmap-lock and the host up to hundreds of ms. */
    private static Section seed(final boolean complete)
    {
        final Map<String, double[]> latencies = Map.of(
            "per-vma", new double[] {141, 391, 1_000, 70e6, 150, 500, 1_060, 68.7e6},
            "mmap-lock", new double[] {160, 2_000, 270e3, 417e6, 200, 400e6, 417e6, 417e6},
            "host", new double[] {12.8e3, 67.6e3, 16.3e6, 32e6, 13e3, 70e3, 20.4e6, 32.3e6});
        final String[] percentiles = {"p50", "p99", "p999", "max"};
        final Map<String, Measurement> metrics = new HashMap<>();
        latencies.forEach((side, values) ->
        {
            for (int p = 0; p < percentiles.length; p++)
            {
                metrics.put(SideBySide.metric("seed", 4, side) + ".all." + percentiles[p], around(values[p], "ns"));
                metrics.put(SideBySide.metric("seed", 4, side) + ".window." + percentiles[p], around(values[4 + p], "ns"));
            }
        });
        metrics.put(SideBySide.metric("seed", 4, "munmap_speedup"), around(5.03, "×"));
        return section("seed", complete ? metrics : Map.of());
    }

    /** Three repetitions: the median and 10% either side. */
    private static Measurement around(final double median, final String unit)
    {
        return new Measurement(unit, new double[] {0.9 * median, median, 1.1 * median});
    }

    private static Section section(final String figureId, final Map<String, Measurement> metrics)
    {
        final Figure figure = Figures.all().stream().filter(f -> f.id().equals(figureId)).findFirst().orElseThrow();
        final Outcome outcome = new Outcome(List.of("a command"), "one run", List.of(), List.of(), metrics);
        return new Section(figure, outcome, "2026-01-01 00:00 UTC",
            new OtherWork.Conditions(0, 0, "0.00", 0), MACHINE, 1, List.of());
    }

    private static Map<Integer, Integer> colourCounts(final BufferedImage image)
    {
        final Map<Integer, Integer> counts = new HashMap<>();
        for (final int argb : image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth()))
        {
            counts.merge(argb | 0xFF000000, 1, Integer::sum);
        }
        return counts;
    }
}
