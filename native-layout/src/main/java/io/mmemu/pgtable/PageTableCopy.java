package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import org.agrona.concurrent.IdleStrategy;

import static io.mmemu.pgtable.PageTableEntry.ACCESSED;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PMD;
import static io.mmemu.pgtable.PageTableEntry.WRITABLE;
import static io.mmemu.pgtable.PageWalker.ENTRY;
import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * fork's copy of one range of entries from a parent's tables into a child's (mm/memory.c's
 * copy_page_range, copy_pte_range, copy_present_pte), one source PT page at a time under its PT lock:
 * <ul>
 *   <li>the zero page: the entry is copied (no counts: it is nobody's);</li>
 *   <li>a backed data page (anonymous, or a private file mapping's page-cache page): one more
 *       reference and mapping (folio_try_dup_anon_rmap_pte / folio_dup_file_rmap_pte), its
 *       {@code ANON_EXCLUSIVE} cleared; in a copy-on-write mapping a writable entry is write-protected
 *       in the parent (by CAS: an MMU may set A/D without the lock) and in the child, so the first
 *       write on either side faults and copies or reuses it;</li>
 *   <li>a phantom frame (tables-only backing, no descriptor to count in): the child gets a frame of
 *       its own at once, as copy_present_page does for a page that cannot be shared — its bytes do
 *       not exist, so the copy costs a frame and nothing else;</li>
 *   <li>the child's entry is old (A cleared, pte_mkold) and keeps D, as Linux's does for private mappings.</li>
 * </ul>
 * The child's tables are allocated as needed; nothing else can reach them yet (the child runs
 * nothing until fork returns), so its entries are plain release stores. The caller excludes every
 * other change of the parent's entries but the MMUs' A/D updates (fork holds the mmap write lock
 * and every VMA's write lock), and flushes the parent's TLBs afterwards when
 * {@link #writeProtected()} is not zero: until then another CPU may still write through a writable
 * translation it cached, which lands in the shared page before the fork returns.
 * <p>
 * Status codes are {@link PageTableEditor}'s: OK, NO_MEMORY (the child's tables or a phantom frame:
 * what was copied stays copied and counted, so tearing the child down gives it all back),
 * BAD_ENTRY, LARGE_LEAF.
 */
public final class PageTableCopy
{
    private final PhysicalMemory memory;
    private final MemorySegment frames;
    private final MemorySegment metadata;
    private final FrameCache cache;
    private final PageWalker source;
    private final PageWalker target;
    private final long token;
    private final IdleStrategy idle;
    private final Runnable interrupts;
    private final long zeroPagePfn;
    /** Counters of every copy so far (owner thread only). */
    private long shared;
    private long writeProtected;
    private long duplicated;

    /**
     * @param cache      where the child's tables and phantom frames come from
     * @param token      the PT-lock owner token of the calling CPU
     * @param interrupts run before each source PT page, with no PT lock held (the CPU answers shootdowns there)
     */
    public PageTableCopy(final PhysicalMemory memory, final FrameCache cache, final long token, final IdleStrategy idle,
        final Runnable interrupts)
    {
        this.memory = memory;
        this.frames = memory.frames();
        this.metadata = memory.metadata();
        this.cache = cache;
        this.source = new PageWalker(memory, cache);
        this.target = new PageWalker(memory, cache);
        this.token = token;
        this.idle = idle;
        this.interrupts = interrupts;
        this.zeroPagePfn = memory.zeroPagePfn();
    }

    /**
     * Copies the entries of {@code [start, end)} (4 KiB aligned) from the tables under
     * {@code parentCr3} to the same addresses under {@code childCr3}, write-protecting writable ones
     * on both sides when {@code cow} (a private writable mapping: is_cow_mapping).
     */
    public int copy(final long parentCr3, final long childCr3, final long start, final long end, final boolean cow)
    {
        long va = start;
        while (Long.compareUnsigned(va, end) < 0)
        {
            interrupts.run();
            final int status = source.walk(parentCr3, va);
            if (status == PageWalker.WALK_HOLE)
            {
                final long next = PageTableEntry.nextBoundary(va, source.level());
                if (next == 0)
                {
                    return PageTableEditor.OK;
                }
                va = next;
                continue;
            }
            if (status == PageWalker.WALK_LARGE)
            {
                return PageTableEditor.LARGE_LEAF;
            }
            if (status != PageWalker.WALK_PTE)
            {
                return PageTableEditor.BAD_ENTRY;
            }
            final long last = Math.min(end, PageTableEntry.nextBoundary(va, LEVEL_PMD));
            final long parentTable = source.tablePfn();
            final long parentSlot = source.slot();
            final int targetStatus = target.walkAlloc(childCr3, va);
            if (targetStatus != PageWalker.WALK_PTE)
            {
                return targetStatus == PageWalker.WALK_NO_MEMORY ? PageTableEditor.NO_MEMORY :
                    targetStatus == PageWalker.WALK_LARGE ? PageTableEditor.LARGE_LEAF : PageTableEditor.BAD_ENTRY;
            }
            final int copied = copyTable(parentTable, parentSlot, target.slot(), (last - va) >>> 12, cow);
            if (copied != PageTableEditor.OK)
            {
                return copied;
            }
            va = last;
        }
        return PageTableEditor.OK;
    }

    /** copy_pte_range over {@code count} slots of one parent PT page, under its PT lock. */
    private int copyTable(final long parentTable, final long parentSlot, final long childSlot, final long count,
        final boolean cow)
    {
        // the child's table needs no lock: nothing can reach it before fork returns
        PtLock.lock(metadata, parentTable, token, idle);
        try
        {
            for (long i = 0; i < count; i++)
            {
                final long from = parentSlot + (i << 3);
                long e = (long)ENTRY.getVolatile(frames, from);
                if (e == 0L)
                {
                    continue;
                }
                final long child;
                final long pfn = PageTableEntry.pfn(e);
                if (!PageTableEntry.isMapped(e) || pfn == zeroPagePfn)
                {
                    // the zero page (never writable) belongs to nobody: no counts to raise
                    child = e;
                }
                else if (!memory.isBacked(pfn))
                {
                    final long own = memory.allocateAnon(cache);
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
            }
            return PageTableEditor.OK;
        }
        finally
        {
            PtLock.unlock(metadata, parentTable);
        }
    }

    /** ptep_set_wrprotect: clears W of the parent's entry, keeping A/D an MMU sets meanwhile; returns the new entry. */
    private long writeProtect(final long slot, final long entry)
    {
        assert PtLock.owner(metadata, slot >>> 12) == token : "write-protect without the PT lock";
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

    /** Backed pages the copies so far mapped a second time. */
    public long shared()
    {
        return shared;
    }

    /** Parent entries write-protected so far: when not zero, the parent's TLBs need a flush. */
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
