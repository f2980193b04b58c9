package io.mmemu.inspect;

import java.util.List;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.vm.VmFlags;
import io.mmemu.vm.VmaInfo;

/**
 * The SVG of the VMAs: one row per VMA in address order, its bar's length to scale on a log axis
 * (one unit per doubling, 4 KiB = one unit), coloured by protection (shared ones outlined dashed),
 * with the density of present pages along it in up to {@value #BUCKETS} buckets, and the gaps
 * between VMAs labelled. Every VMA is one {@code <g class="vma">} element.
 */
final class AddressSpacePicture
{
    static final int BUCKETS = 64;
    private static final int UNIT = 16;
    private static final int ROW = 24;
    private static final int LABEL_WIDTH = 300;
    private static final int BAR_X = LABEL_WIDTH + 10;
    private static final int MAX_LOG = 47;
    private static final int MIN_LOG = 12;
    private static final int BAR_AREA = (MAX_LOG - MIN_LOG + 1) * UNIT;
    private static final int TOP = 34;

    private AddressSpacePicture()
    {
    }

    static String render(final Snapshot snapshot)
    {
        final List<VmaInfo> vmas = snapshot.vmas();
        final int width = BAR_X + BAR_AREA + 260;
        final int height = TOP + ROW * Math.max(1, vmas.size() * 2) + 10;
        final StringBuilder sb = new StringBuilder(512 + vmas.size() * 1024);
        sb.append(String.format("<svg class=\"address-space\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" " +
            "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"VMAs\">%n", width, height, width, height));
        axis(sb);
        int y = TOP;
        long previousEnd = -1;
        for (final VmaInfo vma : vmas)
        {
            if (previousEnd >= 0)
            {
                final long gap = vma.start() - previousEnd;
                sb.append(String.format("<text class=\"gap\" x=\"%d\" y=\"%d\">%s</text>%n", BAR_X, y + 15,
                    gap == 0 ? "adjacent" : "gap " + Svg.size(gap)));
                y += ROW;
            }
            vma(sb, snapshot, vma, y);
            y += ROW;
            previousEnd = vma.end();
        }
        if (vmas.isEmpty())
        {
            sb.append(String.format("<text class=\"gap\" x=\"%d\" y=\"%d\">no VMAs</text>%n", BAR_X, TOP + 15));
        }
        return sb.append("</svg>\n").toString();
    }

    private static void axis(final StringBuilder sb)
    {
        sb.append(String.format("<line class=\"axis\" x1=\"%d\" y1=\"24\" x2=\"%d\" y2=\"24\"/>%n", BAR_X, BAR_X + BAR_AREA));
        for (final int log : new int[] {12, 16, 20, 24, 30, 36, 40, 47})
        {
            final int x = BAR_X + (log - MIN_LOG + 1) * UNIT;
            sb.append(String.format("<line class=\"tick\" x1=\"%d\" y1=\"20\" x2=\"%d\" y2=\"28\"/>" +
                "<text class=\"tick\" x=\"%d\" y=\"14\">%s</text>%n", x, x, x, Svg.size(1L << log)));
        }
        sb.append(String.format("<text class=\"tick\" x=\"0\" y=\"14\">VMA (size on a log axis: one unit per doubling)</text>%n"));
    }

    private static void vma(final StringBuilder sb, final Snapshot snapshot, final VmaInfo vma, final int y)
    {
        final long size = vma.end() - vma.start();
        final double log = Math.log(size) / Math.log(2);
        // the axis ends at 2^47; a larger VMA (5-level paging) fills the bar area
        final double length = Math.min(BAR_AREA, Math.max(1, log - MIN_LOG + 1) * UNIT);
        final String prot = protection(vma.flags());
        final boolean shared = vma.isShared();
        final long[] present = density(snapshot, vma);
        long mapped = 0;
        for (final long p : present)
        {
            mapped += p;
        }
        final long pages = size >>> 12;
        final String title = String.format("%s%nsize %s, %d of %d pages mapped", vma.mapsLine().strip(), Svg.size(size), mapped, pages);
        sb.append(String.format("<g class=\"vma prot-%s%s\" data-start=\"0x%x\" data-end=\"0x%x\"><title>%s</title>%n",
            prot, shared ? " shared" : "", vma.start(), vma.end(), Svg.escape(title)));
        sb.append(String.format("<text class=\"label\" x=\"0\" y=\"%d\">%012x-%012x %s</text>%n", y + 15, vma.start(), vma.end(),
            Svg.escape(vma.mapsLine().substring(vma.mapsLine().indexOf(' ') + 1, vma.mapsLine().indexOf(' ') + 5))));
        sb.append(String.format("<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%s\" height=\"16\"/>%n", BAR_X, y + 3, Svg.number(length)));
        final double bucketWidth = length / present.length;
        final long perBucket = (pages + present.length - 1) / present.length;
        for (int i = 0; i < present.length; i++)
        {
            if (present[i] == 0)
            {
                continue;
            }
            final long inBucket = Math.min(perBucket, pages - i * perBucket);
            sb.append(String.format("<rect class=\"present\" x=\"%s\" y=\"%d\" width=\"%s\" height=\"16\" fill-opacity=\"%s\"/>%n",
                Svg.number(BAR_X + i * bucketWidth), y + 3, Svg.number(Math.max(bucketWidth, 0.1)),
                Svg.number(Math.min(1.0, (double)present[i] / inBucket))));
        }
        final String name = vma.name() == null ? "" : " " + vma.name();
        sb.append(String.format("<text class=\"info\" x=\"%d\" y=\"%d\">%s, %d%% present%s</text>%n",
            BAR_X + (int)Math.ceil(length) + 8, y + 15, Svg.size(size), pages == 0 ? 0 : mapped * 100 / pages, Svg.escape(name)));
        sb.append("</g>\n");
    }

    /** Mapped pages (present or PROT_NONE) per bucket of the VMA. */
    private static long[] density(final Snapshot snapshot, final VmaInfo vma)
    {
        final long pages = (vma.end() - vma.start()) >>> 12;
        final int buckets = (int)Math.min(BUCKETS, pages);
        final long perBucket = (pages + buckets - 1) / buckets;
        final long[] counts = new long[(int)((pages + perBucket - 1) / perBucket)];
        TableWalk.walk(snapshot.memory(), snapshot.cr3(), vma.start(), vma.end(), new TableWalk.Visitor()
        {
            @Override
            public void pte(final long va, final long entry)
            {
                if (PageTableEntry.isMapped(entry))
                {
                    counts[(int)(((va - vma.start()) >>> 12) / perBucket)]++;
                }
            }

            @Override
            public void entry(final long va, final long entry, final int level)
            {
                if (PageTableEntry.isLeaf(entry, level) && PageTableEntry.isMapped(entry))
                {
                    final long end = Math.min(vma.end(), (va | (PageTableEntry.coverage(level) - 1)) + 1);
                    for (long a = va; a < end; a += 4096)
                    {
                        counts[(int)(((a - vma.start()) >>> 12) / perBucket)]++;
                    }
                }
            }
        });
        return counts;
    }

    /** rw, r, rx, rwx, none… the CSS class of a VMA's access flags. */
    static String protection(final int flags)
    {
        final StringBuilder sb = new StringBuilder(3);
        if ((flags & VmFlags.VM_READ) != 0)
        {
            sb.append('r');
        }
        if ((flags & VmFlags.VM_WRITE) != 0)
        {
            sb.append('w');
        }
        if ((flags & VmFlags.VM_EXEC) != 0)
        {
            sb.append('x');
        }
        return sb.length() == 0 ? "none" : sb.toString();
    }
}
