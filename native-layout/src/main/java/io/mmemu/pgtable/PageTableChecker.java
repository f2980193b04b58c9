package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import io.mmemu.phys.FrameFlags;
import io.mmemu.phys.PhantomFrames;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;
import org.agrona.collections.Long2LongHashMap;

import static io.mmemu.pgtable.PageTableEntry.LEVEL_PTE;

/**
 * The structural invariant checker, run at quiescent points (tests call it after every stress run):
 * <ul>
 *   <li>every table is reachable from a CR3 exactly once, flagged TABLE, with its level recorded;</li>
 *   <li>no entry points outside physical memory; upper entries are empty, a table, or a large leaf;</li>
 *   <li>every mapped data frame is DATA (or the zero page, or a claimed phantom frame), and a
 *       backed one's mapcount equals the entries mapping it and its refcount covers them;</li>
 *   <li>a 2 MiB leaf maps the huge zero page read-only, or an aligned block of data frames each
 *       counted as one mapping; every huge leaf has one PT page deposited on its PMD table;</li>
 *   <li>a non-present PTE that is not PROT_NONE is a swap entry of the machine's swap area whose
 *       slot's count equals the entries naming it; with accounting, every slot in use is named and
 *       none is still being written out;</li>
 *   <li>frames in use = tables (deposited ones too) + data frames + the zero pages: nothing leaked,
 *       nothing double-freed.</li>
 * </ul>
 * Not on any hot path, but it must hold at any scale the emulator can: the frames it has reached are
 * bits in off-heap {@link FrameBitmap}s over the PFN space (one bit a frame, freed when the check
 * ends), and only frames mapped more than once take a heap entry, so a check's heap use does not
 * grow with the size of the mappings.
 */
public final class PageTableChecker extends RangeVisitor
{
    private final PhysicalMemory memory;
    private final MemorySegment frames;
    private final List<String> violations = new ArrayList<>();
    /** Table frames reached, over the backed frames (tables are always backed). */
    private final FrameBitmap tables;
    /** Data frames reached, backed and phantom, over every frame. */
    private final FrameBitmap mapped;
    /** Backed data frames mapped more than once: the entries beyond the first. */
    private final Long2LongHashMap extraMappings = new Long2LongHashMap(0);
    /** Swap slots named by swap entries, and how many entries name each. */
    private final Long2LongHashMap swapReferences = new Long2LongHashMap(0);
    /** The visitor of the root being walked. */
    private LeafVisitor visitor;
    private long zeroPageMappings;
    private long leaves;
    /** Huge PMD leaves seen, and PT pages found deposited for them (the two must be equal). */
    private long hugeLeaves;
    private long deposits;
    /** Frames of hugetlb pages a page cache holds and no leaf maps. */
    private long cachedOnly;

    /** Sees every mapped leaf (present or PROT_NONE), so a layer above can check it against its own state. */
    @FunctionalInterface
    public interface LeafVisitor
    {
        LeafVisitor NONE = (va, entry, level, violations) ->
        {
        };

        /** Adds a description to {@code violations} for each problem found with this leaf. */
        void leaf(long va, long entry, int level, List<String> violations);
    }

    private PageTableChecker(final PhysicalMemory memory, final LeafVisitor visitor, final FrameBitmap tables,
        final FrameBitmap mapped)
    {
        super(CHECK, false, false);
        this.memory = memory;
        this.frames = memory.frames();
        this.visitor = visitor;
        this.tables = tables;
        this.mapped = mapped;
    }

    /** Checks the tables of the given roots; the result lists every violation found. */
    public static Result check(final PhysicalMemory memory, final long... cr3s)
    {
        return check(memory, true, cr3s);
    }

    /**
     * @param accounting also check that frames in use equal what the roots reach (only when the
     *                   roots are every address space of {@code memory} and no gather is in flight).
     */
    public static Result check(final PhysicalMemory memory, final boolean accounting, final long... cr3s)
    {
        return check(memory, accounting, LeafVisitor.NONE, cr3s);
    }

    /** As above, also handing every mapped leaf to {@code visitor}. */
    public static Result check(final PhysicalMemory memory, final boolean accounting, final LeafVisitor visitor,
        final long... cr3s)
    {
        final LeafVisitor[] visitors = new LeafVisitor[cr3s.length];
        java.util.Arrays.fill(visitors, visitor);
        return check(memory, accounting, cr3s, visitors);
    }

    /**
     * As above with one visitor per root ({@code visitors[i]} sees the leaves under {@code cr3s[i]}):
     * for address spaces that share frames (fork), whose mapcounts count the entries of all of them.
     */
    public static Result check(final PhysicalMemory memory, final boolean accounting, final long[] cr3s,
        final LeafVisitor[] visitors)
    {
        return check(memory, accounting, cr3s, visitors, new long[0]);
    }

    /**
     * As above, with the hugetlb pages a page cache holds ({@code cachedHugetlb}: head PFNs; a shared
     * hugetlb file's pages live on with no leaf mapping them, after MADV_DONTNEED): in use, each
     * subpage holding the cache's reference beside its mappings.
     */
    public static Result check(final PhysicalMemory memory, final boolean accounting, final long[] cr3s,
        final LeafVisitor[] visitors, final long[] cachedHugetlb)
    {
        return check(memory, accounting, cr3s, visitors, cachedHugetlb, new long[0]);
    }

    /**
     * As above, with the 4 KiB pages file page caches hold ({@code cachedPages}: a page reclaim or
     * MADV_PAGEOUT unmapped but could not drop, a shared file page after MADV_DONTNEED): in use
     * whether mapped or not, each holding the cache's reference beside its mappings.
     */
    public static Result check(final PhysicalMemory memory, final boolean accounting, final long[] cr3s,
        final LeafVisitor[] visitors, final long[] cachedHugetlb, final long[] cachedPages)
    {
        try (FrameBitmap tables = new FrameBitmap(memory.backedFrames());
             FrameBitmap mapped = new FrameBitmap(memory.totalFrames()))
        {
            final PageTableChecker checker = new PageTableChecker(memory, LeafVisitor.NONE, tables, mapped);
            final RangeWalker walker = new RangeWalker(memory, null);
            for (int i = 0; i < cr3s.length; i++)
            {
                checker.visitor = visitors[i];
                // the whole of each root's address space: every entry of its PML4 or PML5, kernel half included
                walker.walk(checker, cr3s[i], 0L, PagingMode.span(PagingMode.levels(cr3s[i])));
            }
            checker.cachedHugetlb(cachedHugetlb);
            checker.cachedPages(cachedPages);
            checker.checkCounts(accounting);
            if (memory.useAfterFrees() > 0)
            {
                checker.violation("%d use-after-free report(s); the first: %s", memory.useAfterFrees(),
                    memory.firstUseAfterFree());
            }
            return new Result(List.copyOf(checker.violations), tables.size(), mapped.size(), checker.leaves);
        }
    }

    /** The walker reached a table: checks it; whether to descend into it (not when it is invalid or seen before). */
    boolean enterTable(final long pfn, final int level, final long base)
    {
        if (pfn <= 0 || pfn >= memory.backedFrames())
        {
            violation("table at PFN %d (level %d, base 0x%x) is outside backed memory", pfn, level, base);
            return false;
        }
        if (!tables.add(pfn))
        {
            violation("table PFN %d reachable twice (second time at level %d, base 0x%x)", pfn, level, base);
            return false;
        }
        final int flags = memory.flags(pfn);
        if ((flags & FrameFlags.STATE_MASK) != FrameFlags.TABLE)
        {
            violation("table PFN %d is flagged %s", pfn, FrameFlags.describe(flags));
        }
        if (memory.tableLevel(pfn) != level)
        {
            violation("table PFN %d records level %d but is reached at level %d", pfn, memory.tableLevel(pfn), level);
        }
        if (level == PageTableEntry.LEVEL_PMD)
        {
            checkDeposits(pfn);
        }
        return true;
    }

    /** The PT pages deposited on PMD table {@code pmdTable} for its huge leaves: tables, level 1, reached once. */
    private void checkDeposits(final long pmdTable)
    {
        for (long pt = memory.deposited(pmdTable); pt != 0; pt = memory.deposited(pt))
        {
            if (pt >= memory.backedFrames() || !tables.add(pt))
            {
                violation("PT page %d deposited on PMD table %d is outside memory or reachable twice", pt, pmdTable);
                return;
            }
            deposits++;
            if ((memory.flags(pt) & FrameFlags.STATE_MASK) != FrameFlags.TABLE || memory.tableLevel(pt) != LEVEL_PTE)
            {
                violation("PT page %d deposited on PMD table %d is flagged %s, level %d", pt, pmdTable,
                    FrameFlags.describe(memory.flags(pt)), memory.tableLevel(pt));
            }
        }
    }

    /** A non-empty upper entry without P. */
    void nonPresent(final long e, final long va, final int level)
    {
        violation("non-present, non-empty entry 0x%x at level %d for 0x%x", e, level, va);
    }

    /** A 2 MiB or 1 GiB leaf (present, or a hugetlb leaf made PROT_NONE): handed to the visitor and checked to lie inside physical memory. */
    int large(final long e, final long va, final int level)
    {
        frozen(e, va);
        leaves++;
        visitor.leaf(va, e, level, violations);
        final long pa = PageTableEntry.leafAddress(e, level);
        if ((pa >>> 12) + (PageTableEntry.coverage(level) >>> 12) > memory.totalFrames())
        {
            violation("large leaf 0x%x for 0x%x maps beyond physical memory", e, va);
            return NEXT;
        }
        if (HugetlbLeaf.is(memory, e, level))
        {
            hugetlbLeaf(e, va, level, pa >>> 12);
        }
        else if (level == PageTableEntry.LEVEL_PMD)
        {
            hugeLeaf(e, va, pa >>> 12);
        }
        return NEXT;
    }

    /**
     * A hugetlb leaf (2 MiB or 1 GiB): an aligned pool page, each frame flagged HUGETLB and counted
     * as one mapping; no deposit (hugetlb leaves are never split).
     */
    private void hugetlbLeaf(final long e, final long va, final int level, final long head)
    {
        final long n = HugetlbLeaf.framesOf(level);
        final boolean backed = memory.isBacked(head);
        if ((head & (n - 1)) != 0 || head + n > (backed ? memory.backedFrames() : memory.totalFrames()))
        {
            violation("hugetlb leaf 0x%x for 0x%x maps a misaligned page or one across backed memory's end", e, va);
            return;
        }
        for (long i = 0; i < n; i++)
        {
            if (!memory.isHugetlb(head + i))
            {
                violation("hugetlb leaf 0x%x for 0x%x maps frame %d of no pool", e, va, head + i);
                return;
            }
            if (backed)
            {
                backedDataFrame(head + i, va + (i << 12));
            }
            else if (!mapped.add(head + i))
            {
                // a tables-only pool's page has no counts: one leaf at most
                violation("phantom hugetlb frame %d mapped twice (again at 0x%x)", head + i, va);
                return;
            }
        }
    }

    /** A 2 MiB leaf: the huge zero page, read-only, or 512 data pages each counting this mapping. */
    private void hugeLeaf(final long e, final long va, final long head)
    {
        if (!memory.isBacked(head))
        {
            // phantom frames have no descriptors (and tables-only machines make no huge pages)
            return;
        }
        hugeLeaves++;
        if (memory.isHugeZeroPage(head))
        {
            if (PageTableEntry.isWritable(e))
            {
                violation("huge zero page mapped writable at 0x%x", va);
            }
            return;
        }
        if ((head & (PhysicalMemory.HUGE_FRAMES - 1)) != 0 || head + PhysicalMemory.HUGE_FRAMES > memory.backedFrames())
        {
            violation("huge leaf 0x%x for 0x%x maps a misaligned or unbacked block", e, va);
            return;
        }
        for (long i = 0; i < PhysicalMemory.HUGE_FRAMES; i++)
        {
            backedDataFrame(head + i, va + (i << 12));
        }
    }

    /** Pages a file's page cache holds: DATA frames, counted in use (once) whether mapped or not, each referenced beyond its mappings. */
    private void cachedPages(final long[] pfns)
    {
        for (final long pfn : pfns)
        {
            if (!memory.isBacked(pfn) || (memory.flags(pfn) & FrameFlags.STATE_MASK) != FrameFlags.DATA)
            {
                violation("cached page %d is no data page", pfn);
                continue;
            }
            cachedOnly += mapped.contains(pfn) ? 0 : 1;
            if (memory.refcount(pfn) < 1 + memory.mapcount(pfn))
            {
                violation("cached frame %d has refcount %d, not above its mapcount %d", pfn,
                    memory.refcount(pfn), memory.mapcount(pfn));
            }
        }
    }

    /** Pages a hugetlb page cache holds: pool pages, counted in use (once) whether mapped or not, each subpage referenced beyond its mappings. */
    private void cachedHugetlb(final long[] heads)
    {
        for (final long head : heads)
        {
            if (!memory.isHugetlb(head))
            {
                violation("cached hugetlb page %d is no pool's page", head);
                continue;
            }
            final long n = memory.hugetlbPoolOf(head).pageFrames();
            for (long pfn = head; pfn < head + n; pfn++)
            {
                final boolean mappedToo = mapped.contains(pfn);
                cachedOnly += mappedToo ? 0 : 1;
                if (memory.refcount(pfn) < 1 + memory.mapcount(pfn))
                {
                    violation("cached hugetlb frame %d has refcount %d, not above its mapcount %d", pfn,
                        memory.refcount(pfn), memory.mapcount(pfn));
                    return;
                }
            }
        }
    }

    /** The slots of one PT page. */
    int ptes(final long slot, final long va, final int count)
    {
        for (int i = 0; i < count; i++)
        {
            final long e = PageWalker.read(frames, slot + ((long)i << 3));
            if (e != 0)
            {
                visitLeaf(e, va + ((long)i << 12));
            }
        }
        return PageTableEditor.OK;
    }

    private void visitLeaf(final long e, final long va)
    {
        frozen(e, va);
        if (!PageTableEntry.isMapped(e))
        {
            swapEntry(e, va);
            return;
        }
        leaves++;
        visitor.leaf(va, e, LEVEL_PTE, violations);
        final long pfn = PageTableEntry.pfn(e);
        if (!memory.isValid(pfn))
        {
            violation("entry 0x%x for 0x%x points outside physical memory", e, va);
            return;
        }
        if (pfn == memory.zeroPagePfn())
        {
            zeroPageMappings++;
            if (PageTableEntry.isWritable(e))
            {
                violation("zero page mapped writable at 0x%x", va);
            }
            return;
        }
        if (!memory.isBacked(pfn))
        {
            final PhantomFrames phantom = memory.phantom();
            if (!phantom.isClaimed(pfn))
            {
                violation("phantom frame %d mapped at 0x%x is free", pfn, va);
            }
            if (!mapped.add(pfn))
            {
                violation("phantom frame %d mapped twice (again at 0x%x)", pfn, va);
            }
            return;
        }
        backedDataFrame(pfn, va);
    }

    /** A leaf frozen by mremap's move is a violation at any quiescent point: every move thaws what it froze. */
    private void frozen(final long e, final long va)
    {
        if (PageTableEntry.isMoving(e))
        {
            violation("entry 0x%x for 0x%x is still frozen for a move", e, va);
        }
    }

    /** A non-present, non-PROT_NONE PTE: a swap entry naming a slot of the machine's swap area. */
    private void swapEntry(final long e, final long va)
    {
        final SwapArea swap = memory.swap();
        final long slot = SwapEntry.offset(e);
        if (swap == null || SwapEntry.type(e) != 0 || !swap.isValid(slot))
        {
            violation("non-present entry 0x%x for 0x%x is neither PROT_NONE nor empty nor a swap entry of the machine's area", e, va);
            return;
        }
        swapReferences.put(slot, swapReferences.get(slot) + 1);
    }

    /** One mapping of backed data frame {@code pfn} at {@code va}. */
    private void backedDataFrame(final long pfn, final long va)
    {
        final int flags = memory.flags(pfn);
        if ((flags & FrameFlags.STATE_MASK) != FrameFlags.DATA)
        {
            violation("frame %d mapped at 0x%x is flagged %s", pfn, va, FrameFlags.describe(flags));
        }
        if (!mapped.add(pfn))
        {
            extraMappings.put(pfn, extraMappings.get(pfn) + 1);
        }
    }

    private void checkCounts(final boolean accounting)
    {
        mapped.forEachBelow(memory.backedFrames(), pfn ->
        {
            final long count = 1 + extraMappings.get(pfn);
            final int mapcount = memory.mapcount(pfn);
            final int refcount = memory.refcount(pfn);
            if (mapcount != count)
            {
                violation("frame %d has mapcount %d but %d entries map it", pfn, mapcount, count);
            }
            if (refcount < count)
            {
                violation("frame %d has refcount %d below its %d mappings", pfn, refcount, count);
            }
            if ((memory.flags(pfn) & FrameFlags.ANON_EXCLUSIVE) != 0 && count != 1)
            {
                violation("frame %d is anon-exclusive but %d entries map it", pfn, count);
            }
        });
        final SwapArea swap = memory.swap();
        swapReferences.forEach((slot, references) ->
        {
            if (swap.count(slot) != references)
            {
                violation("swap slot %d has count %d but %d entries name it", slot, swap.count(slot), references);
            }
        });
        if (accounting && swap != null)
        {
            swap.forEachUsed((slot, count, underWriteback) ->
            {
                if (underWriteback)
                {
                    violation("swap slot %d is still being written out at a quiescent point", slot);
                }
                else if (!swapReferences.containsKey(slot))
                {
                    violation("swap slot %d has count %d but no entry names it (leaked)", slot, count);
                }
            });
        }
        if (hugeLeaves != deposits)
        {
            violation("%d huge leaves but %d PT pages deposited for them", hugeLeaves, deposits);
        }
        if (accounting)
        {
            final long zero = 1 + memory.hugeZeroPageFrames();
            final long pools = memory.hugetlbFreeFrames();
            final long expected = tables.size() + mapped.size() + cachedOnly + zero + pools;
            final long inUse = memory.framesInUse();
            if (inUse != expected)
            {
                violation("frames in use %d != tables %d + data %d + zero pages %d + free hugetlb pages %d (leaked or double-freed %d)",
                    inUse, tables.size(), mapped.size(), zero, pools, inUse - expected);
            }
        }
    }

    private void violation(final String format, final Object... args)
    {
        if (violations.size() < 100)
        {
            violations.add(String.format(format, args));
        }
    }

    /** What a check found: the violations (empty when all invariants hold) and what it counted. */
    public record Result(List<String> violations, long tables, long dataFrames, long leaves)
    {
        public boolean ok()
        {
            return violations.isEmpty();
        }

        /** Throws {@link AssertionError} listing the violations, for tests. */
        public Result assertOk()
        {
            if (!violations.isEmpty())
            {
                throw new AssertionError("page-table invariants violated:\n  " + String.join("\n  ", violations));
            }
            return this;
        }
    }
}
