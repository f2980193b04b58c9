package io.mmemu.inspect;

import io.mmemu.pgtable.PagingMode;
import io.mmemu.vm.MmStats;
import io.mmemu.vm.VmaInfo;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

/**
 * {@code --html OUT}: one self-contained HTML page (inline CSS and SVG, no script, nothing
 * fetched) with the address space ({@link AddressSpacePicture}), the page-table tree
 * ({@link TableTreePicture}), and the address space's counters and latency histograms.
 */
public final class HtmlReport
{
    private static final String STYLE = """
        body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; }
        h1 { font-size: 18px; } h2 { font-size: 15px; margin-top: 24px; }
        table.counters td, table.counters th { padding: 2px 10px; text-align: right; }
        table.counters th:first-child, table.counters td:first-child { text-align: left; }
        svg text { font: 11px ui-monospace, monospace; fill: #333; }
        .axis, .tick, .edge { stroke: #888; stroke-width: 1; }
        text.tick, text.gap, text.count { fill: #777; }
        .vma .bar { fill-opacity: 0.22; stroke-width: 1; }
        .vma.shared .bar { stroke-dasharray: 3 2; }
        .prot-none .bar, .prot-none .present { fill: #9e9e9e; stroke: #9e9e9e; }
        .prot-r .bar, .prot-r .present { fill: #4e79a7; stroke: #4e79a7; }
        .prot-rw .bar, .prot-rw .present { fill: #59a14f; stroke: #59a14f; }
        .prot-rx .bar, .prot-rx .present { fill: #f28e2b; stroke: #f28e2b; }
        .prot-rwx .bar, .prot-rwx .present { fill: #e15759; stroke: #e15759; }
        .prot-w .bar, .prot-w .present, .prot-wx .bar, .prot-wx .present, .prot-x .bar, .prot-x .present { fill: #b07aa1; stroke: #b07aa1; }
        .present { stroke: none !important; }
        .table .box { fill: #fff; stroke: #555; }
        .table .fill { fill: #4e79a7; }
        .histogram rect { fill: #4e79a7; }
        .legend span { display: inline-block; padding: 0 8px; margin-right: 6px; border-radius: 3px; color: #fff; }
        """;

    private HtmlReport()
    {
    }

    public static String render(final Snapshot snapshot, final String title)
    {
        final StringBuilder sb = new StringBuilder(64 * 1024);
        sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.append("<title>").append(Svg.escape(title)).append("</title>\n<style>\n").append(STYLE).append("</style>\n</head>\n<body>\n");
        sb.append("<h1>").append(Svg.escape(title)).append("</h1>\n");
        summary(sb, snapshot);
        sb.append("<h2>Address space</h2>\n<p class=\"legend\">")
            .append("<span style=\"background:#59a14f\">rw</span><span style=\"background:#4e79a7\">r</span>")
            .append("<span style=\"background:#f28e2b\">rx</span><span style=\"background:#e15759\">rwx</span>")
            .append("<span style=\"background:#9e9e9e\">none</span>")
            .append(" dashed outline: shared; solid fill: share of pages present in that part of the VMA</p>\n");
        sb.append(AddressSpacePicture.render(snapshot));
        sb.append("<h2>Page tables</h2>\n<p>Each box is a table page; its filled part is the share of its 512 entries in use.</p>\n");
        sb.append(TableTreePicture.render(snapshot));
        counters(sb, snapshot.stats());
        sb.append("</body>\n</html>\n");
        return sb.toString();
    }

    private static void summary(final StringBuilder sb, final Snapshot snapshot)
    {
        long size = 0;
        long rss = 0;
        for (final VmaInfo vma : snapshot.vmas())
        {
            size += vma.end() - vma.start();
            rss += SmapsUsage.measure(snapshot, vma).resident();
        }
        sb.append(String.format("<p>%s</p>%n", PagingMode.header(snapshot.paging())));
        sb.append(String.format("<p>%d VMAs, %s mapped, %s resident; CR3 0x%x; kernel: %s zero page, %s soft-dirty, THP %s</p>%n",
            snapshot.vmas().size(), Svg.size(size), Svg.size(rss), snapshot.cr3(),
            snapshot.kernel().zeroPage() ? "with" : "no", snapshot.kernel().softDirty() ? "with" : "no",
            snapshot.thp().sysfsName()));
    }

    private static void counters(final StringBuilder sb, final MmStats stats)
    {
        sb.append("<h2>Counters</h2>\n<table class=\"counters\">\n");
        row(sb, "page faults", stats.faults());
        row(sb, "faults that waited for a locked VMA", stats.faultWaits());
        row(sb, "fault retries after a wait", stats.faultRetries());
        row(sb, "SIGSEGV SEGV_MAPERR", stats.segvMaperr());
        row(sb, "SIGSEGV SEGV_ACCERR", stats.segvAccerr());
        row(sb, "SIGBUS (memory exhausted)", stats.sigbus());
        row(sb, "zero-page copy-on-write breaks", stats.zeroPageCow());
        sb.append("</table>\n<h2>Latencies</h2>\n<table class=\"counters\">\n")
            .append("<tr><th>histogram</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>\n");
        final String[] names = {"fault", "mmap lock write hold", "mmap lock read hold", "VMA lock hold", "PTE lock hold"};
        final Histogram[] histograms = DumpWriter.histograms(stats);
        for (int i = 0; i < histograms.length; i++)
        {
            final Histogram h = histograms[i];
            sb.append("<tr><td>").append(names[i]).append("</td><td>").append(h.getTotalCount()).append("</td>");
            for (final double p : new double[] {50, 90, 99, 99.9})
            {
                sb.append("<td>").append(h.getTotalCount() == 0 ? "-" : Svg.nanos(h.getValueAtPercentile(p))).append("</td>");
            }
            sb.append("<td>").append(h.getTotalCount() == 0 ? "-" : Svg.nanos(h.getMaxValue())).append("</td></tr>\n");
        }
        sb.append("</table>\n");
        if (stats.faultLatency().getTotalCount() > 0)
        {
            sb.append("<h2>Fault latency</h2>\n").append(histogram(stats.faultLatency()));
        }
    }

    private static void row(final StringBuilder sb, final String name, final long value)
    {
        sb.append("<tr><td>").append(name).append("</td><td>").append(value).append("</td></tr>\n");
    }

    /** Counts per power-of-two bucket of nanoseconds, as bars. */
    private static String histogram(final Histogram h)
    {
        final long[] buckets = new long[64];
        int first = 63;
        int last = 0;
        for (final HistogramIterationValue v : h.recordedValues())
        {
            final int b = 63 - Long.numberOfLeadingZeros(Math.max(1, v.getValueIteratedTo()));
            buckets[b] += v.getCountAtValueIteratedTo();
            first = Math.min(first, b);
            last = Math.max(last, b);
        }
        long most = 1;
        for (final long b : buckets)
        {
            most = Math.max(most, b);
        }
        final int bar = 28;
        final int height = 140;
        final int width = (last - first + 1) * bar + 20;
        final StringBuilder sb = new StringBuilder(2048);
        sb.append(String.format("<svg class=\"histogram\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" " +
            "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"fault latency histogram\">%n", width, height + 30, width, height + 30));
        for (int b = first; b <= last; b++)
        {
            final double hgt = (double)buckets[b] * height / most;
            final int x = 10 + (b - first) * bar;
            sb.append(String.format("<g><title>%s-%s: %d</title><rect x=\"%d\" y=\"%s\" width=\"%d\" height=\"%s\"/></g>%n",
                Svg.nanos(1L << b), Svg.nanos((2L << b) - 1), buckets[b], x, Svg.number(height - hgt), bar - 4, Svg.number(hgt)));
            if ((b - first) % 2 == 0)
            {
                sb.append(String.format("<text x=\"%d\" y=\"%d\">%s</text>%n", x, height + 14, Svg.nanos(1L << b)));
            }
        }
        return sb.append("</svg>\n").toString();
    }
}
