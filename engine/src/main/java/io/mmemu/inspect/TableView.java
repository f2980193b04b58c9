package io.mmemu.inspect;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PagingMode;
import io.mmemu.phys.FrameFlags;

import static io.mmemu.pgtable.PageTableEntry.ENTRIES;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PTE;

/**
 * {@code --table PA}: one page-table page — its level, where CR3's tree reaches it and the
 * virtual range it maps, how many of its 512 entries are in use — and every non-empty entry
 * decoded: index, raw value, the virtual address it maps, what it points at, its bits named.
 */
public final class TableView
{
    private static final long NOT_FOUND = -1;

    private TableView()
    {
    }

    public static String render(final Snapshot snapshot, final long pa)
    {
        final MemoryImage memory = snapshot.memory();
        final long pfn = pa >>> 12;
        if ((pa & 0xFFF) != 0)
        {
            return String.format("physical 0x%x is not page aligned: a table starts at a multiple of 4096%n", pa);
        }
        if (!memory.hasBytes(pfn))
        {
            return String.format("physical 0x%x is not in memory%n", pa);
        }
        final int levels = snapshot.paging();
        final long[] found = {NOT_FOUND, 0};
        final long root = snapshot.cr3() & PageTableEntry.PHYS_MASK;
        if (root == pa)
        {
            found[0] = 0;
            found[1] = levels;
        }
        else
        {
            search(memory, root, levels, levels, 0, pa, found);
        }
        final StringBuilder sb = new StringBuilder(4096);
        sb.append(PagingMode.header(levels)).append('\n');
        final int level;
        if (found[0] == NOT_FOUND)
        {
            if ((memory.flags(pfn) & FrameFlags.STATE_MASK) != FrameFlags.TABLE)
            {
                return String.format("physical 0x%x is not a page table reachable from CR3 0x%x (frame flags: %s)%n",
                    pa, snapshot.cr3(), FrameFlags.describe(memory.flags(pfn)));
            }
            level = memory.tableLevel(pfn);
            sb.append(String.format("table at physical 0x%016x: level %d (%s), flagged a table but not reachable from CR3%n",
                pa, level, WalkView.label(level, levels)));
        }
        else
        {
            level = (int)found[1];
            final long base = found[0];
            sb.append(String.format("table at physical 0x%016x: level %d (%s), maps 0x%016x-0x%016x",
                pa, level, WalkView.label(level, levels), base, base + PageTableEntry.coverage(level + 1)));
        }
        int used = 0;
        final StringBuilder entries = new StringBuilder(4096);
        for (int i = 0; i < ENTRIES; i++)
        {
            final long e = memory.word(pa + 8L * i);
            if (e == 0)
            {
                continue;
            }
            used++;
            final boolean leaf = PageTableEntry.isLeaf(e, level);
            entries.append(String.format("[%3d] 0x%016x", i, e));
            if (found[0] != NOT_FOUND)
            {
                entries.append(String.format("  va 0x%016x", found[0] + i * PageTableEntry.coverage(level)));
            }
            entries.append(String.format("  %s 0x%016x  %s%n", leaf ? (level == LEVEL_PTE ? "page " : "large") : "table",
                leaf ? PageTableEntry.leafAddress(e, level) : PageTableEntry.address(e), PageTableEntry.describe(e, level)));
        }
        if (found[0] != NOT_FOUND)
        {
            sb.append(String.format(", %d of %d entries in use%n", used, ENTRIES));
        }
        else
        {
            sb.append(String.format("%d of %d entries in use%n", used, ENTRIES));
        }
        return sb.append(entries).toString();
    }

    /** Finds the upper-level entry pointing at {@code target}: found = {base VA, level of target}. */
    private static void search(final MemoryImage memory, final long table, final int level, final int top, final long base,
        final long target, final long[] found)
    {
        if (level == LEVEL_PTE || !memory.hasBytes(table >>> 12))
        {
            return;
        }
        // the user half of the root only
        final int entries = level == top ? ENTRIES / 2 : ENTRIES;
        for (int i = 0; i < entries && found[0] == NOT_FOUND; i++)
        {
            final long e = memory.word(table + 8L * i);
            if (!PageTableEntry.isPresent(e) || PageTableEntry.isLeaf(e, level))
            {
                continue;
            }
            final long va = base + i * PageTableEntry.coverage(level);
            if (PageTableEntry.address(e) == target)
            {
                found[0] = va;
                found[1] = level - 1;
                return;
            }
            search(memory, PageTableEntry.address(e), level - 1, top, va, target, found);
        }
    }
}
