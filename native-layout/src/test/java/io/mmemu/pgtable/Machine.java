package io.mmemu.pgtable;

import java.lang.foreign.ValueLayout;

import io.mmemu.phys.Backing;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * One emulated machine with one address space for a test: physical memory, the test thread's
 * frame cache, editor and gather, and a CR3. Entries are read and written by hand through
 * {@link #entry} and {@link #setEntry} so that tests can build and corrupt tables independently
 * of the code under test.
 */
final class Machine implements AutoCloseable
{
    /** Address bits 12..51 of an entry, written out by hand rather than taken from the class under test. */
    static final long ADDRESS_BITS = 0x000F_FFFF_FFFF_F000L;
    /** Linux _PAGE_TABLE: P|RW|US|A|D. */
    static final long TABLE_BITS = 0x067L;
    /** A leaf's bits: P|RW|US|A|D|NX. */
    static final long DIRTY_RW = 0x8000_0000_0000_0067L;
    /** The same without D: writable, never written. */
    static final long CLEAN_RW = 0x8000_0000_0000_0027L;
    /** The end of the user half (TASK_SIZE_MAX rounded up to the PML4 entry): 2^47. */
    static final long USER_END = 0x0000_8000_0000_0000L;

    final PhysicalMemory memory;
    final FrameCache cache;
    final PageTableEditor editor;
    final MmuGather tlb;
    final long cr3;
    /** Frames in use right after the root was allocated: the zero page and the PML4. */
    final long baseline;

    Machine(final PhysicalMemory memory)
    {
        this(memory, PagingMode.FOUR_LEVEL);
    }

    /** With {@code levels}-level paging: the root is a PML4, or a PML5 (LA57 in the CR3 word). */
    Machine(final PhysicalMemory memory, final int levels)
    {
        this.memory = memory;
        this.cache = memory.newCache();
        this.editor = new PageTableEditor(memory, cache, 1);
        this.tlb = new MmuGather(memory, cache);
        this.cr3 = editor.allocateRoot(levels);
        assertNotEquals(NO_FRAME, cr3, "no frame for the root");
        this.baseline = memory.framesInUse();
        assertEquals(2, baseline, "zero page and root");
    }

    static Machine full(final long bytes)
    {
        return new Machine(PhysicalMemory.create(bytes, Backing.FULL));
    }

    /** The 64-bit value at physical address {@code pa}, read by hand. */
    long entry(final long pa)
    {
        return memory.frames().get(ValueLayout.JAVA_LONG, pa);
    }

    void setEntry(final long pa, final long value)
    {
        memory.frames().set(ValueLayout.JAVA_LONG, pa, value);
    }

    /** A fresh zeroed table page for {@code level}; its physical address. */
    long newTable(final int level)
    {
        final long pfn = memory.allocateTable(cache, level);
        assertNotEquals(NO_FRAME, pfn, "no frame for a table");
        return pfn << 12;
    }

    /** Populates {@code [start, end)} with {@link #DIRTY_RW} and expects success. */
    void populate(final long start, final long end)
    {
        assertEquals(PageTableEditor.OK, editor.populate(cr3, start, end, DIRTY_RW));
    }

    /** Physical address of {@code va}'s 4 KiB entry, installing the tables on the way. */
    long pteSlot(final long va)
    {
        assertEquals(PageWalker.WALK_PTE, editor.walker().walkAlloc(cr3, va));
        return editor.walker().slot();
    }

    /** Zaps {@code [start, end)} in a gather of its own and expects success. */
    void zap(final long start, final long end)
    {
        tlb.begin(TlbFlush.NONE);
        assertEquals(PageTableEditor.OK, editor.zap(cr3, start, end, tlb));
        tlb.finish();
    }

    /** Frees the empty tables of {@code [start, end)} between the neighbours' {@code floor} and {@code ceiling}. */
    void freeTables(final long start, final long end, final long floor, final long ceiling, final TlbFlush flush)
    {
        tlb.begin(flush);
        editor.freeTables(cr3, start, end, floor, ceiling, tlb);
        tlb.finish();
    }

    /** Zaps {@code [start, end)} and frees every table it leaves empty, as munmap with no neighbours. */
    void unmap(final long start, final long end)
    {
        zap(start, end);
        freeTables(start, end, 0L, 0L, TlbFlush.NONE);
    }

    /**
     * Maps a fresh transparent huge page at the 2 MiB-aligned {@code va} with {@code flags} (the
     * fault's way: an order-9 block and a PMD leaf with a deposited PT page); returns its head PFN.
     */
    long hugePage(final long va, final long flags)
    {
        assertEquals(PageWalker.WALK_ENTRY, editor.walker().walkAllocPmd(cr3, va));
        assertEquals(0L, editor.walker().entry(), "an empty PMD entry");
        final long head = memory.allocateHugeData(cache, 0, 0);
        assertNotEquals(NO_FRAME, head, "no order-9 block");
        assertEquals(PageTableEditor.OK, editor.huge().install(editor.walker().slot(), PageTableEntry.largeLeaf(head << 12, flags)));
        return head;
    }

    /** The PMD entry for {@code va} (the tables above it exist). */
    long pmdEntry(final long va)
    {
        return entry(pmdSlot(va));
    }

    /** The physical address of the PMD entry for {@code va} (the tables above it exist). */
    long pmdSlot(final long va)
    {
        final long pdpt = entry(cr3 + 8L * PageTableEntry.index(va, PageTableEntry.LEVEL_PGD)) & ADDRESS_BITS;
        final long pd = entry(pdpt + 8L * PageTableEntry.index(va, PageTableEntry.LEVEL_PUD)) & ADDRESS_BITS;
        return pd + 8L * PageTableEntry.index(va, PageTableEntry.LEVEL_PMD);
    }

    PageTableChecker.Result check()
    {
        return PageTableChecker.check(memory, cr3).assertOk();
    }

    @Override
    public void close()
    {
        memory.close();
    }
}
