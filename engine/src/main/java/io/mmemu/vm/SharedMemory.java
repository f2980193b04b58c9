package io.mmemu.vm;

import io.mmemu.phys.PhysicalMemory;
import org.agrona.collections.Long2LongHashMap;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * The object behind a shared anonymous mapping: Linux's shmem file ({@code /dev/zero (deleted)}),
 * a page cache from page offset to frame. Pages live here independently of page-table entries, so
 * MADV_DONTNEED of a shared mapping drops the entries but a later fault finds the same data.
 * The cache holds one reference on each of its frames.
 * <p>
 * Thread safety: all methods synchronize on this object (Linux's i_pages lock). Users counts the
 * VMAs that map it, maintained by the tree edits under the mmap write lock; the last one gone
 * releases the pages.
 */
final class SharedMemory
{
    static final String MAPS_NAME = "/dev/zero (deleted)";
    /** shmem's anonymous superblock: dev 00:01. */
    static final int DEV = 0x0001;
    private static long nextInode = 1024;

    final long inode;
    /** The shmem file's size in pages (the mapping's length at mmap): faults past it get SIGBUS. */
    final long sizePages;
    private final Long2LongHashMap pages = new Long2LongHashMap(NO_FRAME);
    private int users;

    SharedMemory(final long sizePages)
    {
        this.sizePages = sizePages;
        synchronized (SharedMemory.class)
        {
            inode = nextInode++;
        }
    }

    /** The frame at {@code pgoff}, or {@link io.mmemu.phys.BuddyAllocator#NO_FRAME}. */
    synchronized long find(final long pgoff)
    {
        return pages.get(pgoff);
    }

    /**
     * Inserts a frame for {@code pgoff} unless one is there; returns the frame in the cache
     * afterwards (the caller releases its own if it lost).
     */
    synchronized long insert(final long pgoff, final long pfn)
    {
        final long existing = pages.get(pgoff);
        if (existing != NO_FRAME)
        {
            return existing;
        }
        pages.put(pgoff, pfn);
        return pfn;
    }

    /** Drops the cached pages of {@code [fromPgoff, toPgoff)} (MADV_REMOVE's hole punch). */
    synchronized void remove(final long fromPgoff, final long toPgoff, final PhysicalMemory memory,
        final io.mmemu.phys.FrameCache cache)
    {
        for (long p = fromPgoff; p < toPgoff; p++)
        {
            final long pfn = pages.remove(p);
            if (pfn != NO_FRAME)
            {
                memory.releaseData(cache, pfn, false);
            }
        }
    }

    synchronized void addUser()
    {
        users++;
    }

    /** Drops one VMA's use; the last one releases every cached page through {@code memory}. */
    synchronized void removeUser(final PhysicalMemory memory, final io.mmemu.phys.FrameCache cache)
    {
        if (--users == 0)
        {
            pages.forEach((pgoff, pfn) -> memory.releaseData(cache, pfn, false));
            pages.clear();
        }
    }

    synchronized int cachedPages()
    {
        return pages.size();
    }
}
