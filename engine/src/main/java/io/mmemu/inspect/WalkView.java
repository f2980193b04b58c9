package io.mmemu.inspect;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PagingMode;
import io.mmemu.phys.FrameFlags;
import io.mmemu.vm.VmaInfo;

import static io.mmemu.pgtable.PageTableEntry.LEVEL_PTE;

/**
 * {@code --walk VA}: the entries on the path from CR3 to the page containing VA, as the MMU reads
 * them — each with its slot's physical address, its raw value, what it points at, and its set bits
 * named ({@link PageTableEntry#describe}) — then the translation and the frame's descriptor. The
 * first line names the paging mode; the levels are named as Linux names them in that mode.
 */
public final class WalkView
{
    private WalkView()
    {
    }

    public static String render(final Snapshot snapshot, final long va)
    {
        final StringBuilder sb = new StringBuilder(512);
        final int levels = snapshot.paging();
        sb.append(PagingMode.header(levels)).append('\n');
        if (!PagingMode.isCanonical(va, levels))
        {
            final int top = PagingMode.addressBits(levels) - 1;
            return sb.append(String.format("0x%016x is not canonical (bits 63..%d differ): the MMU raises #GP, no walk%n", va, top))
                .toString();
        }
        final MemoryImage memory = snapshot.memory();
        sb.append(String.format("walk 0x%016x:", va));
        for (int level = levels; level >= LEVEL_PTE; level--)
        {
            sb.append(String.format(" %s index %d,", label(level, levels), PageTableEntry.index(va, level)));
        }
        sb.append(String.format(" offset 0x%03x%n", va & 0xFFF));
        final VmaInfo vma = snapshot.vmaAt(va);
        sb.append(vma == null ? "vma  none\n" : "vma  " + vma.mapsLine().stripTrailing() + "\n");
        sb.append(String.format("CR3  0x%016x%n", snapshot.cr3()));
        long table = snapshot.cr3() & PageTableEntry.PHYS_MASK;
        for (int level = levels; level >= LEVEL_PTE; level--)
        {
            final int index = PageTableEntry.index(va, level);
            final long slot = table + 8L * index;
            if (!memory.hasBytes(table >>> 12))
            {
                return sb.append(String.format("%s  the table at physical 0x%x is not in memory: walk stops%n",
                    label(level, levels), table)).toString();
            }
            final long e = memory.word(slot);
            sb.append(String.format("%s[%3d] @0x%016x = 0x%016x  ", label(level, levels), index, slot, e));
            if (e == 0)
            {
                return sb.append("empty\nno translation: nothing is mapped there\n").toString();
            }
            final boolean leaf = PageTableEntry.isLeaf(e, level);
            final long target = leaf ? PageTableEntry.leafAddress(e, level) : PageTableEntry.address(e);
            sb.append(String.format("%s 0x%016x  %s%n", leaf ? (level == LEVEL_PTE ? "page " : "large") : "table",
                target, PageTableEntry.describe(e, level)));
            if (leaf)
            {
                return translation(sb, memory, e, level, va, target);
            }
            if (!PageTableEntry.isPresent(e))
            {
                return sb.append("no translation: a non-present entry above the PTE level\n").toString();
            }
            table = target;
        }
        throw new AssertionError("unreachable: the PTE level is always a leaf");
    }

    private static String translation(final StringBuilder sb, final MemoryImage memory, final long e, final int level,
        final long va, final long target)
    {
        if (!PageTableEntry.isMapped(e))
        {
            return sb.append("no translation: a non-present entry\n").toString();
        }
        final long pa = target | (va & (PageTableEntry.coverage(level) - 1));
        sb.append(PageTableEntry.isPresent(e) ? "physical " : "PROT_NONE (no access; the frame is kept) physical ");
        sb.append(String.format("0x%016x  ", pa)).append(frame(memory, pa >>> 12)).append('\n');
        return sb.toString();
    }

    /** The level's label in the raw views: Linux's name in upper case (PGD, P4D, PUD, PMD, PTE). */
    static String label(final int level, final int levels)
    {
        return PagingMode.levelName(level, levels).toUpperCase(java.util.Locale.ROOT);
    }

    /** A frame's state as its descriptor says, for the raw views. */
    static String frame(final MemoryImage memory, final long pfn)
    {
        if (pfn == memory.zeroPagePfn())
        {
            return String.format("frame 0x%x: the zero page", pfn);
        }
        if (!memory.isBacked(pfn))
        {
            return String.format("frame 0x%x: phantom (tables-only machine: no bytes, no descriptor)", pfn);
        }
        return String.format("frame 0x%x: %s, refcount %d, mapcount %d", pfn, FrameFlags.describe(memory.flags(pfn)),
            memory.refcount(pfn), memory.mapcount(pfn));
    }
}
