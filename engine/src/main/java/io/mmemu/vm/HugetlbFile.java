package io.mmemu.vm;

import java.util.BitSet;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.HugetlbPool;
import io.mmemu.phys.PhysicalMemory;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.LongHashSet;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * The hugetlbfs inode behind one MAP_HUGETLB mapping (hugetlb_file_setup's
 * {@code /anon_hugepage}): its pool (hstate), its reservation, and for a shared mapping its page
 * cache of huge pages. A {@link MappedFile} of the hugetlb kind carries it, so the VMA has a file
 * as Linux's has, never merges with a neighbour, and the last VMA gone {@linkplain #die ends} it.
 * Indices are in huge pages from the file's start ({@code vma_hugecache_offset}).
 * <p>
 * Reservations (hugetlb_reserve_pages), in pool pages, taken at mmap unless MAP_NORESERVE:
 * <ul>
 *   <li>shared: the whole file; each page put in the cache uses one; what is left goes back when
 *       the file dies (hugetlbfs_evict_inode);</li>
 *   <li>private: the whole mapping, owned by the address space that mapped it (HPAGE_RESV_OWNER;
 *       a forked child owns none, so its faults and copies take unreserved pages); a fault uses the
 *       reservation of its index once ({@link #consumed}, Linux's resv_map for private mappings);
 *       MADV_DONTNEED of the owner's page gives its index the reservation back
 *       ({@link #restoreReservation}); what is unused in a range the owner
 *       unmaps goes back then ({@link #unmapped}), the rest when the file dies; an mremap move keeps
 *       them.</li>
 * </ul>
 * Faults on one index are serialised ({@link #beginFault}, hugetlb_fault_mutex): the second
 * waits and then finds the first's page, so a reservation is never used twice nor a page lost.
 * <p>
 * On a tables-only machine (phantom pool pages, no counts) a shared file caches nothing: each of
 * its faults takes a page of its own.
 * <p>
 * Thread safety: everything mutable is guarded by this object's monitor; pool calls are made
 * outside it except the reservation's (lock order: this, then the pool's monitor).
 */
final class HugetlbFile
{
    /** The maps name of a MAP_HUGETLB anonymous mapping. */
    static final String NAME = "/anon_hugepage (deleted)";

    final HugetlbPool pool;
    /** PMD for 2 MiB pages, PUD for 1 GiB. */
    final int level;
    final long pageSize;
    final boolean shared;
    /** The address space whose private mapping owns the reservation; null for a shared file. */
    private final AddressSpace owner;
    /** Reserved pages not yet used or given back. Guarded by this. */
    private long reservedLeft;
    /** Indices whose reservation is used or given back (Linux's resv_map, inverted). Guarded by this. */
    private final BitSet consumed;
    /** Shared: index → head PFN of the cached page; the cache holds one reference on each subpage. Guarded by this. */
    private final Long2LongHashMap pages;
    /** Indices with a fault in progress. Guarded by this. */
    private final LongHashSet faulting = new LongHashSet();
    private boolean dead;

    private HugetlbFile(final HugetlbPool pool, final boolean shared, final AddressSpace owner, final long reserved,
        final long pageCount)
    {
        this.pool = pool;
        this.level = pool.order() == PhysicalMemory.HUGE_ORDER ? PageTableEntry.LEVEL_PMD : PageTableEntry.LEVEL_PUD;
        this.pageSize = pool.pageSize();
        this.shared = shared;
        this.owner = owner;
        this.reservedLeft = reserved;
        this.consumed = new BitSet((int)Math.min(Integer.MAX_VALUE, pageCount));
        this.pages = shared ? new Long2LongHashMap(NO_FRAME) : null;
    }

    /**
     * A new file of {@code length} bytes (a multiple of the pool's page size) for a mapping by
     * {@code mm}, reserving every page unless {@code noReserve}; null when the pool cannot cover
     * the reservation (mmap's ENOMEM).
     */
    static HugetlbFile create(final HugetlbPool pool, final boolean shared, final AddressSpace mm, final long length,
        final boolean noReserve)
    {
        final long count = length / pool.pageSize();
        final long reserve = noReserve ? 0 : count;
        if (!pool.reserve(reserve))
        {
            return null;
        }
        return new HugetlbFile(pool, shared, shared ? null : mm, reserve, count);
    }

    /** The file's index of the huge page mapping {@code va} in {@code vma}. */
    long index(final Vma vma, final long va)
    {
        return ((vma.pgoff << 12) + (va - vma.start)) / pageSize;
    }

    /**
     * Starts a fault at {@code index}: false when another fault there is in progress (the caller
     * waits for {@link #faulting(long)} to end, then retries the access and finds its page).
     */
    synchronized boolean beginFault(final long index)
    {
        return faulting.add(index);
    }

    synchronized void endFault(final long index)
    {
        faulting.remove(index);
    }

    synchronized boolean faulting(final long index)
    {
        return faulting.contains(index);
    }

    /**
     * A private mapping's new page for {@code index}, faulted by {@code mm}: the owner's first fault
     * there uses the reservation; any other fault takes an unreserved page. NO_FRAME: none (SIGBUS).
     */
    long allocatePrivate(final AddressSpace mm, final long index)
    {
        final boolean useReserve;
        synchronized (this)
        {
            useReserve = mm == owner && index < Integer.MAX_VALUE && !consumed.get((int)index) && reservedLeft > 0;
            if (useReserve)
            {
                consumed.set((int)index);
                reservedLeft--;
            }
        }
        final long head = pool.allocate(useReserve, true);
        if (head == NO_FRAME && useReserve)
        {
            throw new IllegalStateException("a reserved hugetlb page was not in the pool");
        }
        return head;
    }

    /**
     * A shared mapping's page at {@code index}, with one more reference and mapping for the
     * caller's leaf: the cached one, or a new one put in the cache (using a reservation while any is
     * left). NO_FRAME when the pool has none for it (SIGBUS).
     */
    synchronized long mapShared(final PhysicalMemory memory, final long index)
    {
        final long cached = pages.get(index);
        final long n = pool.pageFrames();
        if (cached != NO_FRAME)
        {
            for (long pfn = cached; pfn < cached + n; pfn++)
            {
                memory.mapData(pfn);
            }
            return cached;
        }
        final boolean useReserve = reservedLeft > 0 && index < Integer.MAX_VALUE && !consumed.get((int)index);
        final long head = pool.allocate(useReserve, false);
        if (head == NO_FRAME)
        {
            return NO_FRAME;
        }
        if (useReserve)
        {
            consumed.set((int)index);
            reservedLeft--;
        }
        if (!memory.isBacked(head))
        {
            // a tables-only pool's page has no counts for a cache's reference: not cached, so each
            // fault of a shared mapping there gets a page of its own (no bytes to share anyway)
            return head;
        }
        for (long pfn = head; pfn < head + n; pfn++)
        {
            // the cache's own reference, beside the caller's mapping
            memory.retainData(pfn);
        }
        pages.put(index, head);
        return head;
    }

    /**
     * The owner's page at {@code index} was zapped (MADV_DONTNEED): the index gets its reservation
     * back if the pool still has a free page to promise.
     */
    void restoreReservation(final AddressSpace mm, final long index)
    {
        if (shared || mm != owner || index >= Integer.MAX_VALUE)
        {
            return;
        }
        synchronized (this)
        {
            if (dead || !consumed.get((int)index) || !pool.reserve(1))
            {
                return;
            }
            consumed.clear((int)index);
            reservedLeft++;
        }
    }

    /**
     * The owner's VMA over indices {@code [from, to)} is gone (munmap, MAP_FIXED over it, a move):
     * the reservations of those indices not yet used go back to the pool (hugetlb_vm_op_close).
     */
    void unmapped(final AddressSpace mm, final long from, final long to)
    {
        if (shared || mm != owner || from >= to)
        {
            return;
        }
        final long back;
        synchronized (this)
        {
            final int lo = (int)Math.min(Integer.MAX_VALUE, from);
            final int hi = (int)Math.min(Integer.MAX_VALUE, to);
            back = Math.min(reservedLeft, (hi - lo) - consumed.get(lo, hi).cardinality());
            consumed.set(lo, hi);
            reservedLeft -= back;
        }
        pool.unreserve(back);
    }

    /**
     * Drops the cached pages of indices {@code [from, to)} (a hole punch, remove_inode_hugepages):
     * each loses the cache's reference, and goes back to the pool once no leaf maps it. Its index
     * keeps no reservation (hugetlb_unreserve_pages per removed page: the reservation it used is
     * gone with it), so a later fault there takes an unreserved page; an index never faulted keeps
     * its reservation, as on Linux.
     */
    synchronized void remove(final PhysicalMemory memory, final FrameCache cache, final long from, final long to)
    {
        for (long index = from; index < to && pages != null; index++)
        {
            final long head = pages.remove(index);
            if (head != NO_FRAME)
            {
                memory.releaseHugeData(cache, head, false);
            }
        }
    }

    /**
     * The last VMA and holder are gone: the cached pages lose the cache's reference (each back to
     * the pool once no leaf maps it) and the reservations left go back.
     */
    void die(final PhysicalMemory memory, final FrameCache cache)
    {
        final long back;
        synchronized (this)
        {
            if (dead)
            {
                return;
            }
            dead = true;
            if (pages != null)
            {
                pages.forEach((index, head) -> memory.releaseHugeData(cache, head, false));
                pages.clear();
            }
            back = reservedLeft;
            reservedLeft = 0;
        }
        pool.unreserve(back);
    }

    /** The head PFNs of the pages the shared hugetlb files of {@code spaces}' VMAs cache (for the invariant checker). */
    static long[] cachedHeads(final AddressSpace... spaces)
    {
        final java.util.Set<HugetlbFile> files = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (final AddressSpace space : spaces)
        {
            for (final Vma vma : space.tree().toArray())
            {
                final HugetlbFile file = Hugetlb.of(vma);
                if (file != null && file.shared)
                {
                    files.add(file);
                }
            }
        }
        final org.agrona.collections.LongArrayList heads = new org.agrona.collections.LongArrayList();
        for (final HugetlbFile file : files)
        {
            synchronized (file)
            {
                file.pages.forEach((index, head) -> heads.addLong(head));
            }
        }
        return heads.toLongArray();
    }
}
