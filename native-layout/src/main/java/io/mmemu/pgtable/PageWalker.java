package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.pgtable.PageTableEntry.LEVEL_PTE;
import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * Walks the four or five levels from CR3 ({@link PagingMode}: the CR3 word says which) through
 * physical memory, as the MMU's page walker does: a
 * flyweight owned by one thread whose last result is read through {@link #slot()},
 * {@link #entry()}, {@link #level()} and {@link #tablePfn()}. Nothing here allocates on the heap
 * or throws; outcomes are the {@code WALK_*} status codes.
 * <p>
 * Memory ordering: entries are read with acquire loads, and tables are published with a CAS on
 * the parent entry (below, and in {@link PageTableEditor}), so a walker that sees an entry also
 * sees the zeroed table or page behind it.
 */
public final class PageWalker
{
    /** Stopped at a 4 KiB entry (which may be empty, present or PROT_NONE). */
    public static final int WALK_PTE = 0;
    /** Stopped at a 2 MiB or 1 GiB leaf at {@link #level()}. */
    public static final int WALK_LARGE = 1;
    /** Stopped at the empty or table-pointing entry of the level asked for ({@link #walkAllocPmd}). */
    public static final int WALK_ENTRY = 2;
    /** The entry at {@link #level()} (2..5) is empty: no table below it. */
    public static final int WALK_HOLE = -1;
    /** A missing table could not be allocated: physical memory is exhausted. */
    public static final int WALK_NO_MEMORY = -2;
    /** An entry points outside backed memory or is malformed (corrupted tables). */
    public static final int WALK_BAD_ENTRY = -3;

    public static final long NO_TRANSLATION = -1L;

    static final VarHandle ENTRY = ValueLayout.JAVA_LONG.varHandle();

    private final PhysicalMemory memory;
    private final MemorySegment frames;
    private final FrameCache cache;
    private final long backedLimit;

    private long slot;
    private long entry;
    private int level;
    private long tablePfn;

    public PageWalker(final PhysicalMemory memory, final FrameCache cache)
    {
        this.memory = memory;
        this.frames = memory.frames();
        this.cache = cache;
        this.backedLimit = memory.backedFrames() << PhysicalMemory.PAGE_SHIFT;
    }

    /** Reads an entry at physical address {@code slot} with acquire ordering. */
    public static long read(final MemorySegment frames, final long slot)
    {
        return (long)ENTRY.getAcquire(frames, slot);
    }

    /**
     * Sets an entry from {@code expected} to {@code update} if unchanged (the hardware walker's
     * locked A/D update). Volatile CAS: orders with the lock holders' release stores.
     */
    public static boolean casEntry(final MemorySegment frames, final long slot, final long expected, final long update)
    {
        return (boolean)ENTRY.compareAndSet(frames, slot, expected, update);
    }

    /** Walks without changing anything. */
    public int walk(final long cr3, final long va)
    {
        long table = cr3 & PageTableEntry.PHYS_MASK;
        for (int lvl = PagingMode.levels(cr3); ; lvl--)
        {
            final long s = table + ((long)PageTableEntry.index(va, lvl) << 3);
            final long e = (long)ENTRY.getAcquire(frames, s);
            slot = s;
            entry = e;
            level = lvl;
            tablePfn = table >>> 12;
            if (lvl == LEVEL_PTE)
            {
                return WALK_PTE;
            }
            if (e == 0)
            {
                return WALK_HOLE;
            }
            if (!PageTableEntry.isPresent(e) && !PageTableEntry.isLargeLeaf(e, lvl))
            {
                return WALK_BAD_ENTRY;
            }
            if (PageTableEntry.isLeaf(e, lvl))
            {
                return WALK_LARGE;
            }
            table = PageTableEntry.address(e);
            if (table >= backedLimit || table == 0)
            {
                return WALK_BAD_ENTRY;
            }
        }
    }

    /**
     * Walks to the 4 KiB entry for {@code va}, installing missing tables. A new table is installed
     * by CAS on the empty parent entry; the loser of a race frees its frame and goes on through the
     * winner's table. Stops early at a large leaf.
     */
    public int walkAlloc(final long cr3, final long va)
    {
        return walkAlloc(cr3, va, LEVEL_PTE);
    }

    /**
     * Walks to the PMD entry for {@code va}, installing missing tables above it: where a
     * transparent huge page's fault looks. {@link #WALK_ENTRY} when the entry is empty or points at
     * a PT page (read it through {@link #entry()}), {@link #WALK_LARGE} at a 2 MiB (or 1 GiB) leaf.
     */
    public int walkAllocPmd(final long cr3, final long va)
    {
        return walkAlloc(cr3, va, PageTableEntry.LEVEL_PMD);
    }

    /**
     * Walks to the entry of {@code level} (PMD or PUD) for {@code va}, installing missing tables
     * above it: where a hugetlb fault or fork's copy puts a leaf of that level. Statuses as
     * {@link #walkAllocPmd}.
     */
    public int walkAllocTo(final long cr3, final long va, final int level)
    {
        return walkAlloc(cr3, va, level);
    }

    private int walkAlloc(final long cr3, final long va, final int stop)
    {
        long table = cr3 & PageTableEntry.PHYS_MASK;
        for (int lvl = PagingMode.levels(cr3); ; lvl--)
        {
            final long s = table + ((long)PageTableEntry.index(va, lvl) << 3);
            long e = (long)ENTRY.getAcquire(frames, s);
            slot = s;
            level = lvl;
            tablePfn = table >>> 12;
            if (lvl == LEVEL_PTE)
            {
                entry = e;
                return WALK_PTE;
            }
            if (lvl == stop && (e == 0 || (PageTableEntry.isPresent(e) && !PageTableEntry.isLeaf(e, lvl))))
            {
                entry = e;
                return WALK_ENTRY;
            }
            if (e == 0)
            {
                final long pfn = memory.allocateTable(cache, lvl - 1);
                if (pfn == NO_FRAME)
                {
                    entry = 0;
                    return WALK_NO_MEMORY;
                }
                final long fresh = PageTableEntry.table(pfn);
                // volatile CAS: publishes the zeroed table and its descriptor (release), and reads
                // a competing installer's entry (acquire) when it loses
                final long witness = (long)ENTRY.compareAndExchange(frames, s, 0L, fresh);
                if (witness == 0L)
                {
                    e = fresh;
                }
                else
                {
                    memory.freeTable(cache, pfn);
                    e = witness;
                }
            }
            entry = e;
            if (!PageTableEntry.isPresent(e) && !PageTableEntry.isLargeLeaf(e, lvl))
            {
                return WALK_BAD_ENTRY;
            }
            if (PageTableEntry.isLeaf(e, lvl))
            {
                return WALK_LARGE;
            }
            table = PageTableEntry.address(e);
            if (table >= backedLimit || table == 0)
            {
                return WALK_BAD_ENTRY;
            }
        }
    }

    /**
     * Translates {@code va} to a physical address through present entries only, as a TLB fill
     * would (no permission checks, no A/D updates).
     *
     * @return the physical address, or {@link #NO_TRANSLATION}.
     */
    public long translate(final long cr3, final long va)
    {
        // the TLB-fill path: locals only, no result fields written, no status decoding
        final MemorySegment mem = frames;
        long table = cr3 & PageTableEntry.PHYS_MASK;
        // the top level's shift: 39 (PML4), or 48 (PML5) when the CR3 word carries LA57
        for (int shift = 39 + 9 * (int)(cr3 & PagingMode.CR3_LA57); ; shift -= 9)
        {
            final long e = (long)ENTRY.getAcquire(mem, table + (((va >>> shift) & 511L) << 3));
            if ((e & PageTableEntry.PRESENT) == 0)
            {
                return NO_TRANSLATION;
            }
            if (shift == 12)
            {
                return (e & PageTableEntry.PHYS_MASK) | (va & 0xFFFL);
            }
            if ((e & PageTableEntry.PAGE_SIZE) != 0 && shift <= 30)
            {
                final long mask = (1L << shift) - 1;
                return (e & PageTableEntry.PHYS_MASK & ~mask) | (va & mask);
            }
            table = e & PageTableEntry.PHYS_MASK;
            if (table == 0 || table >= backedLimit)
            {
                return NO_TRANSLATION;
            }
        }
    }

    /** Physical address of the entry the last walk stopped at. */
    public long slot()
    {
        return slot;
    }

    /** Value of that entry as the walk read it. */
    public long entry()
    {
        return entry;
    }

    /** Level of that entry: 1 (PT) to 4 (PML4) or 5 (PML5). */
    public int level()
    {
        return level;
    }

    /** PFN of the table that holds that entry (whose lock guards it at level 1). */
    public long tablePfn()
    {
        return tablePfn;
    }

    public PhysicalMemory memory()
    {
        return memory;
    }

    public FrameCache cache()
    {
        return cache;
    }
}
