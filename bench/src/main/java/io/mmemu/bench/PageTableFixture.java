package io.mmemu.bench;

import io.mmemu.pgtable.MmuGather;
import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.TlbFlush;
import io.mmemu.phys.Backing;
import io.mmemu.phys.BuddyAllocator;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;

/**
 * One emulated CPU's page tables for a benchmark: physical memory, the thread's frame cache, an
 * editor, a gather and a root (CR3). No VMAs and no TLBs: the native layer alone, driven the way
 * the engine's MAP_POPULATE and munmap drive it.
 * <p>
 * Thread safety: none; it belongs to the benchmark thread that made it.
 */
public final class PageTableFixture implements AutoCloseable
{
    /** Where benchmark mappings start: 16 TiB, aligned to a PGD entry (512 GiB), inside user space. */
    public static final long BASE = 0x1000_0000_0000L;
    /** Anonymous read-write data, as a written private page looks: P|RW|US|A|D|NX. */
    public static final long LEAF_FLAGS = PageTableEntry.PRESENT | PageTableEntry.WRITABLE | PageTableEntry.USER |
        PageTableEntry.ACCESSED | PageTableEntry.DIRTY | PageTableEntry.NO_EXECUTE;
    /** The lock token of the one CPU (non-zero by PtLock's contract). */
    private static final long CPU_TOKEN = 1;

    private final PhysicalMemory memory;
    private final FrameCache cache;
    private final PageTableEditor editor;
    private final MmuGather tlb;
    private final long cr3;

    public PageTableFixture(final long physicalBytes, final Backing backing)
    {
        this.memory = PhysicalMemory.create(physicalBytes, backing);
        this.cache = memory.newCache();
        this.editor = new PageTableEditor(memory, cache, CPU_TOKEN);
        this.tlb = new MmuGather(memory, cache);
        this.cr3 = editor.allocateRoot();
        if (cr3 == BuddyAllocator.NO_FRAME)
        {
            throw new IllegalStateException("no frame for the root table");
        }
    }

    public PhysicalMemory memory()
    {
        return memory;
    }

    public FrameCache cache()
    {
        return cache;
    }

    public PageTableEditor editor()
    {
        return editor;
    }

    public long cr3()
    {
        return cr3;
    }

    /**
     * Maps a fresh data page at every 4 KiB entry of {@code [start, end)}.
     *
     * @return {@link PageTableEditor#OK} or the editor's failure status.
     */
    public int populate(final long start, final long end)
    {
        return editor.populate(cr3, start, end, LEAF_FLAGS);
    }

    /**
     * Unmaps {@code [start, end)} as munmap does with no neighbours: zaps the entries, unlinks the
     * tables left empty, and frees both after the (empty) TLB flush.
     *
     * @return {@link PageTableEditor#OK} or the zap's failure status.
     */
    public int unmap(final long start, final long end)
    {
        tlb.begin(TlbFlush.NONE);
        final int status = editor.zap(cr3, start, end, tlb);
        editor.freeTables(cr3, start, end, 0, 0, tlb);
        tlb.finish();
        return status;
    }

    /** Entries changed by the last populate or unmap. */
    public long done()
    {
        return editor.done();
    }

    @Override
    public void close()
    {
        memory.close();
    }
}
