package io.mmemu.vm;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongHashSet;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * What a file-backed VMA maps: Linux's inode with its page cache (struct address_space), from page
 * offset to frame. Two kinds:
 * <ul>
 *   <li>a <b>file</b>: a path, a device and inode number as /proc/PID/maps shows them, a size,
 *       and contents read from the real file at that path when a fault first needs a page (or
 *       {@linkplain #patternWord a documented pattern} when the path does not exist here);
 *       mmemu never writes a real file: pages written through MAP_SHARED live in this cache;</li>
 *   <li>the <b>shmem</b> object behind a shared anonymous mapping ({@code /dev/zero (deleted)},
 *       dev 00:01, a fresh inode per mmap), whose pages start zero.</li>
 * </ul>
 * Pages live here independently of page-table entries, so MADV_DONTNEED drops entries but a later
 * fault finds the same page. The cache holds one reference on each of its frames. Users counts the
 * VMAs mapping the object, maintained by the tree edits under the mmap write lock; the last one
 * gone releases the cached pages (clean file pages can be read again; shmem pages die with the
 * last mapping, as an unlinked shmem file does).
 * <p>
 * Reclaim ({@link Reclaimer}, {@link Rmap#reclaimFile}, MADV_PAGEOUT) drops file pages from the
 * cache: a page no entry maps any more, held only by the cache and the reclaim, is dropped; if it
 * is dirty ({@link io.mmemu.phys.FrameFlags#CACHE_DIRTY}: an entry mapping it had its D bit set
 * when it was cleared, i.e. it was written through a shared mapping) its bytes are first "written
 * back" to this object's store of written pages, since mmemu never writes a real file, and every
 * later read of the page takes them from there. A read of a page reclaim dropped is a major fault.
 * shmem pages are not reclaimed (Linux swaps them; mmemu leaves them in memory).
 * <p>
 * Thread safety: the cache methods synchronize on this object (Linux's i_pages lock); a fault
 * takes its reference on a cached page under it.
 */
public final class MappedFile
{
    /** The maps name of shared anonymous memory. */
    static final String SHMEM_NAME = "/dev/zero (deleted)";
    static final String DEV_ZERO = "/dev/zero";
    static final String DELETED = " (deleted)";
    /** shmem's anonymous superblock: dev 00:01. */
    static final int SHMEM_DEV = Dev.make(0, 1);
    /** The internal hugetlbfs mount's anonymous device (its minor depends on the boot; this is a typical one). */
    static final int HUGETLBFS_DEV = Dev.make(0, 0x10);
    private static final AtomicLong NEXT_SHMEM_INODE = new AtomicLong(1024);
    /** Source of {@link #mappingWord}s: every object its own, for the LRU pages of its cache. */
    private static final AtomicLong NEXT_MAPPING = new AtomicLong(1);
    /** What the descriptors of this object's cached pages name as their mapping ({@link Mappings}). */
    final long mappingWord = NEXT_MAPPING.getAndIncrement() << 1;
    /**
     * The objects whose pages may be on an LRU list, by mapping word, for reclaim, which starts from
     * a frame (a file is machine-independent, so the table is too): added at the first page cached,
     * removed when the object dies.
     */
    private static final ConcurrentHashMap<Long, MappedFile> CACHING = new ConcurrentHashMap<>();
    /** Whether this object is in {@link #CACHING}. Guarded by this. */
    private boolean caching;
    /**
     * i_mmap, per process: the address spaces that may map this object's pages — each one whose
     * tree a VMA of it entered, until it exits (an over-approximation, as the anon_vma family's).
     */
    private final Set<AddressSpace> mappers = ConcurrentHashMap.newKeySet();
    /**
     * The file's blocks as mmemu keeps them: the bytes of each page reclaim wrote back (it was
     * dirty), by page offset, read in again from here, not from the real file. Guarded by this.
     */
    private final Long2ObjectHashMap<byte[]> written = new Long2ObjectHashMap<>();
    /** Write-backs done (each a dirty page's bytes put in {@link #written}). Guarded by this. */
    private long writebacks;
    /** Page offsets reclaim dropped from the cache: their next read-in is a major fault. Guarded by this. */
    private final LongHashSet dropped = new LongHashSet();

    private final String path;
    private final int dev;
    private final long inode;
    private final long size;
    /** The real file to read pages from; null for shmem, or a path that does not exist here. */
    private final Path source;
    private final boolean shmem;
    private final boolean thpAligned;
    private final boolean mappable;
    /** /dev/zero, decided once: the fault path asks for every private file VMA. */
    private final boolean devZero;
    /** Page offset → frame; the map holds one reference on each frame. Guarded by this. */
    private final Long2LongHashMap pages = new Long2LongHashMap(NO_FRAME);
    /** VMAs and opens holding the object. Guarded by this. */
    private int users;
    /**
     * Hole punches: the low 16 bits count those in progress, the bits above count starts and ends
     * ({@link #INVALIDATION} each), so every begin and every end changes the word. Written under
     * this object's lock, read with no lock (volatile). A fault reads it before it looks a page up
     * and installs the page only if it is unchanged, re-checked under the PT lock (a
     * {@link io.mmemu.pgtable.PageTableEditor.LeafCondition}): a punch that started since either
     * makes the fault back out, or its zap (which takes that PT lock later) removes the entry.
     * So no entry maps a page the punch removed from the cache (Linux's invalidate_lock and
     * truncation re-check, in one word).
     */
    private volatile long invalidations;
    private static final long INVALIDATING_MASK = 0xFFFF;
    private static final long INVALIDATION = 1L << 16;
    /** The install condition of pages looked up here: no punch started or ended since {@code stamp}. */
    final PageTableEditor.LeafCondition unchanged = stamp -> invalidations == stamp;
    /** Unlinked: maps shows the path with " (deleted)" from then on. */
    private volatile boolean deleted;
    /** A file created empty here: pages read as zero, nothing to read in. */
    private boolean zeroFilled;
    /**
     * shmem_acct_size: the commitment a shmem object holds for its size (null: none, MAP_NORESERVE
     * or not shmem), given back when the object dies (shmem_unacct_size at eviction). Guarded by this.
     */
    private Commitment commitment;
    private long committedPages;
    /** The hugetlbfs side of a MAP_HUGETLB mapping's file, null for every other kind; set once, before publication. */
    private volatile HugetlbFile hugetlb;

    private MappedFile(final String path, final int dev, final long inode, final long size, final Path source,
        final boolean shmem, final boolean thpAligned, final boolean mappable)
    {
        if (size < 0)
        {
            throw new IllegalArgumentException("negative file size " + size + " for " + path);
        }
        this.path = path;
        this.dev = dev;
        this.inode = inode;
        this.size = size;
        this.source = source;
        this.shmem = shmem;
        this.thpAligned = thpAligned;
        this.mappable = mappable;
        this.devZero = !shmem && DEV_ZERO.equals(path);
    }

    /**
     * A new, empty regular file of {@code size} bytes (mkstemp + ftruncate: every page reads as
     * zero until written), with its own synthetic identity; unlinked, as will-it-scale's are.
     */
    public static MappedFile temporary(final long size)
    {
        final MappedFile file = new MappedFile("/tmp/mmemu.tmp", FileSystem.SYNTHETIC_DEV, NEXT_SHMEM_INODE.getAndIncrement(),
            size, null, false, true, true);
        file.zeroFilled = true;
        file.deleted = true;
        return file;
    }

    /**
     * Holds the file open (an fd, or the file system's own reference): its page cache stays, with
     * whatever was written through shared mappings, until every mapping and every holder is gone.
     */
    public void open()
    {
        addUser();
    }

    /** Drops a hold taken by {@link #open}; the last one gone releases the cached pages. */
    public void close(final PhysicalMemory memory)
    {
        final FrameCache cache = memory.newCache();
        try
        {
            removeUser(memory, cache);
        }
        finally
        {
            memory.retireCache(cache);
        }
    }

    /**
     * The shmem object of a new shared anonymous mapping of {@code sizePages} pages, holding
     * {@code committedPages} of {@code commitment} (already charged) until it dies.
     */
    static MappedFile shmem(final long sizePages, final Commitment commitment, final long committedPages)
    {
        final MappedFile file = new MappedFile(SHMEM_NAME, SHMEM_DEV, NEXT_SHMEM_INODE.getAndIncrement(), sizePages << 12,
            null, true, false, true);
        synchronized (file)
        {
            file.commitment = commitment;
            file.committedPages = committedPages;
        }
        return file;
    }

    /**
     * The file of a MAP_HUGETLB mapping ({@code /anon_hugepage (deleted)} on the internal hugetlbfs
     * mount, a fresh inode per mmap), whose pages and reservation {@code hugetlb} keeps.
     */
    static MappedFile hugetlb(final HugetlbFile hugetlb)
    {
        final MappedFile file = new MappedFile(HugetlbFile.NAME, HUGETLBFS_DEV, NEXT_SHMEM_INODE.getAndIncrement(), 0,
            null, false, false, true);
        file.hugetlb = hugetlb;
        return file;
    }

    /** The hugetlbfs side of this file, or null when it is not a MAP_HUGETLB mapping's. */
    HugetlbFile hugetlbFile()
    {
        return hugetlb;
    }

    /**
     * A file as a mapping sees it.
     *
     * @param path   the path maps shows
     * @param dev    device number ({@link Dev#make})
     * @param inode  inode number
     * @param size   file size in bytes: faults on pages wholly past it get SIGBUS
     * @param source the file to read page contents from, or null to use {@linkplain #patternWord the pattern}
     * @param thpAligned whether its filesystem places mappings for huge pages (thp_get_unmapped_area:
     *                   ext4, xfs, btrfs...; not overlayfs, 9p, virtiofs)
     */
    public static MappedFile of(final String path, final int dev, final long inode, final long size, final Path source,
        final boolean thpAligned)
    {
        return new MappedFile(path, dev, inode, size, source, false, thpAligned, true);
    }

    /** The path as maps shows it: with " (deleted)" once the file was unlinked. */
    public String path()
    {
        return deleted && !shmem ? path + DELETED : path;
    }

    /** Records that the file was unlinked (it lives on while mapped or open). */
    public void markDeleted()
    {
        deleted = true;
    }

    public int dev()
    {
        return dev;
    }

    public long inode()
    {
        return inode;
    }

    /** Size in bytes. */
    public long size()
    {
        return size;
    }

    boolean isShmem()
    {
        return shmem;
    }

    /** Whether the file can be mapped at all (f_op->mmap): a directory cannot (ENODEV). */
    boolean mappable()
    {
        return mappable;
    }

    /** A path naming something that has no mmap (a directory): every mmap of it is ENODEV. */
    public static MappedFile unmappable(final String path, final int dev, final long inode)
    {
        return new MappedFile(path, dev, inode, 0, null, false, false, false);
    }

    /** The character device /dev/zero: mapping it makes anonymous memory (mmap_zero). */
    boolean isDevZero()
    {
        return devZero;
    }

    /** Whether get_unmapped_area aligns this file's mappings for huge pages (see {@link #of}). */
    public boolean thpAligned()
    {
        return thpAligned;
    }

    /** The file's size in pages, rounded up: a fault at a page offset at or past it is SIGBUS. */
    long sizePages()
    {
        return (size + 4095) >>> 12;
    }

    /**
     * The 8-byte little-endian word at file offset {@code offset} (a multiple of 8) when the file's
     * contents are not available here: the offset itself, so every word says where it came from.
     */
    public static long patternWord(final long offset)
    {
        return offset;
    }

    /** The frame at {@code pgoff}, or {@link io.mmemu.phys.BuddyAllocator#NO_FRAME}. */
    synchronized long find(final long pgoff)
    {
        return pages.get(pgoff);
    }

    /**
     * The stamp a fault reads before it looks a page up, and {@link #unchanged} re-checks under
     * the PT lock when it installs the page: see {@link #invalidations}.
     */
    long invalidationStamp()
    {
        return invalidations;
    }

    /** Whether a stamp was read while a hole was being punched: the fault must not look pages up. */
    static boolean isInvalidating(final long stamp)
    {
        return (stamp & INVALIDATING_MASK) != 0;
    }

    /**
     * Starts removing pages (MADV_REMOVE's hole punch): from now until {@link #endInvalidate},
     * faults that looked a page up before back out at their install, and faults that start wait.
     */
    synchronized void beginInvalidate()
    {
        invalidations += INVALIDATION + 1;
    }

    synchronized void endInvalidate()
    {
        assert isInvalidating(invalidations) : "no invalidation in progress";
        invalidations += INVALIDATION - 1;
    }

    /**
     * The cached page at {@code pgoff}, mapped once more for the caller, or NO_FRAME when it is
     * not cached. The reference is taken under the lock: a concurrent {@link #remove} may drop
     * the cache's reference right after, and the caller's keeps the frame alive.
     */
    synchronized long mapCached(final PhysicalMemory memory, final long pgoff)
    {
        final long pfn = pages.get(pgoff);
        if (pfn != NO_FRAME)
        {
            memory.mapData(pfn);
        }
        return pfn;
    }

    /**
     * The cached page at {@code pgoff}, mapped once more for the caller (mapcount and refcount up),
     * reading it in first when it is not cached; NO_FRAME when memory ran out.
     */
    long mapPage(final PhysicalMemory memory, final FrameCache cache, final long pgoff, final Reclaimer reclaimer)
    {
        final long cached = mapCached(memory, pgoff);
        if (cached != NO_FRAME)
        {
            return cached;
        }
        // shmem is swap-backed: on the anonymous lists, as Linux keeps it
        final long fresh = memory.allocateCachePage(cache, mappingWord, pgoff, shmem);
        if (fresh == NO_FRAME)
        {
            return NO_FRAME;
        }
        final boolean zero = shmem || zeroFilled;
        if (readIn(memory, fresh, pgoff))
        {
            // a page reclaim dropped: read in again (filemap_fault's major fault)
            reclaimer.countMajorFault();
        }
        final long pfn = insertOrMap(memory, pgoff, fresh);
        if (pfn != fresh)
        {
            memory.releaseData(cache, fresh, zero);
        }
        return pfn;
    }

    /**
     * Fills a fresh frame with the file's bytes of page {@code pgoff}: the real file's, zero past its
     * end; or the pattern when the file cannot be read here.
     */
    private void readPage(final PhysicalMemory memory, final long pfn, final long pgoff)
    {
        memory.markDirty(pfn);
        readOriginal(memory.frames().asSlice(pfn << 12, PhysicalMemory.PAGE_SIZE), pgoff);
    }

    /**
     * Fills fresh frame {@code pfn} with page {@code pgoff} as the file holds it: the bytes last
     * written back to this object, or the file's own (none for shmem and new files, which read as
     * zero). Returns whether reclaim had dropped the page (its read-in is a major fault).
     */
    private boolean readIn(final PhysicalMemory memory, final long pfn, final long pgoff)
    {
        final boolean major;
        final byte[] bytes;
        synchronized (this)
        {
            major = dropped.remove(pgoff);
            // the written-back bytes stay: the page read in is clean, and may be dropped again unwritten
            bytes = written.get(pgoff);
        }
        if (bytes != null)
        {
            // an array in the store is never changed: a later write-back puts a new one
            memory.markDirty(pfn);
            MemorySegment.copy(MemorySegment.ofArray(bytes), 0, memory.frames(), pfn << 12, PhysicalMemory.PAGE_SIZE);
        }
        else if (!shmem && !zeroFilled)
        {
            readPage(memory, pfn, pgoff);
        }
        return major;
    }

    /** The file's bytes of page {@code pgoff} into {@code page} (zero-filled): what reading it gives. */
    private void readOriginal(final MemorySegment page, final long pgoff)
    {
        if (shmem || zeroFilled)
        {
            return;
        }
        final long offset = pgoff << 12;
        final long valid = Math.min(PhysicalMemory.PAGE_SIZE, size - offset);
        if (valid <= 0)
        {
            return;
        }
        if (source != null && Files.isReadable(source))
        {
            try (FileChannel channel = FileChannel.open(source, StandardOpenOption.READ))
            {
                final ByteBuffer buffer = page.asSlice(0, valid).asByteBuffer();
                while (buffer.hasRemaining() && channel.read(buffer, offset + buffer.position()) > 0)
                {
                    // read until the page is full or the real file ends (it may be shorter than recorded)
                }
                return;
            }
            catch (final IOException ex)
            {
                // fall through to the pattern: the file changed or vanished since it was stat'ed
            }
        }
        for (long word = 0; word < valid; word += 8)
        {
            page.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, word, patternWord(offset + word));
        }
    }

    /**
     * Inserts {@code fresh} (one reference: the caller's mapping) for {@code pgoff} and takes the
     * cache's own reference on it; or, when another fault inserted a page first, maps that one
     * for the caller instead. Both under the lock, so that no {@link #remove} can free the page
     * between its insertion (or lookup) and the reference. Returns the page the caller maps.
     */
    private synchronized long insertOrMap(final PhysicalMemory memory, final long pgoff, final long fresh)
    {
        final long existing = pages.get(pgoff);
        if (existing != NO_FRAME)
        {
            memory.mapData(existing);
            return existing;
        }
        pages.put(pgoff, fresh);
        memory.retainData(fresh);
        if (!caching)
        {
            caching = true;
            CACHING.put(mappingWord, this);
        }
        return fresh;
    }

    /** The object whose cached pages' descriptors name {@code word}, or null once it died. */
    static MappedFile caching(final long word)
    {
        return CACHING.get(word);
    }

    /** Records that {@code mm} may map this object's pages (a VMA of it entered its tree). */
    void addMapper(final AddressSpace mm)
    {
        if (mappers.add(mm))
        {
            mm.joinedFile(this);
        }
    }

    /** {@code mm} exited: it maps nothing any more. */
    void removeMapper(final AddressSpace mm)
    {
        mappers.remove(mm);
    }

    /** The address spaces that may map this object's pages: a weakly consistent snapshot. */
    AddressSpace[] mappers()
    {
        return mappers.toArray(new AddressSpace[0]);
    }

    /**
     * __remove_mapping: drops cached page {@code pfn} at {@code pgoff} if nothing but the cache and
     * the caller's reference (its isolation) holds it — no entry maps it, no fault or gather holds
     * it; if it is {@linkplain io.mmemu.phys.FrameFlags#CACHE_DIRTY dirty} (an entry that mapped it
     * had its D bit set when it was cleared) it is written back first (pageout), a clean page is
     * dropped as it is. With {@code writeBack} false (MADV_PAGEOUT: only kswapd writes file pages
     * in shrink_folio_list, direct reclaim leaves them to the flusher) a dirty page stays.
     * Under this object's lock, so no fault maps it meanwhile (they take their references here),
     * and with no entry mapping it no D bit can make it dirty meanwhile. True when dropped: the
     * cache's reference is gone, the caller's is the last.
     */
    synchronized boolean evict(final PhysicalMemory memory, final FrameCache cache, final long pgoff, final long pfn,
        final boolean writeBack)
    {
        if (pages.get(pgoff) != pfn || memory.mapcount(pfn) != 0 || memory.refcount(pfn) != 2 || shmem)
        {
            return false;
        }
        if (!writeBack && (memory.flags(pfn) & io.mmemu.phys.FrameFlags.CACHE_DIRTY) != 0)
        {
            return false;
        }
        if (memory.clearCacheDirty(pfn))
        {
            // written back to the object (mmemu's stand-in for the file's blocks; it never writes a real file)
            written.put(pgoff, memory.frames().asSlice(pfn << 12, PhysicalMemory.PAGE_SIZE)
                .toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            writebacks++;
        }
        dropped.add(pgoff);
        pages.remove(pgoff);
        memory.releaseData(cache, pfn, false);
        return true;
    }

    /**
     * MADV_PAGEOUT's {@link io.mmemu.pgtable.CacheEviction}: page {@code pfn} dropped from the
     * cache of the file its descriptor names, if it is clean and nothing else holds it.
     */
    static boolean pageoutEvict(final PhysicalMemory memory, final FrameCache cache, final long pfn)
    {
        final MappedFile file = caching(memory.mapping(pfn));
        return file != null && file.evict(memory, cache, memory.index(pfn), pfn, false);
    }

    /**
     * can_do_file_pageout: whether a process may page this file's cached pages out — it owns the
     * file or may write it. mmemu has no file owners; a file it reads from the host counts when the
     * host lets this JVM write it, a file that exists only here (the pattern, a new file) always.
     */
    boolean mayPageOut()
    {
        return !shmem && (source == null || !Files.exists(source) || Files.isWritable(source));
    }

    /**
     * The frames the page caches of the files and shmem objects {@code spaces}' VMAs map hold (for
     * the invariant checker: a cached page may be mapped nowhere). A cache no VMA of them maps is
     * not seen.
     */
    static long[] cachedFrames(final AddressSpace... spaces)
    {
        final Set<MappedFile> files = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (final AddressSpace space : spaces)
        {
            for (final Vma vma : space.tree().toArray())
            {
                if (vma.file != null && vma.file.inode().hugetlb == null)
                {
                    files.add(vma.file.inode());
                }
            }
        }
        final org.agrona.collections.LongArrayList frames = new org.agrona.collections.LongArrayList();
        for (final MappedFile file : files)
        {
            synchronized (file)
            {
                file.pages.forEach((pgoff, pfn) -> frames.addLong(pfn));
            }
        }
        return frames.toLongArray();
    }

    /** Pages whose written-back bytes the object holds (for tests and the report). */
    synchronized int writtenBack()
    {
        return written.size();
    }

    /** Write-backs of dirty pages to this object since it was made (nr_written, for this file). */
    synchronized long writebacks()
    {
        return writebacks;
    }

    /** Drops the cached pages of {@code [fromPgoff, toPgoff)} (MADV_REMOVE's hole punch). */
    synchronized void remove(final long fromPgoff, final long toPgoff, final PhysicalMemory memory, final FrameCache cache)
    {
        for (long p = fromPgoff; p < toPgoff; p++)
        {
            final long pfn = pages.remove(p);
            if (pfn != NO_FRAME)
            {
                memory.releaseData(cache, pfn, false);
            }
            // a punched hole reads as zero, whatever reclaim wrote back
            written.remove(p);
            dropped.remove(p);
        }
    }

    synchronized void addUser()
    {
        users++;
    }

    /** Drops one VMA's use; the last one releases every cached page through {@code memory}. */
    synchronized void removeUser(final PhysicalMemory memory, final FrameCache cache)
    {
        if (--users == 0)
        {
            pages.forEach((pgoff, pfn) -> memory.releaseData(cache, pfn, false));
            pages.clear();
            if (caching)
            {
                caching = false;
                CACHING.remove(mappingWord, this);
            }
            // what reclaim wrote back dies with the rest of the cache, as written pages always did here
            written.clear();
            dropped.clear();
            if (commitment != null)
            {
                commitment.unaccount(committedPages);
                commitment = null;
            }
            if (hugetlb != null)
            {
                hugetlb.die(memory, cache);
            }
        }
    }

    @Override
    public String toString()
    {
        return (shmem ? "shmem#" : path + "#") + inode;
    }
}
