package io.mmemu.inspect;

import java.util.ArrayList;
import java.util.List;

import io.mmemu.pgtable.PageTableEntry;

import static io.mmemu.pgtable.PageTableEntry.ENTRIES;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PTE;

/**
 * The SVG of the page-table tree: one row per level (the root at the top: four rows, or five with
 * LA57), each table a box in address
 * order whose filled part is the share of its 512 entries in use, joined to its parent. Rows show
 * at most {@value #MAX_PER_ROW} tables and say how many more there are. Every table drawn is one
 * {@code <g class="table">} element.
 */
final class TableTreePicture
{
    static final int MAX_PER_ROW = 160;
    private static final int BOX = 12;
    private static final int GAP = 4;
    private static final int ROW = 70;
    private static final int LEFT = 60;
    private static final int TOP = 20;

    /** One table: where it is, what it maps, how full it is, and its parent's index in the row above. */
    private record Node(long pa, long base, int level, int used, int parent)
    {
    }

    private TableTreePicture()
    {
    }

    static String render(final Snapshot snapshot)
    {
        final int levels = snapshot.paging();
        final List<List<Node>> rows = new ArrayList<>();
        final int[] totals = new int[levels + 1];
        for (int i = 0; i <= levels; i++)
        {
            rows.add(new ArrayList<>());
        }
        collect(snapshot.memory(), snapshot.cr3() & PageTableEntry.PHYS_MASK, levels, levels, 0, -1, rows, totals);
        int widest = 1;
        for (int level = levels; level >= LEVEL_PTE; level--)
        {
            widest = Math.max(widest, rows.get(level).size());
        }
        final int width = LEFT + widest * (BOX + GAP) + 200;
        final int height = TOP + levels * ROW;
        final StringBuilder sb = new StringBuilder(4096);
        sb.append(String.format("<svg class=\"table-tree\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" " +
            "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"page-table tree\">%n", width, height, width, height));
        for (int level = levels; level >= LEVEL_PTE; level--)
        {
            final int y = y(level, levels);
            final List<Node> row = rows.get(level);
            sb.append(String.format("<text class=\"level\" x=\"0\" y=\"%d\">%s</text>%n", y + BOX, WalkView.label(level, levels)));
            for (int i = 0; i < row.size(); i++)
            {
                final Node node = row.get(i);
                final int x = x(i);
                if (node.parent() >= 0)
                {
                    sb.append(String.format("<line class=\"edge\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>%n",
                        x(node.parent()) + BOX / 2, y(level + 1, levels) + BOX, x + BOX / 2, y));
                }
                final double fill = (double)node.used() / ENTRIES;
                sb.append(String.format("<g class=\"table\"><title>%s at physical 0x%x%nmaps 0x%x-0x%x%n%d of %d entries in use</title>%n",
                    WalkView.label(level, levels), node.pa(), node.base(), node.base() + PageTableEntry.coverage(level + 1),
                    node.used(), ENTRIES));
                sb.append(String.format("<rect class=\"box\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>%n", x, y, BOX, BOX));
                sb.append(String.format("<rect class=\"fill\" x=\"%d\" y=\"%s\" width=\"%d\" height=\"%s\"/>%n</g>%n",
                    x, Svg.number(y + BOX * (1 - fill)), BOX, Svg.number(BOX * fill)));
            }
            final int hidden = totals[level] - row.size();
            sb.append(String.format("<text class=\"count\" x=\"%d\" y=\"%d\">%d table%s%s</text>%n", x(row.size()) + 6, y + BOX,
                totals[level], totals[level] == 1 ? "" : "s", hidden > 0 ? ", " + hidden + " not drawn" : ""));
        }
        return sb.append("</svg>\n").toString();
    }

    private static int x(final int index)
    {
        return LEFT + index * (BOX + GAP);
    }

    private static int y(final int level, final int levels)
    {
        return TOP + (levels - level) * ROW;
    }

    private static void collect(final MemoryImage memory, final long pa, final int level, final int top, final long base,
        final int parent, final List<List<Node>> rows, final int[] totals)
    {
        totals[level]++;
        int used = 0;
        for (int i = 0; i < ENTRIES; i++)
        {
            if (memory.word(pa + 8L * i) != 0)
            {
                used++;
            }
        }
        final List<Node> row = rows.get(level);
        final int index = row.size() < MAX_PER_ROW && parent != -2 ? row.size() : -2;
        if (index >= 0)
        {
            row.add(new Node(pa, base, level, used, parent));
        }
        if (level == LEVEL_PTE)
        {
            return;
        }
        // the user half only, as the other views
        final int entries = level == top ? ENTRIES / 2 : ENTRIES;
        for (int i = 0; i < entries; i++)
        {
            final long e = memory.word(pa + 8L * i);
            if (PageTableEntry.isPresent(e) && !PageTableEntry.isLeaf(e, level))
            {
                collect(memory, PageTableEntry.address(e), level - 1, top, base + i * PageTableEntry.coverage(level), index, rows,
                    totals);
            }
        }
    }
}
