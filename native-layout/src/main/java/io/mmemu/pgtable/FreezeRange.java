package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.pgtable.PageWalker.ENTRY;

/**
 * The first and last passes of mremap's move ({@link PageTableEditor#freezeForMove},
 * {@link PageTableEditor#thawMoved}): every present leaf of the range — 4 KiB entries, 2 MiB
 * leaves, hugetlb leaves — is frozen ({@link PageTableEntry#moving}: not present, bits kept), or
 * a frozen one thawed ({@link PageTableEntry#settled}). Entries that are not present already
 * (empty, PROT_NONE, swap) are left alone: an access there faults anyway.
 * <p>
 * Why: the MMU walks tables without looking at VMAs, so while entries travel one by one an access
 * could succeed through a moved entry at the destination and then through a not-yet-moved one at
 * the source — a history no order of the mremap and the accesses gives. Frozen entries make every
 * access to either side fault, and the fault waits for the move's locked VMAs; the freeze's flush
 * (the caller's gather) ends every translation of the source before any entry moves.
 * <p>
 * A 2 MiB leaf the range cuts is split first (the move would split it anyway); freezing changes
 * no count, so a frozen entry still maps its frame for every reader that counts.
 */
final class FreezeRange extends RangeVisitor implements HugePmd.LeafChange
{
    private final PageTableEditor editor;
    private final MemorySegment frames;
    private final PhysicalMemory memory;
    private final HugePmd huge;
    /** Freeze (true) or thaw (false); set by the editor before each walk. */
    boolean freeze;

    FreezeRange(final PageTableEditor editor, final PhysicalMemory memory, final HugePmd huge)
    {
        super(FREEZE, false, true);
        this.editor = editor;
        this.memory = memory;
        this.frames = memory.frames();
        this.huge = huge;
    }

    int large(final long slot, final long entry, final long va, final int level, final long lo, final long hi)
    {
        return rewriteAnyLeaf(editor, memory, huge, this, slot, entry, va, level, lo, hi);
    }

    @Override
    public long apply(final long leaf)
    {
        return freeze ? PageTableEntry.isPresent(leaf) ? PageTableEntry.moving(leaf) : leaf
            : PageTableEntry.isMoving(leaf) ? PageTableEntry.settled(leaf) : leaf;
    }

    int ptes(final long slot, final int count)
    {
        assert editor.holdsLock(slot >>> 12) : "a move's freeze without the PT lock";
        final boolean f = freeze;
        long changed = 0;
        for (long s = slot, end = slot + ((long)count << 3); s < end; s += 8)
        {
            long e = (long)ENTRY.getOpaque(frames, s);
            if (f)
            {
                while (PageTableEntry.isPresent(e))
                {
                    // CAS, not a store: an MMU may set A/D on the present entry without the lock
                    final long witness = (long)ENTRY.compareAndExchange(frames, s, e, PageTableEntry.moving(e));
                    if (witness == e)
                    {
                        changed++;
                        break;
                    }
                    e = witness;
                }
            }
            else if (PageTableEntry.isMoving(e))
            {
                // a release store: no MMU writes a non-present entry, and the lock excludes every
                // other writer; walkers that acquire the entry see the frame as it was
                ENTRY.setRelease(frames, s, PageTableEntry.settled(e));
                changed++;
            }
        }
        done += changed;
        return PageTableEditor.OK;
    }
}
