package io.mmemu.phys;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;
import static io.mmemu.phys.FrameDescriptor.FLAGS;
import static io.mmemu.phys.FrameDescriptor.LINES;
import static io.mmemu.phys.FrameDescriptor.MAPCOUNT;
import static io.mmemu.phys.FrameDescriptor.ORDER;
import static io.mmemu.phys.FrameDescriptor.REFCOUNT;
import static io.mmemu.phys.FrameDescriptor.offset;

/**
 * One hugetlb pool (Linux's {@code struct hstate}): huge pages of one size, 2 MiB (order 9) or
 * 1 GiB (order 18), taken from the buddy allocator when the pool is sized ({@link #resize},
 * nr_hugepages) and kept for the machine's life, whether free here or mapped. The counters are
 * /proc/meminfo's: HugePages_Total, _Free, _Rsvd (reserved by mappings, not yet faulted), _Surp
 * (always 0: no overcommit of the pool).
 * <p>
 * A page handed out is {@link #pageFrames} DATA frames each with its own descriptor, one
 * reference and one mapping (a leaf counts as one mapping of every subpage, as a THP's PMD leaf
 * does), all flagged {@link FrameFlags#HUGETLB}; hugetlb leaves are never split, so the subpages'
 * counts move together. When the last reference goes ({@link PhysicalMemory#releaseHugeData},
 * after the TLB flush) the page comes back here with its written lines cleared, so the pool holds
 * only zeroed pages and a fault maps one without clearing it.
 * <p>
 * On a tables-only machine the pool's pages are phantom frames ({@link PhantomFrames#claimRun}):
 * mapped and unmapped like the others, without bytes or counts.
 * <p>
 * Thread safety: the counters and the free stack are guarded by this object's monitor (Linux's
 * hugetlb_lock); descriptors are written outside it, by the one thread that took the page.
 * Invariant under the monitor: {@code reserved <= free <= total}.
 */
public final class HugetlbPool
{
    private final PhysicalMemory memory;
    private final int order;
    private final long frames;
    /** Head PFNs of the free pages, a stack. Guarded by this. */
    private long[] free = new long[0];
    private int freeCount;
    /** Pages in the pool, free or not. Guarded by this. */
    private long total;
    /** Free pages promised to mappings (hugetlb_reserve_pages) and not yet taken by their faults. Guarded by this. */
    private long reserved;
    /**
     * A tables-only machine's pool pages are phantom frames (no bytes, no descriptors), claimed
     * at sizing as one run {@code [phantomStart, phantomEnd)}: a pool page there is known by its
     * PFN, and has no counts (fork gives a child its own page, as for any phantom frame). Written
     * under this monitor at sizing, before any address space exists; read without it afterwards.
     */
    private volatile long phantomStart;
    private volatile long phantomEnd;

    HugetlbPool(final PhysicalMemory memory, final int order)
    {
        this.memory = memory;
        this.order = order;
        this.frames = 1L << order;
    }

    /** log2 of the page size in frames: 9 for 2 MiB, 18 for 1 GiB. */
    public int order()
    {
        return order;
    }

    /** The page size in bytes. */
    public long pageSize()
    {
        return frames << PhysicalMemory.PAGE_SHIFT;
    }

    /** Frames of one page. */
    public long pageFrames()
    {
        return frames;
    }

    /**
     * Grows the pool to {@code pages} (writing nr_hugepages): takes aligned blocks from the buddy
     * allocator, 2 MiB ones by order, 1 GiB ones as contiguous runs (alloc_contig_range), until
     * there are {@code pages} or memory has no more; never shrinks below what is handed out or
     * reserved. A tables-only machine's pool is one run of phantom frames. Returns the
     * pool's size afterwards, which may be less than asked, as the kernel's is.
     */
    public synchronized long resize(final long pages)
    {
        if (pages < 0)
        {
            throw new IllegalArgumentException("negative pool size " + pages);
        }
        while (total < pages && memory.phantom() != null)
        {
            final long head = memory.phantom().claimRun(frames, phantomEnd);
            if (head == NO_FRAME || (phantomEnd != 0 && head != phantomEnd))
            {
                if (head != NO_FRAME)
                {
                    releasePhantomRun(head);
                }
                break;
            }
            if (phantomEnd == 0)
            {
                phantomStart = head;
            }
            phantomEnd = head + frames;
            push(head);
            total++;
        }
        while (total < pages && memory.phantom() == null)
        {
            final long head = order <= BuddyAllocator.MAX_ORDER ? memory.buddy().allocate(order) :
                memory.buddy().allocateGigantic(order);
            if (head == NO_FRAME)
            {
                break;
            }
            final boolean zeroed = (memory.flags(head) & FrameFlags.ZEROED) != 0;
            for (long pfn = head; pfn < head + frames; pfn++)
            {
                if (!zeroed)
                {
                    memory.clearFrame(pfn);
                }
                FLAGS.set(memory.metadata(), offset(pfn), FrameFlags.HUGETLB);
            }
            ORDER.set(memory.metadata(), offset(head), order);
            push(head);
            total++;
        }
        while (total > pages && freeCount > reserved && memory.phantom() != null)
        {
            // phantom pages leave from the run's top only, so that the run stays one range
            if (free[freeCount - 1] != phantomEnd - frames)
            {
                break;
            }
            final long head = free[--freeCount];
            releasePhantomRun(head);
            phantomEnd = head;
            total--;
        }
        while (total > pages && freeCount > reserved && memory.phantom() == null)
        {
            final long head = free[--freeCount];
            for (long pfn = head; pfn < head + frames; pfn++)
            {
                FLAGS.set(memory.metadata(), offset(pfn), 0);
            }
            FLAGS.set(memory.metadata(), offset(head), FrameFlags.ZEROED);
            if (order <= BuddyAllocator.MAX_ORDER)
            {
                memory.buddy().free(head, order);
            }
            else
            {
                for (long b = head; b < head + frames; b += 1L << BuddyAllocator.MAX_ORDER)
                {
                    FLAGS.set(memory.metadata(), offset(b), FrameFlags.ZEROED);
                    memory.buddy().free(b, BuddyAllocator.MAX_ORDER);
                }
            }
            total--;
        }
        return total;
    }

    private void releasePhantomRun(final long head)
    {
        final long[] pfns = new long[(int)Math.min(frames, 1 << 16)];
        for (long from = head; from < head + frames; from += pfns.length)
        {
            for (int i = 0; i < pfns.length; i++)
            {
                pfns[i] = from + i;
            }
            memory.phantom().freeBatch(pfns, 0, pfns.length);
        }
    }

    /** Whether {@code pfn} is a frame of this tables-only pool's phantom pages. */
    boolean containsPhantom(final long pfn)
    {
        return pfn >= phantomStart && pfn < phantomEnd;
    }

    /**
     * hugetlb_acct_memory: promises {@code pages} free pages to a mapping. False, promising nothing,
     * when fewer than that are free and unpromised (mmap's ENOMEM).
     */
    public synchronized boolean reserve(final long pages)
    {
        if (pages < 0 || freeCount - reserved < pages)
        {
            return false;
        }
        reserved += pages;
        return true;
    }

    /** Gives back {@code pages} promised and never taken (a mapping's unused reservation). */
    public synchronized void unreserve(final long pages)
    {
        if (pages < 0 || pages > reserved)
        {
            throw new IllegalStateException("unreserving " + pages + " of " + reserved + " reserved hugetlb pages");
        }
        reserved -= pages;
    }

    /**
     * dequeue_hugetlb_folio: a free page for a fault, zero, its subpages DATA with one reference and
     * one mapping ({@link FrameFlags#ANON_EXCLUSIVE} too when {@code anonymous}: a private
     * mapping's page). With {@code useReserve} it takes one of the pages promised to the caller's
     * mapping; without, only a page nobody was promised. {@link BuddyAllocator#NO_FRAME} when there
     * is none (the fault's SIGBUS).
     */
    public long allocate(final boolean useReserve, final boolean anonymous)
    {
        final long head;
        synchronized (this)
        {
            if (freeCount == 0 || (!useReserve && freeCount <= reserved))
            {
                return NO_FRAME;
            }
            if (useReserve)
            {
                if (reserved == 0)
                {
                    throw new IllegalStateException("a reserved hugetlb page taken with nothing reserved");
                }
                reserved--;
            }
            head = free[--freeCount];
        }
        if (!memory.isBacked(head))
        {
            // phantom: no descriptors to set
            return head;
        }
        final int flags = FrameFlags.DATA | FrameFlags.HUGETLB | (anonymous ? FrameFlags.ANON_EXCLUSIVE : 0);
        for (long pfn = head; pfn < head + frames; pfn++)
        {
            final long off = offset(pfn);
            FLAGS.set(memory.metadata(), off, flags);
            REFCOUNT.set(memory.metadata(), off, 1);
            MAPCOUNT.set(memory.metadata(), off, 1);
            LINES.set(memory.metadata(), off, 0L);
        }
        return head;
    }

    /**
     * A page whose last reference went (every subpage's refcount is 0): its written bytes cleared,
     * back on the free stack. Called by {@link PhysicalMemory#releaseHugeData}.
     */
    void put(final long head)
    {
        for (long pfn = head; pfn < head + frames && memory.isBacked(head); pfn++)
        {
            memory.scrub(pfn);
            final long off = offset(pfn);
            FLAGS.set(memory.metadata(), off, FrameFlags.HUGETLB);
            MAPCOUNT.set(memory.metadata(), off, 0);
        }
        if (memory.isBacked(head))
        {
            ORDER.set(memory.metadata(), offset(head), order);
        }
        synchronized (this)
        {
            push(head);
        }
    }

    private void push(final long head)
    {
        if (freeCount == free.length)
        {
            free = java.util.Arrays.copyOf(free, Math.max(16, freeCount * 2));
        }
        free[freeCount++] = head;
    }

    /** HugePages_Total. */
    public synchronized long total()
    {
        return total;
    }

    /** HugePages_Free. */
    public synchronized long free()
    {
        return freeCount;
    }

    /** HugePages_Rsvd. */
    public synchronized long reserved()
    {
        return reserved;
    }

    /** HugePages_Surp: the pool never overcommits here. */
    public long surplus()
    {
        return 0;
    }

    /** Frames of the free pages (for the invariant checker's accounting: in use, mapped by nobody). */
    public synchronized long freeFrames()
    {
        return freeCount * frames;
    }
}
