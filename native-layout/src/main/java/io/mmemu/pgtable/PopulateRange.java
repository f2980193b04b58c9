package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.pgtable.PageWalker.ENTRY;
import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * MAP_POPULATE of anonymous memory straight into the tables: a fresh zeroed data page at every
 * empty entry, tables installed as needed; entries already set, and large leaves, are left alone.
 */
final class PopulateRange extends RangeVisitor
{
    private final PageTableEditor editor;
    private final PhysicalMemory memory;
    private final MemorySegment frames;
    private final FrameCache cache;
    /** The new leaves' protection and state bits (set by the editor before each walk). */
    long leafFlags;

    PopulateRange(final PageTableEditor editor, final PhysicalMemory memory, final FrameCache cache)
    {
        super(POPULATE, true, true);
        this.editor = editor;
        this.memory = memory;
        this.frames = memory.frames();
        this.cache = cache;
    }

    int large(final long slot, final long entry, final long va, final int level, final long lo, final long hi)
    {
        return NEXT;
    }

    int ptes(final long slot, final int count)
    {
        assert editor.holdsLock(slot >>> 12) : "populate without the PT lock";
        // locals, not fields, in the loop: a field is read again after every release store, and written back
        final long flags = leafFlags;
        long changed = 0;
        for (long s = slot, end = slot + ((long)count << 3); s < end; s += 8)
        {
            if ((long)ENTRY.getOpaque(frames, s) != 0L)
            {
                continue;
            }
            final long pfn = memory.allocateData(cache);
            if (pfn == NO_FRAME)
            {
                done += changed;
                return PageTableEditor.NO_MEMORY;
            }
            // release store: the zeroed page is visible to whoever acquires the entry
            ENTRY.setRelease(frames, s, PageTableEntry.leaf(pfn, flags));
            changed++;
        }
        done += changed;
        return PageTableEditor.OK;
    }
}
