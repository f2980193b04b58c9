package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.pgtable.PageTableEntry.LEVEL_PMD;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PTE;
import static io.mmemu.pgtable.PageWalker.ENTRY;
import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * The 2 MiB leaves of transparent huge pages (mm/huge_memory.c's PMD side), on one thread's
 * behalf through its {@link PageTableEditor}:
 * <ul>
 *   <li>{@link #install}: a fault's new PMD leaf, with a PT page deposited for it
 *       (pgtable_trans_huge_deposit), so that a later split never needs memory;</li>
 *   <li>{@link #split}: split_huge_pmd — the leaf replaced by its deposited PT page, filled with 512
 *       4 KiB entries over the same frames (each subpage already counts one mapping, so no count
 *       changes), or over the 4 KiB zero page for the huge zero page;</li>
 *   <li>{@link #clear}: zap_huge_pmd's part here — the leaf cleared and its deposit withdrawn.</li>
 * </ul>
 * Every change of a PMD leaf is made under the PT lock of the PMD table that holds it (Linux's
 * pmd_lock), by CAS: an MMU may set A/D on the leaf without the lock, and a walker may install a
 * PT page into an empty PMD entry by CAS without it. The deposit list is guarded by that lock too.
 */
public final class HugePmd
{
    public static final long SIZE = PageTableEntry.coverage(LEVEL_PMD);

    private final PageTableEditor editor;
    private final PhysicalMemory memory;
    private final MemorySegment frames;
    private final FrameCache cache;

    HugePmd(final PageTableEditor editor, final PhysicalMemory memory, final FrameCache cache)
    {
        this.editor = editor;
        this.memory = memory;
        this.frames = memory.frames();
        this.cache = cache;
    }

    /**
     * Installs {@code leaf} in the empty PMD entry at physical address {@code slot}, depositing a
     * fresh PT page for it. Returns {@link PageTableEditor#OK}, {@link PageTableEditor#NO_MEMORY}
     * (no PT page: nothing changed), or {@link PageTableEditor#LARGE_LEAF} when the entry was not
     * empty any more (another fault installed a leaf or a PT page first): the caller backs out.
     */
    public int install(final long slot, final long leaf)
    {
        final long pt = memory.allocateTable(cache, LEVEL_PTE);
        if (pt == NO_FRAME)
        {
            return PageTableEditor.NO_MEMORY;
        }
        final long table = slot >>> 12;
        editor.lockTable(table);
        try
        {
            // volatile CAS: a walker installs PT pages here by CAS without the lock; the release
            // publishes the zeroed (or huge zero) frames and their descriptors to walkers
            if ((boolean)ENTRY.compareAndSet(frames, slot, 0L, leaf))
            {
                memory.setDeposited(pt, memory.deposited(table));
                memory.setDeposited(table, pt);
                return PageTableEditor.OK;
            }
        }
        finally
        {
            editor.unlockTable(table);
        }
        memory.freeTable(cache, pt);
        return PageTableEditor.LARGE_LEAF;
    }

    /**
     * Splits the 2 MiB leaf at physical address {@code slot} into its deposited PT page. Returns
     * true if it split it, false if the entry was no longer a huge leaf (another CPU split or
     * zapped it first: the caller re-reads it). Stale TLB entries of the leaf stay correct: each
     * maps the same frame with the same rights as the entry that replaces it (D was copied).
     */
    public boolean split(final long slot)
    {
        final long table = slot >>> 12;
        editor.lockTable(table);
        try
        {
            long e = (long)ENTRY.getAcquire(frames, slot);
            if (!PageTableEntry.isHugePmd(e))
            {
                return false;
            }
            final long pt = withdraw(table);
            final long ptBase = pt << 12;
            // only A and D may change under the lock: the head is the same on every pass below
            final long head = PageTableEntry.leafAddress(e, LEVEL_PMD) >>> 12;
            if (!memory.isHugeZeroPage(head) && memory.isBacked(head) && !memory.isHugetlb(head))
            {
                // mmemu splits the folio with its leaf: its pages become LRU entries of their own.
                // Before the PT page is published, as __split_huge_pmd_locked fills the PTEs and
                // publishes them last (pmd_populate): until the CAS below, the leaf still holds a
                // reference on every subpage (split_folio's rule: a folio is split only under a
                // reference), and nobody can reach a subpage's PTE to zap or unmap it. After the
                // CAS a zap of a PTE (under the PT page's lock only, not this one) may free the
                // subpage at once — before it had its LRU bits it would be freed as "on no list"
                // (freeUnlisted), and a split after that would link a free frame.
                memory.lru().splitFolio(head, PageTableEntry.ENTRIES);
            }
            while (true)
            {
                if (memory.isHugeZeroPage(head))
                {
                    // __split_huge_zero_page_pmd: each 4 KiB part maps the 4 KiB zero page
                    final long zero = PageTableEntry.subpageLeaf(e, memory.zeroPagePfn());
                    for (int i = 0; i < PageTableEntry.ENTRIES; i++)
                    {
                        ENTRY.set(frames, ptBase + ((long)i << 3), zero);
                    }
                }
                else
                {
                    for (int i = 0; i < PageTableEntry.ENTRIES; i++)
                    {
                        ENTRY.set(frames, ptBase + ((long)i << 3), PageTableEntry.subpageLeaf(e, head + i));
                    }
                }
                // volatile CAS: publishes the PT page's entries (release); fails only if an MMU set
                // A or D on the leaf meanwhile, and then the entries are written again with them
                final long witness = (long)ENTRY.compareAndExchange(frames, slot, e, PageTableEntry.table(pt));
                if (witness == e)
                {
                    return true;
                }
                e = witness;
            }
        }
        finally
        {
            editor.unlockTable(table);
        }
    }

    /**
     * Clears the huge leaf at {@code slot} (atomic exchange: A/D set concurrently travel with the
     * old value) and withdraws its deposit into {@code tlb}. Returns the old entry, or the entry
     * found (0, or a table pointer) if it was no longer a huge leaf — then nothing changed.
     */
    public long clear(final long slot, final MmuGather tlb)
    {
        final long table = slot >>> 12;
        editor.lockTable(table);
        try
        {
            final long e = (long)ENTRY.getAcquire(frames, slot);
            if (!PageTableEntry.isHugePmd(e))
            {
                return e;
            }
            final long old = (long)ENTRY.getAndSet(frames, slot, 0L);
            // the deposit was never reachable by a walker, but it goes with the gather all the same
            tlb.addTable(withdraw(table));
            return old;
        }
        finally
        {
            editor.unlockTable(table);
        }
    }

    /**
     * move_huge_pmd (mremap): moves the huge leaf at PMD slot {@code from}, with its deposited PT
     * page, to the empty PMD slot {@code to}, marked soft-dirty when {@code softDirty}. One PMD lock
     * at a time: the leaf is taken from its table (atomic exchange: A/D travel with it), then put in
     * the other. Returns false, having changed nothing, when the source is no longer a huge leaf or
     * the destination is not empty. The caller owns both ranges and flushes the source's.
     */
    public boolean move(final long from, final long to, final boolean softDirty)
    {
        if ((long)ENTRY.getAcquire(frames, to) != 0L)
        {
            return false;
        }
        final long fromTable = from >>> 12;
        final long leaf;
        final long pt;
        editor.lockTable(fromTable);
        try
        {
            if (!PageTableEntry.isHugePmd((long)ENTRY.getAcquire(frames, from)))
            {
                return false;
            }
            leaf = (long)ENTRY.getAndSet(frames, from, 0L);
            pt = withdraw(fromTable);
        }
        finally
        {
            editor.unlockTable(fromTable);
        }
        final long moved = softDirty ? leaf | PageTableEntry.SOFT_DIRTY : leaf;
        if (!put(to, moved, pt))
        {
            // the destination was taken meanwhile, which an owner of both ranges rules out: put it back
            if (!put(from, leaf, pt))
            {
                throw new IllegalStateException("huge leaf 0x" + Long.toHexString(leaf) + " lost between two PMD slots");
            }
            return false;
        }
        return true;
    }

    /**
     * The first step of a collapse (pmdp_collapse_flush's clear): unlinks the PT page the PMD entry at
     * {@code slot} points at, so no walk reaches it from here on. Returns its PFN, or 0 when the entry
     * is not a table pointer. The caller excludes faults on the range, flushes it, and then owns the
     * PT page, which it may hand to {@link #installWithDeposit} once empty.
     */
    public long detachTable(final long slot)
    {
        final long table = slot >>> 12;
        editor.lockTable(table);
        try
        {
            final long e = (long)ENTRY.getAcquire(frames, slot);
            if (!PageTableEntry.isPresent(e) || (e & PageTableEntry.PAGE_SIZE) != 0)
            {
                return NO_FRAME;
            }
            // CAS: walkers change a PMD entry only from empty, but the rule for upper entries is CAS
            return (boolean)ENTRY.compareAndSet(frames, slot, e, 0L) ? PageTableEntry.pfn(e) : NO_FRAME;
        }
        finally
        {
            editor.unlockTable(table);
        }
    }

    /**
     * Installs {@code leaf} at the empty PMD slot {@code slot} with the empty PT page {@code pt}
     * deposited for it (a collapse's new leaf over its old PT page); false if the entry is not empty.
     */
    public boolean installWithDeposit(final long slot, final long leaf, final long pt)
    {
        return put(slot, leaf, pt);
    }

    /** Installs {@code leaf} at the empty PMD slot {@code slot} with {@code pt} deposited; false if not empty. */
    private boolean put(final long slot, final long leaf, final long pt)
    {
        final long table = slot >>> 12;
        editor.lockTable(table);
        try
        {
            // volatile CAS: walkers install PT pages here by CAS without the lock
            if (!(boolean)ENTRY.compareAndSet(frames, slot, 0L, leaf))
            {
                return false;
            }
            memory.setDeposited(pt, memory.deposited(table));
            memory.setDeposited(table, pt);
            return true;
        }
        finally
        {
            editor.unlockTable(table);
        }
    }

    /**
     * Changes the huge leaf at {@code slot} from what it is to {@code change.apply(it)}, under the
     * lock, by CAS (retried when an MMU set A/D meanwhile). Returns the old entry (equal to the new
     * one when nothing changed), or the entry found if it was no longer a huge leaf.
     */
    long update(final long slot, final LeafChange change)
    {
        final long table = slot >>> 12;
        editor.lockTable(table);
        try
        {
            long e = (long)ENTRY.getAcquire(frames, slot);
            while (PageTableEntry.isHugePmd(e))
            {
                final long updated = change.apply(e);
                if (updated == e)
                {
                    return e;
                }
                // CAS: an MMU may set A/D concurrently without the lock
                final long witness = (long)ENTRY.compareAndExchange(frames, slot, e, updated);
                if (witness == e)
                {
                    return e;
                }
                e = witness;
            }
            return e;
        }
        finally
        {
            editor.unlockTable(table);
        }
    }

    /** Whether the entry at {@code slot}, of {@code level}, is a hugetlb page's leaf (never split: see {@link HugetlbLeaf}). */
    boolean isHugetlbLeaf(final long slot, final int level)
    {
        final long e = (long)ENTRY.getAcquire(frames, slot);
        return PageTableEntry.isLargeLeaf(e, level) && memory.isHugetlb(PageTableEntry.leafAddress(e, level) >>> 12);
    }

    /** A rewrite of a huge leaf's bits (a visitor's; final classes, so the call stays monomorphic per visitor). */
    interface LeafChange
    {
        long apply(long leaf);
    }

    /** Takes a deposited PT page off the PMD table {@code table}'s list. Caller holds its lock. */
    private long withdraw(final long table)
    {
        assert editor.holdsLock(table) : "deposit list without the PMD table's lock";
        final long pt = memory.deposited(table);
        if (pt == NO_FRAME)
        {
            throw new IllegalStateException("huge leaf in PMD table " + table + " without a deposited PT page");
        }
        memory.setDeposited(table, memory.deposited(pt));
        memory.setDeposited(pt, NO_FRAME);
        return pt;
    }
}
