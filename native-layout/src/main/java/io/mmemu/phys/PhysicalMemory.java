package io.mmemu.phys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;
import static io.mmemu.phys.FrameDescriptor.DEPOSIT;
import static io.mmemu.phys.FrameDescriptor.FLAGS;
import static io.mmemu.phys.FrameDescriptor.LINES;
import static io.mmemu.phys.FrameDescriptor.LRU_FLAGS;
import static io.mmemu.phys.FrameDescriptor.MAPCOUNT;
import static io.mmemu.phys.FrameDescriptor.ORDER;
import static io.mmemu.phys.FrameDescriptor.PTLOCK;
import static io.mmemu.phys.FrameDescriptor.REFCOUNT;
import static io.mmemu.phys.FrameDescriptor.offset;

/**
 * The machine's emulated physical memory: 4 KiB frames addressed by physical address (PFN × 4096),
 * their descriptors, the allocators, and the shared zero page.
 * <p>
 * The PFN space is {@code [0, totalFrames)}. Frames {@code [0, backedFrames)} have bytes in
 * {@link #frames()} and descriptors in {@link #metadata()}; PFN 0 is reserved so that physical
 * address 0 means "none". With {@link Backing#TABLES_ONLY} the rest, {@code [backedFrames,
 * totalFrames)}, are phantom data frames. Page tables and the zero page are always backed.
 * <p>
 * The frame life cycle is owned here: {@code allocate*} hands a frame out in a defined state
 * (zeroed, descriptor initialised), {@code free*}/{@link #releaseData} take it back. None of them
 * throws or allocates on the heap; exhaustion is {@link BuddyAllocator#NO_FRAME}.
 */
public final class PhysicalMemory implements AutoCloseable
{
    public static final int PAGE_SHIFT = 12;
    public static final long PAGE_SIZE = 1L << PAGE_SHIFT;
    /** Order of a transparent huge page (a PMD leaf's block): 2 MiB. */
    public static final int HUGE_ORDER = 9;
    public static final int HUGE_FRAMES = 1 << HUGE_ORDER;
    /** Order of a 1 GiB page (a PUD leaf's block): hugetlb's gigantic pages. */
    public static final int GIGANTIC_ORDER = 18;
    private static final VarHandle HUGE_ZERO;

    static
    {
        try
        {
            HUGE_ZERO = MethodHandles.lookup().findVarHandle(PhysicalMemory.class, "hugeZeroPage", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }
    /** Default backed share of a tables-only machine: 1/256 of its frames, enough for the tables of all of them. */
    private static final int TABLES_ONLY_BACKED_SHARE = 256;
    private static final long MIN_BACKED_FRAMES = 16_384;
    /**
     * A cache's {@link FrameReserve} holds at most this share of its kind of frames (backed or
     * phantom), and at most {@link #MAX_RESERVE_FRAMES}: 128 MiB, what one thread of a
     * munmap-then-fault loop cycles through at will-it-scale's sizes. Frames held there are never
     * lost: an allocation that finds the allocator empty drains every reserve first.
     */
    private static final int RESERVE_SHARE = 64;
    /** Backed frames at most: every backed PFN fits an unsigned 32-bit LRU link ({@link FrameDescriptor#LRU_NEXT}). */
    static final long MAX_BACKED_FRAMES = 1L << 32;
    private static final int MAX_RESERVE_FRAMES = 32_768;

    private final Arena arena = Arena.ofShared();
    private final Backing backing;
    private final long totalFrames;
    private final long backedFrames;
    private final MemorySegment frames;
    private final MemorySegment metadata;
    /** The {@link FrameMapping} array: each backed data page's mapping and index, for the reverse map. */
    private final MemorySegment mappings;
    private final MemorySegment zeroSource;
    /** {@link Kasan}'s freed-frame pattern, a page of {@link Kasan#POISON} (empty when the mode is off). */
    private final MemorySegment poisonSource;
    /** Use-after-free reports ({@link Kasan}): how many, and the first one's text. */
    private final AtomicLong useAfterFrees = new AtomicLong();
    private final AtomicReference<String> firstUseAfterFree = new AtomicReference<>();
    /** Whether freed data frames are poisoned: with {@link Kasan} on, unless {@link #disablePoisoning}. */
    private boolean poisons = Kasan.ENABLED;
    private final BuddyAllocator buddy;
    /** The LRU lists of the data pages address spaces map (backed frames only: phantom frames are never reclaimed). */
    private final LruLists lru;
    private final PhantomFrames phantom;
    private final long zeroPagePfn;
    /** Head PFN of the huge zero page, NO_FRAME until first used; set once by CAS ({@link #HUGE_ZERO}). */
    @SuppressWarnings("unused")
    private volatile long hugeZeroPage;
    /** The hugetlb pools, 2 MiB and 1 GiB (hstates), empty until sized. */
    private final HugetlbPool hugetlb2m = new HugetlbPool(this, HUGE_ORDER);
    private final HugetlbPool hugetlb1g = new HugetlbPool(this, GIGANTIC_ORDER);
    private final CopyOnWriteArrayList<FrameCache> caches = new CopyOnWriteArrayList<>();
    /** Counters folded in from retired caches, so totals survive the threads that made them. */
    private volatile long retiredTables;
    private volatile long retiredData;
    /** The machine's swap area, or null: set once, before any address space uses the memory. */
    private SwapArea swap;
    /** Below this many free frames in the buddy allocator {@link #lowMemory} runs (kswapd's wake-up). */
    private volatile long lowWatermark;
    private volatile Runnable lowMemory;

    private PhysicalMemory(final long totalFrames, final long backedFrames, final Backing backing)
    {
        this.backing = backing;
        this.totalFrames = totalFrames;
        this.backedFrames = backedFrames;
        this.frames = NativeMemory.reserve(backedFrames << PAGE_SHIFT, arena);
        this.metadata = NativeMemory.reserve(pageAlign(backedFrames * FrameDescriptor.SIZE), arena);
        this.mappings = NativeMemory.reserve(pageAlign(backedFrames * FrameMapping.SIZE), arena);
        this.zeroSource = arena.allocate(PAGE_SIZE, PAGE_SIZE);
        this.poisonSource = Kasan.ENABLED ? arena.allocate(PAGE_SIZE, PAGE_SIZE).fill(Kasan.POISON) : zeroSource;
        FLAGS.set(metadata, offset(0), FrameFlags.RESERVED);
        this.buddy = new BuddyAllocator(metadata, 1, backedFrames);
        this.lru = new LruLists(metadata, mappings);
        final long phantomFrames = totalFrames - backedFrames;
        this.phantom = phantomFrames > 0 ?
            new PhantomFrames(NativeMemory.reserve(PhantomFrames.bitmapBytes(phantomFrames), arena),
                backedFrames, phantomFrames) :
            null;
        this.zeroPagePfn = buddy.allocate(0);
        if (zeroPagePfn == NO_FRAME)
        {
            throw new IllegalArgumentException("physical memory too small for the zero page");
        }
        FLAGS.set(metadata, offset(zeroPagePfn), FrameFlags.ZERO_PAGE | FrameFlags.ZEROED);
    }

    /** A machine with {@code bytes} of physical memory, every frame backed. */
    public static PhysicalMemory create(final long bytes)
    {
        return create(bytes, Backing.FULL);
    }

    /**
     * A machine with {@code bytes} of physical memory. With {@link Backing#TABLES_ONLY} a 1/256
     * share (at least 64 MiB) is backed for page tables and the rest is phantom data frames.
     */
    public static PhysicalMemory create(final long bytes, final Backing backing)
    {
        final long total = bytes >>> PAGE_SHIFT;
        final long backed = backing == Backing.FULL ? total :
            Math.min(total, Math.max(MIN_BACKED_FRAMES, total / TABLES_ONLY_BACKED_SHARE));
        return create(bytes, backing, backed << PAGE_SHIFT);
    }

    /** A machine with {@code bytes} of physical memory of which {@code backedBytes} are backed. */
    public static PhysicalMemory create(final long bytes, final Backing backing, final long backedBytes)
    {
        if (bytes < 16 * PAGE_SIZE || (bytes & (PAGE_SIZE - 1)) != 0)
        {
            throw new IllegalArgumentException("physical memory must be a multiple of 4 KiB and at least 64 KiB: " + bytes);
        }
        if (bytes >>> PAGE_SHIFT > (1L << 40))
        {
            throw new IllegalArgumentException("physical memory beyond the 52-bit physical address space: " + bytes);
        }
        final long total = bytes >>> PAGE_SHIFT;
        final long backed = backing == Backing.FULL ? total : backedBytes >>> PAGE_SHIFT;
        if (backed < 16 || backed > total)
        {
            throw new IllegalArgumentException("backed part must be between 64 KiB and the whole: " + backedBytes);
        }
        if (backed > MAX_BACKED_FRAMES)
        {
            throw new IllegalArgumentException("backed part beyond 16 TiB (the LRU links are 32-bit PFNs): " + (backed << PAGE_SHIFT));
        }
        return new PhysicalMemory(total, backed, backing);
    }

    /**
     * Backs every frame and frame descriptor with host memory now (see {@link NativeMemory#populate}):
     * for a benchmark, before its measurement, so that the host's first touch of emulated memory
     * (on a virtual machine a hypervisor fault too, several times a plain page clear) is not timed
     * as emulated work. Before any other use of the machine.
     *
     * @throws IllegalStateException when the host refuses, with its errno.
     */
    public void prefault()
    {
        for (final MemorySegment segment : new MemorySegment[] {frames, metadata, mappings})
        {
            final int errno = NativeMemory.populate(segment);
            if (errno != 0)
            {
                throw new IllegalStateException("host refused to back emulated memory: errno " + errno);
            }
        }
    }

    public Backing backing()
    {
        return backing;
    }

    public long totalFrames()
    {
        return totalFrames;
    }

    public long backedFrames()
    {
        return backedFrames;
    }

    /** The bytes of the backed frames, indexed by physical address. */
    public MemorySegment frames()
    {
        return frames;
    }

    /** The reverse-map words of the backed frames; see {@link FrameMapping}. */
    MemorySegment mappings()
    {
        return mappings;
    }

    /** The descriptor array of the backed frames; see {@link FrameDescriptor}. */
    public MemorySegment metadata()
    {
        return metadata;
    }

    public BuddyAllocator buddy()
    {
        return buddy;
    }

    /** The machine's LRU lists. */
    public LruLists lru()
    {
        return lru;
    }

    /** The phantom data frames, or {@code null} when every frame is backed. */
    public PhantomFrames phantom()
    {
        return phantom;
    }

    /**
     * Gives the machine {@code area} as its swap (swapon), before any address space uses the
     * memory; closed with it.
     */
    public PhysicalMemory attachSwap(final SwapArea area)
    {
        if (swap != null)
        {
            throw new IllegalStateException("the machine has a swap area already");
        }
        swap = area;
        return this;
    }

    /**
     * Runs {@code wake} whenever a cache refill leaves fewer than {@code lowFrames} free frames in the
     * buddy allocator (wakeup_kswapd below the low watermark). {@code wake} must not block.
     */
    public void watchLowMemory(final long lowFrames, final Runnable wake)
    {
        this.lowWatermark = lowFrames;
        this.lowMemory = wake;
    }

    /** After a refill from the buddy allocator: wakes the low-memory watcher when below its watermark. */
    void checkWatermark()
    {
        final Runnable wake = lowMemory;
        if (wake != null && buddy.freeFrames() < lowWatermark)
        {
            wake.run();
        }
    }

    /** The machine's swap area, or null when it has none. */
    public SwapArea swap()
    {
        return swap;
    }

    public long zeroPagePfn()
    {
        return zeroPagePfn;
    }

    public boolean isBacked(final long pfn)
    {
        return pfn < backedFrames;
    }

    public boolean isValid(final long pfn)
    {
        return pfn > 0 && pfn < totalFrames;
    }

    /** A new per-thread frame cache, registered so that accounting can see what it holds. */
    public FrameCache newCache()
    {
        final FrameCache cache = new FrameCache(this, reserveFrames(backedFrames), reserveFrames(totalFrames - backedFrames));
        caches.add(cache);
        return cache;
    }

    private static int reserveFrames(final long frames)
    {
        return (int)Math.min(MAX_RESERVE_FRAMES, frames / RESERVE_SHARE);
    }

    /**
     * Empties every cache's {@link FrameReserve} into the shared allocators: what an allocation
     * does when they run dry, before it gives up (Linux's drain_all_pages before an OOM).
     * Returns how many frames moved.
     */
    public long drainReserves()
    {
        long moved = 0;
        for (final FrameCache cache : caches)
        {
            moved += cache.drainReserves();
        }
        return moved;
    }

    /** Drains and forgets a cache whose thread is done with it. */
    public synchronized void retireCache(final FrameCache cache)
    {
        cache.drain();
        if (caches.remove(cache))
        {
            retiredTables += cache.tablesAllocated - cache.tablesFreed;
            retiredData += cache.dataAllocated - cache.dataFreed;
        }
    }

    /**
     * Allocates a zeroed page-table page for {@code level} (1 = PT … 4 = PML4), unlocked.
     * The caller publishes it with a release (CAS) on the parent entry, which orders the zeroing
     * and descriptor stores before any walker that acquires that entry.
     */
    public long allocateTable(final FrameCache cache, final int level)
    {
        final long pfn = allocateZeroed(cache);
        if (pfn == NO_FRAME)
        {
            return NO_FRAME;
        }
        final long off = offset(pfn);
        FLAGS.set(metadata, off, FrameFlags.TABLE);
        ORDER.set(metadata, off, level);
        PTLOCK.set(metadata, off, 0L);
        DEPOSIT.set(metadata, off, 0L);
        cache.tablesAllocated++;
        return pfn;
    }

    /**
     * A backed data page in state {@code flags}: one reference, one mapping; {@code lines} its
     * written lines already (see {@link #allocateAnon(FrameCache, long, long, long)}).
     */
    private long allocateBacked(final FrameCache cache, final int flags, final long lines)
    {
        final long pfn = allocateZeroed(cache);
        if (pfn == NO_FRAME)
        {
            return NO_FRAME;
        }
        final long off = offset(pfn);
        FLAGS.set(metadata, off, flags);
        // the word is order's too (a buddy head's): a fresh data page is on no list
        LRU_FLAGS.set(metadata, off, 0);
        REFCOUNT.set(metadata, off, 1);
        MAPCOUNT.set(metadata, off, 1);
        LINES.set(metadata, off, lines);
        cache.dataAllocated++;
        return pfn;
    }

    /** A real frame from the cache, cleared unless it is known to be zero; the caller sets its state. */
    private long allocateZeroed(final FrameCache cache)
    {
        final long pfn = cache.allocateReal();
        if (pfn != NO_FRAME)
        {
            final long off = offset(pfn);
            final int flags = (int)FLAGS.get(metadata, off);
            if ((flags & FrameFlags.WRITTEN_LINES) != 0)
            {
                clearLines(pfn, (long)LINES.get(metadata, off));
            }
            else if ((flags & FrameFlags.ZEROED) == 0)
            {
                clear(pfn);
            }
        }
        return pfn;
    }

    /**
     * Clears the recorded lines of the frames in {@code pfns[from, from + n)} that have them, so
     * that they can go to the buddy allocator, which knows only whole-frame ZEROED.
     */
    void settleWrittenLines(final long[] pfns, final int from, final int n)
    {
        for (int i = from; i < from + n; i++)
        {
            final long off = offset(pfns[i]);
            if (((int)FLAGS.get(metadata, off) & FrameFlags.WRITTEN_LINES) != 0)
            {
                clearLines(pfns[i], (long)LINES.get(metadata, off));
                FLAGS.set(metadata, off, FrameFlags.ZEROED);
            }
        }
    }

    /** Frees a table page whose 512 entries are all zero. */
    public void freeTable(final FrameCache cache, final long pfn)
    {
        FLAGS.set(metadata, offset(pfn), FrameFlags.ZEROED);
        cache.tablesFreed++;
        cache.freeReal(pfn);
    }

    /**
     * In a {@link #releaseDataBatch} entry, the sign bit: the page's mapping was never dirtied
     * (so, as {@link #releaseData}'s {@code clean}, its bytes are all zero).
     */
    public static final long CLEAN = Long.MIN_VALUE;

    /**
     * Allocates a zero-filled anonymous data page about to be mapped once: one reference, one
     * mapping. The caller publishes it with a release store of its entry; if it cannot (a racing
     * fault won), it hands it back with {@link #releaseData}. In tables-only mode a phantom frame.
     */
    public long allocateData(final FrameCache cache)
    {
        return allocateData(cache, FrameFlags.DATA, 0L);
    }

    private long allocateData(final FrameCache cache, final int flags, final long lines)
    {
        if (phantom == null)
        {
            return allocateBacked(cache, flags, lines);
        }
        final long pfn = cache.allocatePhantom();
        if (pfn != NO_FRAME)
        {
            cache.dataAllocated++;
        }
        return pfn;
    }

    /**
     * {@link #allocateData}, for an anonymous page (a fault's new page, a copy-on-write copy): a
     * backed page is also {@link FrameFlags#ANON_EXCLUSIVE}, set before the caller publishes it.
     * Phantom frames have no descriptor; they are never shared, so always exclusive.
     */
    public long allocateAnon(final FrameCache cache, final long mapping, final long index)
    {
        return allocateAnon(cache, mapping, index, 0L);
    }

    /**
     * {@link #allocateAnon(FrameCache, long, long)} for a write fault, whose store (after the
     * fault, through the entry the caller publishes) goes to the lines {@code lines} says
     * ({@link #lineBit}): they are recorded as written now, with the descriptor's other plain
     * stores, so that the store's {@link #markWritten} finds them and pays no atomic OR. Recording
     * a line that is then not written only clears it once more at reuse.
     */
    public long allocateAnon(final FrameCache cache, final long mapping, final long index, final long lines)
    {
        // the flags are a plain store like the rest of the descriptor: nobody else sees the page
        // until its entry is published with a release
        final long pfn = allocateData(cache, FrameFlags.DATA | FrameFlags.ANON_EXCLUSIVE, lines);
        if (pfn != NO_FRAME && pfn < backedFrames)
        {
            // folio_add_new_anon_rmap and folio_add_lru_vma, before the entry is published; the
            // reverse map's words wait in the add batch with the page (FrameMapping)
            stageForLru(cache, pfn, mapping, index);
        }
        return pfn;
    }

    /**
     * A page-cache page of file (or shmem object) {@code mapping} at page offset {@code index}:
     * zero-filled, with bytes and counts even with tables-only backing (a cache page is held by the
     * cache and by every mapping, which phantom frames, without a refcount, cannot express); one
     * reference and one mapping; on the inactive file list, or the anonymous one when
     * {@code swapBacked} (shmem, as Linux keeps it).
     */
    public long allocateCachePage(final FrameCache cache, final long mapping, final long index, final boolean swapBacked)
    {
        final long pfn = allocateBacked(cache, swapBacked ? FrameFlags.DATA : FrameFlags.DATA | FrameFlags.FILE_LRU, 0L);
        if (pfn != NO_FRAME)
        {
            // MADV_PAGEOUT reads a file page's reverse-map words through the page tables: now
            FrameMapping.set(mappings, pfn, mapping, index);
            stageForLru(cache, pfn, 0, 0);
        }
        return pfn;
    }

    /**
     * folio_add_lru: to the CPU's add batch, which joins the lists when it is full, and stores the
     * page's {@code mapping} and {@code index} first (0: stored already).
     */
    private void stageForLru(final FrameCache cache, final long pfn, final long mapping, final long index)
    {
        lru.stage(pfn);
        if (cache.lruAdds.add(pfn, mapping, index))
        {
            cache.lruAdds.drain(this, cache);
        }
    }

    /**
     * lru_add_drain: the pages in {@code cache}'s add batch join the lists now (reclaim and
     * madvise do it first, so that what their own CPU just faulted in is on the lists). The
     * cache's own thread only.
     */
    public void drainAddBatch(final FrameCache cache)
    {
        cache.lruAdds.drain(this, cache);
    }

    /**
     * Every CPU's add batch drained (lru_add_drain_all), each into its own cache: only at a
     * quiescent point (every CPU idle, after a join or a barrier), as an invariant check's.
     */
    public void drainAddBatches()
    {
        for (final FrameCache cache : caches)
        {
            cache.lruAdds.drain(this, cache);
        }
    }

    /** A page whose last reference went while it was in an add batch, freed by the batch's drain. */
    void freeLeftInBatch(final FrameCache cache, final long pfn)
    {
        // its entries and their TLB flushes preceded the free that left it to us (both decided
        // under the LRU lock, the free first); the drain took it off its batch: on no list now.
        // Not known clean: cleared when reused
        freeOne(cache, pfn, false);
    }

    /**
     * Whether an anonymous page's one mapping may make it writable without a copy: backed pages
     * carry {@link FrameFlags#ANON_EXCLUSIVE}; phantom frames (tables-only) are never shared.
     */
    public boolean isAnonExclusive(final long pfn)
    {
        return pfn >= backedFrames || ((int)FLAGS.getVolatile(metadata, offset(pfn)) & FrameFlags.ANON_EXCLUSIVE) != 0;
    }

    /**
     * Marks a mapped data page exclusive again (do_wp_page's reuse, when its only reference is the
     * caller's entry). Caller holds the PT lock of that entry, so the page cannot be freed meanwhile.
     */
    public void markAnonExclusive(final long pfn)
    {
        if (pfn < backedFrames)
        {
            // atomic OR: another address space mapping the page earlier may still mark it DIRTY
            final int before = (int)FLAGS.getAndBitwiseOr(metadata, offset(pfn), FrameFlags.ANON_EXCLUSIVE);
            assert (before & FrameFlags.STATE_MASK) == FrameFlags.DATA : "marking a frame that is not a data page";
        }
    }

    /** Clears {@link FrameFlags#ANON_EXCLUSIVE}: fork maps the page a second time. */
    public void clearAnonExclusive(final long pfn)
    {
        if (pfn < backedFrames)
        {
            // atomic AND: other address spaces mapping the page may mark it DIRTY concurrently
            final int before = (int)FLAGS.getAndBitwiseAnd(metadata, offset(pfn), ~FrameFlags.ANON_EXCLUSIVE);
            assert (before & FrameFlags.STATE_MASK) == FrameFlags.DATA : "clearing a frame that is not a data page";
        }
    }

    /**
     * Drops one reference to a data page (after the TLB flush that follows its unmapping); the
     * last reference frees it. What it frees is known to be zero or is cleared when reused:
     * <ul>
     *   <li>{@link #markDirty marked dirty} (bytes written other than by stores): cleared whole when reused;</li>
     *   <li>stores {@linkplain #markWritten recorded} in a few lines (at most {@value #LINE_CLEAR_LIMIT}):
     *       freed as {@link FrameFlags#WRITTEN_LINES}, those lines cleared when it is handed out
     *       again — a page that took one store costs 64 bytes of clearing, not 4096, and that line
     *       is cleared just before the next owner's stores rather than long after the last one's;</li>
     *   <li>otherwise {@code clean} decides: true promises the bytes are all zero (its mapping was
     *       never dirtied); false means cleared when reused.</li>
     * </ul>
     */
    public void releaseData(final FrameCache cache, final long pfn, final boolean clean)
    {
        if (pfn >= backedFrames)
        {
            cache.dataFreed++;
            cache.freePhantom(pfn);
            return;
        }
        if (putReference(pfn, "data") == 0)
        {
            freeData(cache, pfn, clean);
        }
    }

    /**
     * Drops one reference to backed page {@code pfn} ({@code kind} names it in the error) and
     * returns how many are left; the caller whose put leaves 0 frees it (folio_put_testzero).
     *
     * @throws IllegalStateException when the page had no reference left: released more often than referenced.
     */
    private int putReference(final long pfn, final String kind)
    {
        // volatile decrement: every earlier use of the page happens-before the free by the last holder
        final int left = (int)REFCOUNT.getAndAdd(metadata, offset(pfn), -1) - 1;
        if (left < 0)
        {
            throw new IllegalStateException(kind + " page " + pfn + " released more often than referenced");
        }
        return left;
    }

    /**
     * release_pages: drops one reference to each data page {@code entries[0..n)} (a PFN, with
     * {@link #CLEAN} set where its mapping was never dirtied, as {@link #releaseData}'s
     * {@code clean}), the pages whose last reference that was taken off the LRU lists under one
     * taking of the LRU lock, then freed. {@code entries} is overwritten.
     */
    public void releaseDataBatch(final FrameCache cache, final long[] entries, final int n)
    {
        int last = 0;
        for (int i = 0; i < n; i++)
        {
            final long entry = entries[i];
            final long pfn = entry & ~CLEAN;
            if (pfn >= backedFrames)
            {
                cache.dataFreed++;
                cache.freePhantom(pfn);
                continue;
            }
            if (putReference(pfn, "data") == 0)
            {
                entries[last++] = entry;
            }
        }
        if (last > 0)
        {
            lru.removeFreed(entries, last, ~(CLEAN | LruLists.LEFT_IN_BATCH));
            freeUnlisted(cache, entries, last);
        }
    }

    /** A backed data page whose last reference is gone, off the LRU and to the cache (or left to its add batch's drain). */
    private void freeData(final FrameCache cache, final long pfn, final boolean clean)
    {
        // off its LRU list before the frame can be handed out again (an isolated page has LRU clear)
        if (lru.removeFreed(pfn))
        {
            freeOne(cache, pfn, clean);
        }
        else
        {
            poisonLeftInBatch(pfn);
        }
    }

    /** {@link #freeUnlisted} of the one page {@code pfn}, through the cache's one-entry batch. */
    private void freeOne(final FrameCache cache, final long pfn, final boolean clean)
    {
        final long[] one = cache.freeOne;
        one[0] = clean ? pfn | CLEAN : pfn;
        freeUnlisted(cache, one, 1);
    }

    /**
     * Under {@link Kasan}, a page whose free is left to its add batch's drain is poisoned now: a
     * use after this free must read the pattern at once, not only after some later drain.
     */
    private void poisonLeftInBatch(final long pfn)
    {
        if (Kasan.ENABLED && poisons)
        {
            MemorySegment.copy(poisonSource, 0, frames, pfn << PAGE_SHIFT, PAGE_SIZE);
        }
    }

    /**
     * free_unref_folios: the freed data pages {@code entries[0..n)} (PFNs, with {@link #CLEAN} set
     * where the mapping was never dirtied), on no LRU list and with no reference left, to the
     * cache, each with the flags that say how to clear it; an entry with
     * {@link LruLists#LEFT_IN_BATCH} is skipped (its add batch's drain frees it), though poisoned now
     * under {@link Kasan}. Every data page's free goes through this one loop, its body written out:
     * a per-page helper would be compiled on its own first (it runs 512 times a batch), then too big
     * to inline into the batch's loop, a call per page. {@code entries} is overwritten.
     */
    private void freeUnlisted(final FrameCache cache, final long[] entries, final int n)
    {
        int freed = 0;
        for (int i = 0; i < n; i++)
        {
            final long entry = entries[i];
            final long pfn = entry & ~(CLEAN | LruLists.LEFT_IN_BATCH);
            if ((entry & LruLists.LEFT_IN_BATCH) != 0)
            {
                poisonLeftInBatch(pfn);
                continue;
            }
            final long off = offset(pfn);
            // the stores recorded in LINES happen-before this: they were made through mappings
            // whose removal and TLB flush precede the last reference's release (volatile decrement);
            // the frame then moves between threads only through the caches' locks
            final long lines = (long)LINES.get(metadata, off);
            final int flags;
            if (Kasan.ENABLED && poisons)
            {
                // poisoned: a use after the free reads the pattern; cleared whole when reused
                MemorySegment.copy(poisonSource, 0, frames, pfn << PAGE_SHIFT, PAGE_SIZE);
                flags = 0;
            }
            else if (((int)FLAGS.get(metadata, off) & FrameFlags.DIRTY) != 0)
            {
                flags = 0;
            }
            else if (lines == 0)
            {
                flags = entry < 0 ? FrameFlags.ZEROED : 0;
            }
            else
            {
                flags = Long.bitCount(lines) <= LINE_CLEAR_LIMIT ? FrameFlags.WRITTEN_LINES : 0;
            }
            FLAGS.set(metadata, off, flags);
            // compacted in place: the PFNs to the cache in one call, not a call a page
            entries[freed++] = pfn;
        }
        cache.freeReal(entries, freed);
        cache.dataFreed += freed;
    }

    /**
     * Allocates a transparent huge page: an aligned block of {@link #HUGE_FRAMES} zero-filled
     * frames from the buddy allocator (order {@link #HUGE_ORDER}), each a data page with one
     * reference and one mapping, {@link FrameFlags#ANON_EXCLUSIVE}, as a PMD leaf that maps the block counts each subpage once (so that
     * a split into PTEs changes no count). {@link BuddyAllocator#NO_FRAME} when no block that large
     * is free, even after the per-CPU reserves are drained back — the fault then falls back to
     * 4 KiB pages, as Linux's does — and always with tables-only backing, whose phantom frames come
     * one at a time.
     */
    public long allocateHugeData(final FrameCache cache, final long mapping, final long index)
    {
        if (phantom != null)
        {
            return NO_FRAME;
        }
        final long head = takeZeroedBlock();
        if (head == NO_FRAME)
        {
            return NO_FRAME;
        }
        for (long pfn = head; pfn < head + HUGE_FRAMES; pfn++)
        {
            final long off = offset(pfn);
            // an anonymous folio's pages start exclusive to the mapping that faulted them in, as allocateAnon's
            FLAGS.set(metadata, off, FrameFlags.DATA | FrameFlags.ANON_EXCLUSIVE);
            LRU_FLAGS.set(metadata, off, 0);
            REFCOUNT.set(metadata, off, 1);
            MAPCOUNT.set(metadata, off, 1);
            LINES.set(metadata, off, 0L);
        }
        cache.dataAllocated += HUGE_FRAMES;
        // the head's reverse-map words (its tails get theirs if it is split), then one LRU entry for the folio
        FrameMapping.set(mappings, head, mapping, index);
        lru.addHuge(head);
        return head;
    }

    /** An order-{@link #HUGE_ORDER} block from the buddy allocator with all its bytes zero; the caller sets its state. */
    private long takeZeroedBlock()
    {
        long head = buddy.allocate(HUGE_ORDER);
        if (head == NO_FRAME && drainReserves() > 0)
        {
            // the per-CPU reserves hold whole 2 MiB runs: back to the buddy allocator, and try again
            head = buddy.allocate(HUGE_ORDER);
        }
        // ZEROED on a block's head speaks for the whole block (the buddy allocator's invariant)
        if (head != NO_FRAME && ((int)FLAGS.get(metadata, offset(head)) & FrameFlags.ZEROED) == 0)
        {
            for (long pfn = head; pfn < head + HUGE_FRAMES; pfn++)
            {
                clear(pfn);
            }
        }
        return head;
    }

    /**
     * Drops one reference to each subpage of the huge page at {@code head} (after the TLB flush that
     * follows the unmapping of its PMD leaf). When that was the last reference of every subpage,
     * the block goes back to the buddy allocator whole, cleared (its written lines, or whole dirty
     * pages) so that it is ZEROED, or poisoned under {@link Kasan}; subpages somebody else still
     * holds stay, and the others are freed one by one like any data page.
     * <p>
     * As folios_put_refs does, a page is freed only by the put whose own decrement took its count
     * to zero, never on a later read of the count: another holder (reclaim's isolation reference on
     * the head, folio_try_get; the other side of a fork) may drop its reference at any time and
     * free the page itself. So the tails go first, the head's reference is kept meanwhile: the
     * folio is split on the LRU (lru_add_split_folio, under a reference of the caller's as
     * split_folio requires) only while that reference keeps the head from being freed, and it is
     * dropped last — by folio_ref_freeze(folio, 1)'s CAS when the block may go back whole.
     */
    public void releaseHugeData(final FrameCache cache, final long head, final boolean clean)
    {
        if (isHugetlb(head))
        {
            releaseHugetlb(head);
            return;
        }
        // tails [head + 1, held) all went to zero by our puts: ours, and nobody can take them back
        // (a count of zero is never raised again: mapData and folio_try_get refuse it)
        long held = head + HUGE_FRAMES;
        for (long pfn = head + 1; pfn < head + HUGE_FRAMES; pfn++)
        {
            final int left = putReference(pfn, "data");
            if (held == head + HUGE_FRAMES)
            {
                if (left == 0)
                {
                    continue;
                }
                // the first tail somebody else holds: the folio is no longer whole
                held = pfn;
                freeSplitTails(cache, head, pfn, clean);
            }
            else if (left == 0)
            {
                freeData(cache, pfn, clean);
            }
        }
        if (held == head + HUGE_FRAMES)
        {
            // every tail is ours: the block goes back whole if the head's last reference is ours too
            // (volatile CAS 1 -> 0 against folio_try_get's, which never raises a zero count)
            if ((boolean)REFCOUNT.compareAndSet(metadata, offset(head), 1, 0))
            {
                freeHugeBlock(cache, head);
                return;
            }
            freeSplitTails(cache, head, head + HUGE_FRAMES, clean);
        }
        releaseData(cache, head, clean);
    }

    /**
     * The folio at {@code head} is no longer whole: its pages go their own ways, on the LRU too,
     * and the tails {@code [head + 1, end)}, whose last references were the caller's, are freed.
     * The caller still holds its reference to the head, which keeps the head from being freed
     * (and its PFN from being reused) while the split looks at it.
     */
    private void freeSplitTails(final FrameCache cache, final long head, final long end, final boolean clean)
    {
        lru.splitFolio(head, HUGE_FRAMES);
        for (long pfn = head + 1; pfn < end; pfn++)
        {
            freeData(cache, pfn, clean);
        }
    }

    /** The block of a huge page whose every subpage's last reference is gone, to the buddy allocator whole. */
    private void freeHugeBlock(final FrameCache cache, final long head)
    {
        final boolean poison = Kasan.ENABLED && poisons;
        // the folio's entry (its head), or, after a split, each page's (never in an add batch: a
        // huge page joins its list at once, and its split tails join the head's list)
        lru.removeFreedBlock(head, HUGE_FRAMES);
        for (long pfn = head; pfn < head + HUGE_FRAMES; pfn++)
        {
            final long off = offset(pfn);
            if (poison)
            {
                MemorySegment.copy(poisonSource, 0, frames, pfn << PAGE_SHIFT, PAGE_SIZE);
            }
            else
            {
                // a leaf's dirty bit speaks for 512 subpages, most of them never written: a subpage is
                // judged by its own record instead — every store through a mapping is in its lines
                // (markWritten), every other write marks it DIRTY — so one with neither is still zero
                // (page_fault1 over huge pages writes one line of one subpage per block: clearing the
                // other 511 on every free would cost a 2 MiB memset per fault)
                final long lines = (long)LINES.get(metadata, off);
                if (((int)FLAGS.get(metadata, off) & FrameFlags.DIRTY) != 0 || Long.bitCount(lines) > LINE_CLEAR_LIMIT)
                {
                    clear(pfn);
                }
                else
                {
                    clearLines(pfn, lines);
                }
            }
            // a free block's frames other than its head carry no state (the buddy allocator's invariant)
            FLAGS.set(metadata, off, 0);
        }
        FLAGS.set(metadata, offset(head), poison ? 0 : FrameFlags.ZEROED);
        cache.dataFreed += HUGE_FRAMES;
        buddy.free(head, HUGE_ORDER);
    }

    /**
     * A hugetlb page's references drop together (its leaves are never split): when the head's last
     * one goes, every subpage's has, and the page goes back to its pool.
     */
    private void releaseHugetlb(final long head)
    {
        final HugetlbPool pool = hugetlbPoolOf(head);
        if (head >= backedFrames)
        {
            // a phantom pool page has no counts: one leaf maps it, and it is gone
            pool.put(head);
            return;
        }
        final long end = head + pool.pageFrames();
        int left = 0;
        for (long pfn = head; pfn < end; pfn++)
        {
            left = putReference(pfn, "hugetlb");
        }
        if (left == 0)
        {
            pool.put(head);
        }
    }

    /** The pool of hugetlb pages of {@code order}: {@link #HUGE_ORDER} (2 MiB) or {@link #GIGANTIC_ORDER} (1 GiB). */
    public HugetlbPool hugetlbPool(final int order)
    {
        return switch (order)
        {
            case HUGE_ORDER -> hugetlb2m;
            case GIGANTIC_ORDER -> hugetlb1g;
            default -> throw new IllegalArgumentException("no hugetlb pool of order " + order);
        };
    }

    /** The pool of the hugetlb page whose head is {@code head} (its descriptor's order names it). */
    public HugetlbPool hugetlbPoolOf(final long head)
    {
        if (head >= backedFrames)
        {
            return hugetlb2m.containsPhantom(head) ? hugetlb2m : hugetlb1g;
        }
        return hugetlbPool((int)ORDER.get(metadata, offset(head)));
    }

    /** Whether {@code pfn} is a frame of a hugetlb pool's page. */
    public boolean isHugetlb(final long pfn)
    {
        if (pfn >= backedFrames)
        {
            return hugetlb2m.containsPhantom(pfn) || hugetlb1g.containsPhantom(pfn);
        }
        return pfn > 0 && ((int)FLAGS.get(metadata, offset(pfn)) & FrameFlags.HUGETLB) != 0;
    }

    /** Frames of the hugetlb pools' free pages: in use for the buddy allocator, mapped by nobody. */
    public long hugetlbFreeFrames()
    {
        return hugetlb2m.freeFrames() + hugetlb1g.freeFrames();
    }

    /**
     * The huge zero page: a block of {@link #HUGE_FRAMES} zero frames that read faults map with one
     * PMD leaf (Linux's huge_zero_folio), allocated at first use and kept for the machine's life.
     * {@link BuddyAllocator#NO_FRAME} when no block is free (the fault falls back) or with
     * tables-only backing.
     */
    public long hugeZeroPagePfn()
    {
        final long known = (long)HUGE_ZERO.getAcquire(this);
        if (known != NO_FRAME || phantom != null)
        {
            return known;
        }
        final long head = takeZeroedBlock();
        if (head == NO_FRAME)
        {
            return NO_FRAME;
        }
        for (long pfn = head; pfn < head + HUGE_FRAMES; pfn++)
        {
            FLAGS.set(metadata, offset(pfn), FrameFlags.ZERO_PAGE | FrameFlags.ZEROED);
        }
        // CAS: publishes the cleared block and its descriptors; a racing allocator's block goes back
        final long witness = (long)HUGE_ZERO.compareAndExchange(this, NO_FRAME, head);
        if (witness == NO_FRAME)
        {
            return head;
        }
        for (long pfn = head + 1; pfn < head + HUGE_FRAMES; pfn++)
        {
            FLAGS.set(metadata, offset(pfn), 0);
        }
        FLAGS.set(metadata, offset(head), FrameFlags.ZEROED);
        buddy.free(head, HUGE_ORDER);
        return witness;
    }

    /** Whether {@code pfn} is a frame of the huge zero page (allocated or not yet). */
    public boolean isHugeZeroPage(final long pfn)
    {
        final long head = (long)HUGE_ZERO.getAcquire(this);
        return head != NO_FRAME && pfn >= head && pfn < head + HUGE_FRAMES;
    }

    /** Frames the huge zero page holds: {@link #HUGE_FRAMES} once it is allocated, else 0 (for accounting). */
    public long hugeZeroPageFrames()
    {
        return (long)HUGE_ZERO.getAcquire(this) == NO_FRAME ? 0 : HUGE_FRAMES;
    }

    /**
     * Records that a data page's bytes may be non-zero although its entries will not say so (their
     * D bit is being cleared), so that {@link #releaseData} never frees it as ZEROED.
     */
    public void markDirty(final long pfn)
    {
        if (pfn < backedFrames)
        {
            // atomic OR: other tables mapping the page may mark it concurrently; the entry's PTE
            // lock release orders this before the zap that later frees the page
            final int before = (int)FLAGS.getAndBitwiseOr(metadata, offset(pfn), FrameFlags.DIRTY);
            assert (before & FrameFlags.STATE_MASK) == FrameFlags.DATA : "marking a frame that is not a data page";
        }
    }

    /**
     * folio_mark_dirty on the clearing of an entry whose D bit was set: a backed page-cache page
     * ({@link FrameFlags#FILE_LRU}) becomes {@link FrameFlags#CACHE_DIRTY}; any other page is left
     * alone (an anonymous page's dirtiness is its swap-out's business). The caller holds a
     * reference (the entry's, until its flush).
     */
    public void markCacheDirty(final long pfn)
    {
        if (pfn < backedFrames)
        {
            final long off = offset(pfn);
            // a plain read: FILE_LRU was stored before the entry that maps the page was published,
            // and the caller read that entry with a volatile access; it never changes while allocated
            if (((int)FLAGS.get(metadata, off) & FrameFlags.FILE_LRU) != 0)
            {
                // atomic OR: the LRU lock's bits and other CPUs' marks change the word beside it
                final int before = (int)FLAGS.getAndBitwiseOr(metadata, off, FrameFlags.CACHE_DIRTY);
                assert (before & FrameFlags.STATE_MASK) == FrameFlags.DATA : "marking a frame that is not a data page";
            }
        }
    }

    /**
     * folio_clear_dirty_for_io: clears {@link FrameFlags#CACHE_DIRTY}, returning whether it was
     * set (the page must be written back). Only when no entry maps the page (none can set it again
     * meanwhile); the caller holds a reference.
     */
    public boolean clearCacheDirty(final long pfn)
    {
        return pfn < backedFrames
            && ((int)FLAGS.getAndBitwiseAnd(metadata, offset(pfn), ~FrameFlags.CACHE_DIRTY) & FrameFlags.CACHE_DIRTY) != 0;
    }

    /** Adds a mapping of a backed data page and the reference that goes with it. */
    public void mapData(final long pfn)
    {
        if (pfn < backedFrames)
        {
            final long off = offset(pfn);
            final int refs = (int)REFCOUNT.getAndAdd(metadata, off, 1);
            final int maps = (int)MAPCOUNT.getAndAdd(metadata, off, 1);
            // a page cache may hold a page no entry maps (maps == 0), but somebody holds it
            assert refs > 0 && maps >= 0 : "mapping a page nobody holds";
        }
    }

    /** Adds a reference (not a mapping) to a backed data page: a page cache holding it. */
    public void retainData(final long pfn)
    {
        if (pfn < backedFrames)
        {
            final int refs = (int)REFCOUNT.getAndAdd(metadata, offset(pfn), 1);
            assert refs > 0 : "retaining a free page";
        }
    }

    /**
     * Removes a mapping of a data page; its reference is dropped later by {@link #releaseData},
     * after the TLB flush. Phantom frames have no counts.
     */
    public void unmapData(final long pfn)
    {
        if (pfn < backedFrames)
        {
            // atomic: other tables may map the same page and change its count concurrently
            final int before = (int)MAPCOUNT.getAndAdd(metadata, offset(pfn), -1);
            assert before > 0 : "unmapping a page with no mappings";
        }
    }

    /**
     * Records a store to physical address {@code address} (a backed data page): its 64-byte line may
     * be non-zero from now on. The MMU calls it for every store; the first store to a line pays an
     * atomic OR, later ones a plain load.
     */
    public void markWritten(final long address)
    {
        final long off = offset(address >>> PAGE_SHIFT);
        final long line = lineBit(address);
        // plain read: bits are only ever added while the frame is in use (reset at allocation, which
        // happens-before the mapping is published), so a stale read can only miss a bit, never invent one
        if (((long)LINES.get(metadata, off) & line) == 0)
        {
            // atomic OR: other CPUs may record other lines of the same page at the same time
            // (another CPU may have set the same bit meanwhile: the old value does not matter)
            final long unused = (long)LINES.getAndBitwiseOr(metadata, off, line);
        }
    }

    /** The bit of the 64-byte line of (physical or virtual: the same within a page) {@code address} in a descriptor's {@code lines}. */
    public static long lineBit(final long address)
    {
        return 1L << ((address >>> LINE_SHIFT) & 63);
    }

    /** Lines of 64 bytes: a page has 64, one bit each in a descriptor's {@code lines}. */
    private static final int LINE_SHIFT = 6;
    private static final long LINE_SIZE = 1L << LINE_SHIFT;
    /** Up to this many written lines are cleared line by line at reuse; more, the whole frame. */
    static final int LINE_CLEAR_LIMIT = 8;

    private void clearLines(final long pfn, final long lines)
    {
        long remaining = lines;
        while (remaining != 0)
        {
            final int line = Long.numberOfTrailingZeros(remaining);
            remaining &= remaining - 1;
            MemorySegment.copy(zeroSource, 0, frames, (pfn << PAGE_SHIFT) + (line << LINE_SHIFT), LINE_SIZE);
        }
    }

    /**
     * hugetlb_wp's copy: {@code frames} frames from {@code src} to the zero page at {@code dst},
     * only those a store or copy may have made non-zero (recorded lines, or DIRTY), each copied one
     * marked dirty; the rest are zero on both sides already. The source is read-only everywhere.
     */
    public void copyWrittenFrames(final long src, final long dst, final long frames)
    {
        for (long i = 0; i < frames && src < backedFrames; i++)
        {
            final long off = offset(src + i);
            if ((long)LINES.getVolatile(metadata, off) != 0 || ((int)FLAGS.get(metadata, off) & FrameFlags.DIRTY) != 0)
            {
                MemorySegment.copy(this.frames, (src + i) << PAGE_SHIFT, this.frames, (dst + i) << PAGE_SHIFT, PAGE_SIZE);
                markDirty(dst + i);
            }
        }
    }

    /** Clears a frame whole (a hugetlb pool's page taken from a block that was not zero). */
    void clearFrame(final long pfn)
    {
        clear(pfn);
    }

    /**
     * Makes a hugetlb subpage whose last reference went zero again: its recorded lines, or the whole
     * frame when it was written other than by stores ({@link #markDirty}) or in many lines. Stores
     * and copies are the only writers of a data page, and both are recorded.
     */
    void scrub(final long pfn)
    {
        final long off = offset(pfn);
        final long lines = (long)LINES.get(metadata, off);
        if (((int)FLAGS.get(metadata, off) & FrameFlags.DIRTY) != 0 || Long.bitCount(lines) > LINE_CLEAR_LIMIT)
        {
            clear(pfn);
        }
        else if (lines != 0)
        {
            clearLines(pfn, lines);
        }
        LINES.set(metadata, off, 0L);
    }

    private void clear(final long pfn)
    {
        MemorySegment.copy(zeroSource, 0, frames, pfn << PAGE_SHIFT, PAGE_SIZE);
    }

    /**
     * Frees data frames as the mode without {@link Kasan} does (ZEROED, written lines), unpoisoned:
     * for the tests of those clearing rules, which the poison would hide. Call it before the
     * memory is shared with other threads.
     */
    public PhysicalMemory disablePoisoning()
    {
        poisons = false;
        return this;
    }

    /**
     * Whether a frame a translation reaches is still owned ({@link Kasan}'s check): a data page
     * somebody holds (refcount positive), the zero page, or a claimed phantom frame (phantom
     * frames have no descriptor: one freed into a cache still counts as claimed).
     */
    public boolean isOwned(final long pfn)
    {
        if (pfn >= backedFrames)
        {
            return phantom != null && pfn < totalFrames && phantom.isClaimed(pfn);
        }
        if (pfn <= 0)
        {
            return false;
        }
        final long off = offset(pfn);
        final int state = (int)FLAGS.getVolatile(metadata, off) & FrameFlags.STATE_MASK;
        return state == FrameFlags.ZERO_PAGE || (state == FrameFlags.DATA && (int)REFCOUNT.getVolatile(metadata, off) > 0);
    }

    /**
     * Records a use after free: a translation reached frame {@code pfn}, which is not
     * {@linkplain #isOwned owned}. Counted; the first report's text is kept. Not a hot path: it
     * builds the text.
     */
    public void reportUseAfterFree(final String how, final long va, final long pfn, final int cpu)
    {
        final String state = pfn < backedFrames ?
            FrameFlags.describe(flags(pfn)) + ", refcount " + refcount(pfn) + ", mapcount " + mapcount(pfn) :
            "phantom, not claimed";
        final String text = String.format("use-after-free: %s of 0x%x on CPU %d reaches PFN %d (%s)", how, va, cpu, pfn, state);
        useAfterFrees.incrementAndGet();
        firstUseAfterFree.compareAndSet(null, text);
    }

    /** How many uses after free {@link Kasan} has seen on this machine. */
    public long useAfterFrees()
    {
        return useAfterFrees.get();
    }

    /** The first use-after-free report's text (address, PFN, CPU, frame state), or null. */
    public String firstUseAfterFree()
    {
        return firstUseAfterFree.get();
    }

    /**
     * {@code pfn}'s {@link LruFlags} word: exact under the LRU lock or at a quiescent point, a hint
     * otherwise. Meaningful for data pages other than hugetlb pages.
     */
    public int lruFlags(final long pfn)
    {
        return (int)LRU_FLAGS.getVolatile(metadata, offset(pfn));
    }

    public int flags(final long pfn)
    {
        return (int)FLAGS.get(metadata, offset(pfn));
    }

    public int refcount(final long pfn)
    {
        return (int)REFCOUNT.getVolatile(metadata, offset(pfn));
    }

    /** A data page's mapping word (folio->mapping, {@link FrameMapping#MAPPING}); read by reclaim once it holds the page. */
    public long mapping(final long pfn)
    {
        return (long)FrameMapping.MAPPING.get(mappings, FrameMapping.offset(pfn));
    }

    /** A data page's linear index in its mapping (folio->index). */
    public long index(final long pfn)
    {
        return (long)FrameMapping.INDEX.get(mappings, FrameMapping.offset(pfn));
    }

    public int mapcount(final long pfn)
    {
        return (int)MAPCOUNT.getVolatile(metadata, offset(pfn));
    }

    /**
     * The next PT page on the deposit list of table page {@code tablePfn} (a PMD table's: its first);
     * 0 ends the list. Guarded by the PMD table's PT lock.
     */
    public long deposited(final long tablePfn)
    {
        return (long)DEPOSIT.get(metadata, offset(tablePfn));
    }

    /** Sets the link read by {@link #deposited}. Caller holds the PMD table's PT lock. */
    public void setDeposited(final long tablePfn, final long next)
    {
        DEPOSIT.set(metadata, offset(tablePfn), next);
    }

    /** Level of a table page, 1 (PT) to 4 (PML4). */
    public int tableLevel(final long pfn)
    {
        return (int)ORDER.get(metadata, offset(pfn));
    }

    /**
     * Frames handed out and not free in an allocator or a cache: tables, data pages, the zero page.
     * Exact only while every thread that owns a cache is quiescent.
     */
    public long framesInUse()
    {
        long held = 0;
        for (final FrameCache cache : caches)
        {
            held += cache.heldFrames();
        }
        final long backedInUse = backedFrames - 1 - buddy.freeFrames();
        final long phantomInUse = phantom == null ? 0 : phantom.claimed();
        return backedInUse + phantomInUse - held;
    }

    /** Table pages in use, from the caches' counters (approximate while threads run). */
    public long tablePages()
    {
        long n = 0;
        for (final FrameCache cache : caches)
        {
            n += cache.tablesAllocated - cache.tablesFreed;
        }
        return n + retiredTables;
    }

    /** Data frames in use, from the caches' counters (approximate while threads run). */
    public long dataFrames()
    {
        long n = 0;
        for (final FrameCache cache : caches)
        {
            n += cache.dataAllocated - cache.dataFreed;
        }
        return n + retiredData;
    }

    @Override
    public void close()
    {
        if (swap != null)
        {
            swap.close();
        }
        arena.close();
    }

    private static long pageAlign(final long bytes)
    {
        return (bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    }
}
