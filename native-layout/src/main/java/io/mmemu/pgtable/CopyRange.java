package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.pgtable.PageTableEntry.ACCESSED;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PMD;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PTE;
import static io.mmemu.pgtable.PageTableEntry.WRITABLE;
import static io.mmemu.pgtable.PageWalker.ENTRY;
import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * fork's copy of one range of entries from a parent's tables into a child's (mm/memory.c's
 * copy_page_range, copy_pte_range, copy_present_pte, and mm/huge_memory.c's copy_huge_pmd): the
 * walk goes over the parent's tables; the child's side of each PT page or 2 MiB leaf is found (and
 * its tables allocated) by a walk of the child's tables from {@link #childCr3}.
 * <ul>
 *   <li>the zero page (4 KiB or huge): the entry is copied (no counts: it is nobody's);</li>
 *   <li>a swap entry: copied, its slot's count raised (swap_duplicate), its exclusive bit cleared on
 *       both sides;</li>
 *   <li>a backed data page (anonymous, or a private file mapping's page-cache page): one more
 *       reference and mapping (folio_try_dup_anon_rmap_pte / folio_dup_file_rmap_pte), its
 *       {@code ANON_EXCLUSIVE} cleared; in a copy-on-write mapping a writable entry is write-protected
 *       in the parent (by CAS: an MMU may set A/D without the lock) and in the child, so the first
 *       write on either side faults and copies or reuses it;</li>
 *   <li>a 2 MiB leaf the range covers: copied as a leaf, the same for each of its 512 subpages,
 *       with a fresh PT page deposited for it in the child (pgtable_trans_huge_deposit: a later
 *       split there needs no memory); one the range cuts is split first and its PTEs copied;</li>
 *   <li>a phantom frame (tables-only backing, no descriptor to count in): the child gets a frame of
 *       its own at once, as copy_present_page does for a page that cannot be shared — its bytes do
 *       not exist, so the copy costs a frame and nothing else;</li>
 *   <li>the child's entry is old (A cleared, pte_mkold) and keeps D, as Linux's does for private mappings.</li>
 * </ul>
 * Nothing else can reach the child's tables yet (the child runs nothing until fork returns), so its
 * entries are plain release stores. The caller excludes every other change of the parent's entries
 * but the MMUs' A/D updates (fork holds the mmap write lock and every VMA's write lock), and
 * flushes the parent's TLBs afterwards when {@link #writeProtected()} is not zero: until then
 * another CPU may still write through a writable translation it cached, which lands in the shared
 * page before the fork returns.
 * <p>
 * Status codes are {@link PageTableEditor}'s: OK, NO_MEMORY (the child's tables, a deposit or a
 * phantom frame: what was copied stays copied and counted, so tearing the child down gives it all
 * back), BAD_ENTRY, LARGE_LEAF (a hugetlb leaf the range cuts).
 */
public final class CopyRange extends RangeVisitor
{
    private final PageTableEditor editor;
    private final PhysicalMemory memory;
    private final MemorySegment frames;
    private final FrameCache cache;
    private final HugePmd huge;
    /** The child's side: its own walker, so the parent's walk state is never disturbed. */
    private final PageWalker target;
    private final long zeroPagePfn;
    /** The child's root and whether the range is copy-on-write (set by the editor before each walk). */
    long childCr3;
    boolean cow;
    /** Counters of every copy since {@link #reset} (owner thread only). */
    private long shared;
    private long writeProtected;
    private long duplicated;
    private long swapShared;
    /** What {@link HugetlbLeaf#copy} write-protected (an out parameter, so the copy allocates nothing). */
    private final long[] hugetlbWriteProtected = new long[1];

    CopyRange(final PageTableEditor editor, final PhysicalMemory memory, final FrameCache cache, final HugePmd huge)
    {
        // the walker does not lock: the child's side is walked (and allocated) before the parent's PT lock is taken
        super(COPY, false, false);
        this.editor = editor;
        this.memory = memory;
        this.frames = memory.frames();
        this.cache = cache;
        this.huge = huge;
        this.target = new PageWalker(memory, cache);
        this.zeroPagePfn = memory.zeroPagePfn();
    }

    /**
     * copy_huge_pmd: a 2 MiB leaf the range covers goes whole to the child, write-protected on both
     * sides in a copy-on-write range; one the range cuts is split and taken again. A hugetlb leaf
     * (2 MiB or 1 GiB) goes whole with no deposit (copy_hugetlb_page_range, {@link HugetlbLeaf#copy}).
     */
    int large(final long slot, final long entry, final long va, final int level, final long lo, final long hi)
    {
        if (HugetlbLeaf.is(memory, entry, level))
        {
            if (va < lo || va + PageTableEntry.coverage(level) > hi)
            {
                return PageTableEditor.LARGE_LEAF;
            }
            final long frames = editor.hugetlb().copy(slot, va, level, childCr3, cow, target, hugetlbWriteProtected);
            if (frames < 0)
            {
                return (int)frames;
            }
            shared += frames;
            writeProtected += hugetlbWriteProtected[0];
            hugetlbWriteProtected[0] = 0;
            done += frames;
            return NEXT;
        }
        if (level != LEVEL_PMD)
        {
            return PageTableEditor.LARGE_LEAF;
        }
        if (!whole(va, lo, hi))
        {
            huge.split(slot);
            return DESCEND;
        }
        final int status = target.walkAllocPmd(childCr3, va);
        if (status == PageWalker.WALK_NO_MEMORY)
        {
            return PageTableEditor.NO_MEMORY;
        }
        if (status != PageWalker.WALK_ENTRY || target.entry() != 0L)
        {
            return PageTableEditor.BAD_ENTRY;
        }
        final long childSlot = target.slot();
        // pte_alloc before the copy: no deposit for the child's leaf, no copy (fork's ENOMEM)
        final long deposit = memory.allocateTable(cache, LEVEL_PTE);
        if (deposit == NO_FRAME)
        {
            return PageTableEditor.NO_MEMORY;
        }
        final long table = slot >>> 12;
        long e;
        editor.lockTable(table);
        try
        {
            e = (long)ENTRY.getAcquire(frames, slot);
            if (!PageTableEntry.isHugePmd(e))
            {
                // fork excludes every change but A/D; taken again all the same
                memory.freeTable(cache, deposit);
                return DESCEND;
            }
            final long head = PageTableEntry.leafAddress(e, LEVEL_PMD) >>> 12;
            if (!memory.isHugeZeroPage(head))
            {
                for (long pfn = head; pfn < head + PhysicalMemory.HUGE_FRAMES; pfn++)
                {
                    memory.mapData(pfn);
                    memory.clearAnonExclusive(pfn);
                }
                if (cow && PageTableEntry.isWritable(e))
                {
                    e = writeProtect(slot, e);
                    writeProtected += PhysicalMemory.HUGE_FRAMES;
                }
                shared += PhysicalMemory.HUGE_FRAMES;
            }
        }
        finally
        {
            editor.unlockTable(table);
        }
        // the child's PMD lock, after the parent's is released (one PT lock at a time)
        if (!huge.installWithDeposit(childSlot, e & ~ACCESSED, deposit))
        {
            throw new IllegalStateException("the child's PMD entry for 0x" + Long.toHexString(va) + " filled during fork");
        }
        done += PhysicalMemory.HUGE_FRAMES;
        return NEXT;
    }

    /** copy_pte_range over {@code count} slots of the parent's PT page {@code table} from {@code slot}, mapping from {@code va}. */
    int ptes(final long table, final long slot, final long va, final int count)
    {
        final int targetStatus = target.walkAlloc(childCr3, va);
        if (targetStatus != PageWalker.WALK_PTE)
        {
            return targetStatus == PageWalker.WALK_NO_MEMORY ? PageTableEditor.NO_MEMORY :
                targetStatus == PageWalker.WALK_LARGE ? PageTableEditor.LARGE_LEAF : PageTableEditor.BAD_ENTRY;
        }
        final long childSlot = target.slot();
        // the child's table needs no lock: nothing can reach it before fork returns
        editor.lockTable(table);
        try
        {
            for (long i = 0; i < count; i++)
            {
                final long from = slot + (i << 3);
                long e = (long)ENTRY.getVolatile(frames, from);
                if (e == 0L)
                {
                    continue;
                }
                // fork owns the whole range: no move is in flight anywhere in it
                assert !PageTableEntry.isMoving(e) : "fork met an entry a move has frozen";
                final long child;
                final long pfn = PageTableEntry.pfn(e);
                if (!PageTableEntry.isMapped(e))
                {
                    // a swap entry (copy_nonpresent_pte): one more entry names its slot (swap_duplicate),
                    // which no longer belongs to one process alone, on either side
                    memory.swap().duplicate(SwapEntry.offset(e));
                    if ((e & SwapEntry.EXCLUSIVE) != 0)
                    {
                        // no MMU writes a non-present entry, and the lock is ours
                        e &= ~SwapEntry.EXCLUSIVE;
                        ENTRY.setRelease(frames, from, e);
                    }
                    child = e;
                    swapShared++;
                }
                else if (pfn == zeroPagePfn)
                {
                    // the zero page (never writable) belongs to nobody: no counts to raise
                    child = e;
                }
                else if (!memory.isBacked(pfn))
                {
                    // tables-only backing hands out phantom frames only, which no LRU list holds: no mapping to name
                    final long own = memory.allocateAnon(cache, 0, 0);
                    if (own == NO_FRAME)
                    {
                        return PageTableEditor.NO_MEMORY;
                    }
                    child = PageTableEntry.leaf(own, e);
                    duplicated++;
                }
                else
                {
                    memory.mapData(pfn);
                    memory.clearAnonExclusive(pfn);
                    if (cow && PageTableEntry.isWritable(e))
                    {
                        e = writeProtect(from, e);
                        writeProtected++;
                    }
                    child = e;
                    shared++;
                }
                // release store: the child's tables are reachable only through its CR3, which no CPU
                // uses before fork returns; the release orders the descriptor updates before it anyway
                ENTRY.setRelease(frames, childSlot + (i << 3), child & ~ACCESSED);
                done++;
            }
            return PageTableEditor.OK;
        }
        finally
        {
            editor.unlockTable(table);
        }
    }

    /** ptep_set_wrprotect / pmdp_set_wrprotect: clears W of the parent's entry, keeping A/D an MMU sets meanwhile; returns the new entry. */
    private long writeProtect(final long slot, final long entry)
    {
        assert editor.holdsLock(slot >>> 12) : "write-protect without the PT lock";
        long e = entry;
        while (true)
        {
            // volatile CAS: an MMU may set A/D on this present entry without the lock
            final long witness = (long)ENTRY.compareAndExchange(frames, slot, e, e & ~WRITABLE);
            if (witness == e)
            {
                return e & ~WRITABLE;
            }
            e = witness;
        }
    }

    /** Starts the counters from zero (a new fork). */
    public void reset()
    {
        shared = 0;
        writeProtected = 0;
        duplicated = 0;
        swapShared = 0;
    }

    /** Swap entries the copies so far gave the child (each one more count on its slot). */
    public long swapShared()
    {
        return swapShared;
    }

    /** 4 KiB pages (subpages of 2 MiB leaves included) the copies so far mapped a second time. */
    public long shared()
    {
        return shared;
    }

    /** Parent pages write-protected so far: when not zero, the parent's TLBs need a flush. */
    public long writeProtected()
    {
        return writeProtected;
    }

    /** Phantom frames given to the child (tables-only backing). */
    public long duplicated()
    {
        return duplicated;
    }
}
