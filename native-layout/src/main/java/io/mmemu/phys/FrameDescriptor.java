package io.mmemu.phys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The layout of one frame's metadata, mmemu's {@code struct page}: 32 bytes per 4 KiB frame in an
 * off-heap array indexed by PFN, two to a cache line. Written down once here; everything reads it
 * through these handles, whose coordinates are {@code (MemorySegment metadata, long pfn * SIZE)}.
 * A data page's place in its owner (folio->mapping, folio->index) is not here but in an array of its
 * own, {@link FrameMapping}: written once a page and read only by the reverse map, it would double
 * what every pass over a frame (the fault, the LRU drain's links, the zap, the free) touches.
 *
 * <pre>
 *  offset  field      meaning
 *   0      flags      {@link FrameFlags} bits
 *   4      order      buddy order of a free block's head frame; level (1..4) of a table page; order of a
 *                     hugetlb page's head                                       | data pages otherwise:
 *          lru        {@link LruFlags} bits (on a list, which one, in an add batch); 0 when the page is allocated
 *   8      refcount   references to the frame (data pages: mappings plus gathers in flight)
 *  12      mapcount   page-table entries mapping the frame (data pages)
 *  16      ptlock     table pages: the split page-table lock word  | free block heads: next free PFN
 *                     | data pages on an LRU list ({@link LruLists}): lruNext (16), the next PFN toward the
 *                       tail, 0 at the tail; lruPrev (20), the previous PFN toward the head, 0 at the head
 *  24      link       free block heads: previous free PFN           | data pages, and their frames freed
 *                                                                       WRITTEN_LINES: lines written (bit i: bytes 64i..64i+63)
 *                                                                     | table pages: deposit (a PMD table: the first PT
 *                                                                       page deposited for its huge leaves; a deposited
 *                                                                       PT page: the next one; 0 ends the list)
 * </pre>
 * The LRU links are PFNs of 32 bits, read unsigned: backed memory is at most 2^32 frames (16 TiB,
 * {@link PhysicalMemory#create}), and only backed frames are ever listed.
 * The lru word and the links are guarded by the machine's LRU lock ({@link LruLists}): plain
 * loads and stores under it, apart from a page's first lru word, stored before the page is published
 * (the links mean something only while the word says the page is listed). The lru word is a word
 * of its own, not bits of flags, so that no update of it races with the atomic updates of other
 * flags (DIRTY, ANON_EXCLUSIVE, CACHE_DIRTY) and none needs a CAS.
 * The flags word has two dirtiness bits: {@link FrameFlags#DIRTY}, for the allocator (the bytes may
 * be non-zero: clear them when the frame is reused), and {@link FrameFlags#CACHE_DIRTY}, for
 * writeback (a page-cache page's bytes are newer than its file's, moved there from the entries'
 * D bits as they are cleared: PG_dirty).
 * Fields in one union slot are never live at once: a frame is either on a buddy free list or not
 * (in use, or in a per-CPU cache, where a WRITTEN_LINES frame keeps its lines until reused); a
 * table page, a free block head and a listed data page are three different lives of a frame.
 */
public final class FrameDescriptor
{
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
        JAVA_INT.withName("flags"),
        MemoryLayout.unionLayout(JAVA_INT.withName("order"), JAVA_INT.withName("lru")).withName("word4"),
        JAVA_INT.withName("refcount"),
        JAVA_INT.withName("mapcount"),
        MemoryLayout.unionLayout(JAVA_LONG.withName("ptlock"), JAVA_LONG.withName("freeNext"),
            MemoryLayout.structLayout(JAVA_INT.withName("lruNext"), JAVA_INT.withName("lruPrev")).withName("lruLinks")).withName("word0"),
        MemoryLayout.unionLayout(JAVA_LONG.withName("freePrev"), JAVA_LONG.withName("lines"),
            JAVA_LONG.withName("deposit")).withName("word1"));

    public static final long SIZE = LAYOUT.byteSize();
    public static final int SIZE_SHIFT = 5;

    public static final VarHandle FLAGS = handle(PathElement.groupElement("flags"));
    public static final VarHandle ORDER =
        handle(PathElement.groupElement("word4"), PathElement.groupElement("order"));
    /** A data page's {@link LruFlags} (not a hugetlb page's: its head keeps its order there). Guarded by the LRU lock. */
    public static final VarHandle LRU_FLAGS =
        handle(PathElement.groupElement("word4"), PathElement.groupElement("lru"));
    public static final VarHandle REFCOUNT = handle(PathElement.groupElement("refcount"));
    public static final VarHandle MAPCOUNT = handle(PathElement.groupElement("mapcount"));
    public static final VarHandle PTLOCK =
        handle(PathElement.groupElement("word0"), PathElement.groupElement("ptlock"));
    public static final VarHandle FREE_NEXT =
        handle(PathElement.groupElement("word0"), PathElement.groupElement("freeNext"));
    public static final VarHandle FREE_PREV =
        handle(PathElement.groupElement("word1"), PathElement.groupElement("freePrev"));
    /** A data page's 64-byte lines that stores may have made non-zero (so reuse clears only those). */
    public static final VarHandle LINES =
        handle(PathElement.groupElement("word1"), PathElement.groupElement("lines"));

    /**
     * Table pages: the PT pages deposited for huge PMD leaves (Linux's pgtable_trans_huge_deposit),
     * a list threaded through their descriptors from the PMD table's; guarded by the PMD table's PT lock.
     */
    public static final VarHandle DEPOSIT =
        handle(PathElement.groupElement("word1"), PathElement.groupElement("deposit"));

    /** The next PFN (32 bits, unsigned) on the frame's LRU list (toward the tail; 0: the tail), while listed. Guarded by the LRU lock. */
    public static final VarHandle LRU_NEXT =
        handle(PathElement.groupElement("word0"), PathElement.groupElement("lruLinks"), PathElement.groupElement("lruNext"));
    /** The previous PFN (32 bits, unsigned) on the frame's LRU list (toward the head; 0: the head), while listed. Guarded by the LRU lock. */
    public static final VarHandle LRU_PREV =
        handle(PathElement.groupElement("word0"), PathElement.groupElement("lruLinks"), PathElement.groupElement("lruPrev"));

    static
    {
        if (SIZE != 1L << SIZE_SHIFT)
        {
            throw new ExceptionInInitializerError("frame descriptor must be " + (1 << SIZE_SHIFT) + " bytes");
        }
    }

    private FrameDescriptor()
    {
    }

    /** Byte offset of {@code pfn}'s descriptor in the metadata array. */
    public static long offset(final long pfn)
    {
        return pfn << SIZE_SHIFT;
    }

    private static VarHandle handle(final PathElement... path)
    {
        return LAYOUT.varHandle(path).withInvokeExactBehavior();
    }
}
