package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.pgtable.PageTableEntry.ENTRIES;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PMD;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PTE;
import static io.mmemu.pgtable.PageWalker.ENTRY;
import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * The one range walker: a depth-first walk of the tables over {@code [lo, hi)} from CR3, in address
 * order, that hands each part to a {@link RangeVisitor} (Linux's walk_page_range with its
 * mm_walk_ops; gVisor's pagetables walker). Every range operation of {@link PageTableEditor}, the
 * invariant checker and the views' walk are visitors of it.
 * <ul>
 *   <li>an empty upper entry is a hole: skipped, or given a table (installed by CAS on the empty
 *       entry; the loser of a race frees its frame and goes on through the winner's) when the
 *       visitor {@linkplain RangeVisitor#installsTables installs tables};</li>
 *   <li>a large leaf (PS at the PMD or PUD level) goes to the visitor, which acts on it whole,
 *       skips it, splits it (the walker then takes the entry again: now a table, it descends) or
 *       refuses;</li>
 *   <li>a PT page goes to the visitor as one run of slots, under its PT lock when the visitor
 *       {@linkplain RangeVisitor#locksPtPages locks}; before it, with no lock held, the owning
 *       CPU takes its interrupts (answers shootdowns); after it, the changed range goes to the
 *       visitor's gather;</li>
 *   <li>after a table's subtree, the visitor may free the table (post-order).</li>
 * </ul>
 * Status codes are {@link PageTableEditor}'s. Dispatch is a switch over the closed set of
 * visitors, each case a cast to a final class, so every call is monomorphic; the walk allocates
 * nothing. One walker per thread (its editor's); {@link #observe} makes its own.
 * <p>
 * Tables are followed by pointers read once per walk, not re-walked from CR3: a table under the
 * range cannot be freed while the operation runs, because tables are freed only where no VMA
 * covers their whole span (the engine's rule, see {@link PageTableEditor#freeTables}), and the
 * range's VMAs (or an unmap's placeholders) cover it until its operation ends.
 */
public final class RangeWalker
{
    private final PageTableEditor editor;
    private final PhysicalMemory memory;
    private final MemorySegment frames;
    private final FrameCache cache;
    private final TableReader reader;
    private final long backedLimit;

    /** The live walker of {@code editor}. */
    RangeWalker(final PageTableEditor editor, final PhysicalMemory memory, final FrameCache cache)
    {
        this.editor = editor;
        this.memory = memory;
        this.frames = memory.frames();
        this.cache = cache;
        this.reader = null;
        this.backedLimit = memory.backedFrames() << PhysicalMemory.PAGE_SHIFT;
    }

    /** A walker that only reads, through {@code reader}, or through {@code memory}'s frames when it is null. */
    RangeWalker(final PhysicalMemory memory, final TableReader reader)
    {
        this.editor = null;
        this.memory = memory;
        this.frames = memory == null ? null : memory.frames();
        this.cache = null;
        this.reader = reader;
        this.backedLimit = memory == null ? Long.MAX_VALUE : memory.backedFrames() << PhysicalMemory.PAGE_SHIFT;
    }

    /**
     * Walks the tables rooted at {@code cr3} over {@code [lo, hi)} (page aligned, user half), without
     * changing anything, handing every entry to {@code observer} as mm/pagewalk.c would.
     */
    public static void observe(final TableReader reader, final long cr3, final long lo, final long hi,
        final TableObserver observer)
    {
        if (lo < hi)
        {
            new RangeWalker(null, reader).walk(new ObserveRange(reader, observer), cr3, lo, hi);
        }
    }

    /**
     * Walks {@code [lo, hi)} of the tables rooted at {@code cr3} with {@code v}; its {@code done}
     * counts from 0. The walk starts at the top level the CR3 word names ({@link PagingMode}):
     * the PML5 or the PML4, one walk for both.
     */
    int walk(final RangeVisitor v, final long cr3, final long lo, final long hi)
    {
        v.done = 0;
        final long root = cr3 & PageTableEntry.PHYS_MASK;
        final int top = PagingMode.levels(cr3);
        switch (v.kind)
        {
            case RangeVisitor.CHECK ->
            {
                if (!((PageTableChecker)v).enterTable(cr3 >>> 12, top, 0L))
                {
                    return PageTableEditor.OK;
                }
            }
            case RangeVisitor.OBSERVE ->
            {
                if (!reader.hasBytes(root >>> 12))
                {
                    ((ObserveRange)v).missingTable(root, top, 0L);
                }
            }
            default ->
            {
            }
        }
        return lo < hi ? table(v, root, top, 0L, lo, hi) : PageTableEditor.OK;
    }

    private long read(final long slot)
    {
        return reader == null ? (long)ENTRY.getAcquire(frames, slot) : reader.word(slot);
    }

    private int table(final RangeVisitor v, final long table, final int level, final long base, final long lo,
        final long hi)
    {
        final long span = PageTableEntry.coverage(level);
        final int first = (int)((Math.max(lo, base) - base) / span);
        final int last = (int)Math.min(ENTRIES - 1, (hi - 1 - base) / span);
        for (int i = first; i <= last; i++)
        {
            final long slot = table + ((long)i << 3);
            final long va = base + i * span;
            long e = read(slot);
            if (e == 0L)
            {
                if (!v.installsTables)
                {
                    if (v.kind == RangeVisitor.OBSERVE)
                    {
                        ((ObserveRange)v).observer.hole(Math.max(va, lo), level);
                    }
                    continue;
                }
                e = install(slot, level - 1);
                if (e == 0L)
                {
                    return PageTableEditor.NO_MEMORY;
                }
            }
            if (v.kind == RangeVisitor.OBSERVE)
            {
                ((ObserveRange)v).observer.entry(Math.max(va, lo), e, level);
            }
            if (!PageTableEntry.isPresent(e) && !PageTableEntry.isLargeLeaf(e, level))
            {
                final int status = badEntry(v, e, va, level);
                if (status < 0)
                {
                    return status;
                }
                continue;
            }
            if (PageTableEntry.isLeaf(e, level))
            {
                final int verdict = large(v, slot, e, va, level, lo, hi);
                if (verdict < 0)
                {
                    return verdict;
                }
                if (verdict == RangeVisitor.DESCEND)
                {
                    // split (or changed by another CPU meanwhile): take the entry again from the top
                    i--;
                }
                continue;
            }
            final long child = PageTableEntry.address(e);
            if (!enter(v, child, level - 1, va))
            {
                if (v.kind == RangeVisitor.CHECK || v.kind == RangeVisitor.FREE_TABLES)
                {
                    continue;
                }
                return PageTableEditor.BAD_ENTRY;
            }
            final int status = level - 1 == LEVEL_PTE ? ptes(v, child, va, lo, hi) : table(v, child, level - 1, va, lo, hi);
            if (status < 0)
            {
                return status;
            }
            if (v.kind == RangeVisitor.FREE_TABLES)
            {
                ((FreeTablesRange)v).after(slot, child, va, span);
            }
        }
        return PageTableEditor.OK;
    }

    /** Installs a fresh table of {@code childLevel} at the empty entry {@code slot}; the entry now there, 0 when out of memory. */
    private long install(final long slot, final int childLevel)
    {
        final long pfn = memory.allocateTable(cache, childLevel);
        if (pfn == NO_FRAME)
        {
            return 0L;
        }
        final long fresh = PageTableEntry.table(pfn);
        // volatile CAS: publishes the zeroed table and its descriptor (release), and reads a
        // competing installer's entry (acquire) when it loses
        final long witness = (long)ENTRY.compareAndExchange(frames, slot, 0L, fresh);
        if (witness == 0L)
        {
            return fresh;
        }
        memory.freeTable(cache, pfn);
        return witness;
    }

    /** A non-empty, non-present upper entry: a violation for the checker, nothing for the views, else corrupted tables. */
    private static int badEntry(final RangeVisitor v, final long e, final long va, final int level)
    {
        return switch (v.kind)
        {
            case RangeVisitor.CHECK ->
            {
                ((PageTableChecker)v).nonPresent(e, va, level);
                yield PageTableEditor.OK;
            }
            case RangeVisitor.OBSERVE, RangeVisitor.FREE_TABLES -> PageTableEditor.OK;
            default -> PageTableEditor.BAD_ENTRY;
        };
    }

    /** Whether the walk may descend into the table at physical {@code child}, of {@code level}. */
    private boolean enter(final RangeVisitor v, final long child, final int level, final long base)
    {
        return switch (v.kind)
        {
            case RangeVisitor.CHECK -> ((PageTableChecker)v).enterTable(child >>> 12, level, base);
            case RangeVisitor.OBSERVE ->
            {
                if (!reader.hasBytes(child >>> 12))
                {
                    ((ObserveRange)v).missingTable(child, level, base);
                }
                yield true;
            }
            default -> child != 0 && child < backedLimit;
        };
    }

    private static int large(final RangeVisitor v, final long slot, final long e, final long va, final int level,
        final long lo, final long hi)
    {
        return switch (v.kind)
        {
            case RangeVisitor.ZAP -> ((ZapRange)v).large(slot, e, va, level, lo, hi);
            case RangeVisitor.PROTECT -> ((ProtectRange)v).large(slot, e, va, level, lo, hi);
            case RangeVisitor.CLEAN -> ((CleanRange)v).large(slot, e, va, level, lo, hi);
            case RangeVisitor.CLEAR_SOFT_DIRTY -> ((ClearSoftDirtyRange)v).large(slot, e, va, level, lo, hi);
            case RangeVisitor.POPULATE -> ((PopulateRange)v).large(slot, e, va, level, lo, hi);
            case RangeVisitor.MOVE -> ((MoveRange)v).large(slot, e, va, level, lo, hi);
            case RangeVisitor.FREE_TABLES -> ((FreeTablesRange)v).large(slot, e, va, level, lo, hi);
            case RangeVisitor.COPY -> ((CopyRange)v).large(slot, e, va, level, lo, hi);
            case RangeVisitor.CHECK -> ((PageTableChecker)v).large(e, va, level);
            case RangeVisitor.PAGEOUT_KIND -> ((PageoutRange)v).large(slot, e, va, level);
            case RangeVisitor.FREEZE -> ((FreezeRange)v).large(slot, e, va, level, lo, hi);
            default -> RangeVisitor.NEXT;
        };
    }

    /** The PT page at physical {@code pt} (mapping from {@code va}), clipped to {@code [lo, hi)}. */
    private int ptes(final RangeVisitor v, final long pt, final long va, final long lo, final long hi)
    {
        if (v.kind == RangeVisitor.FREE_TABLES)
        {
            return PageTableEditor.OK;
        }
        final long from = Math.max(va, lo);
        final long to = Math.min(va + PageTableEntry.coverage(LEVEL_PMD), hi);
        final long slot = pt + ((long)PageTableEntry.index(from, LEVEL_PTE) << 3);
        final int count = (int)((to - from) >>> PhysicalMemory.PAGE_SHIFT);
        if (editor != null)
        {
            editor.interrupts.run();
        }
        final long before = v.done;
        final int status;
        if (v.locksPtPages)
        {
            final long ptPfn = pt >>> 12;
            editor.lockTable(ptPfn);
            final long lockedAt = System.nanoTime();
            try
            {
                status = lockedPtes(v, slot, from, count);
            }
            finally
            {
                editor.unlockTable(ptPfn);
                editor.holds.record(System.nanoTime() - lockedAt);
            }
        }
        else
        {
            status = switch (v.kind)
            {
                case RangeVisitor.MOVE -> ((MoveRange)v).ptes(pt >>> 12, slot, from, count);
                case RangeVisitor.COPY -> ((CopyRange)v).ptes(pt >>> 12, slot, from, count);
                case RangeVisitor.CHECK -> ((PageTableChecker)v).ptes(slot, from, count);
                case RangeVisitor.OBSERVE ->
                {
                    ((ObserveRange)v).ptes(slot, from, count);
                    yield PageTableEditor.OK;
                }
                default -> throw new IllegalStateException("visitor kind " + v.kind + " must lock PT pages");
            };
        }
        if (status == PageTableEditor.OK && v.tlb != null && v.done > before)
        {
            v.tlb.addRange(from, to);
            if (v.flushWhenFull && v.tlb.isFull())
            {
                v.tlb.flush();
            }
        }
        if (v.kind == RangeVisitor.PAGEOUT_KIND && status == PageTableEditor.OK)
        {
            // the swap-out's second half, with no PT lock held: flush, write out, release
            return ((PageoutRange)v).afterTable();
        }
        return status;
    }

    private static int lockedPtes(final RangeVisitor v, final long slot, final long va, final int count)
    {
        return switch (v.kind)
        {
            case RangeVisitor.ZAP -> ((ZapRange)v).ptes(slot, count);
            case RangeVisitor.PROTECT -> ((ProtectRange)v).ptes(slot, count);
            case RangeVisitor.CLEAN -> ((CleanRange)v).ptes(slot, count);
            case RangeVisitor.CLEAR_SOFT_DIRTY -> ((ClearSoftDirtyRange)v).ptes(slot, count);
            case RangeVisitor.POPULATE -> ((PopulateRange)v).ptes(slot, count);
            case RangeVisitor.PAGEOUT_KIND -> ((PageoutRange)v).ptes(slot, va, count);
            case RangeVisitor.FREEZE -> ((FreezeRange)v).ptes(slot, count);
            default -> throw new IllegalStateException("visitor kind " + v.kind + " does not lock PT pages");
        };
    }
}
