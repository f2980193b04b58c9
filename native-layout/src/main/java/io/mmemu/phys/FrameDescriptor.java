package io.mmemu.phys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The layout of one frame's metadata, mmemu's {@code struct page}: 32 bytes per 4 KiB frame in an
 * off-heap array indexed by PFN. Written down once here; everything reads it through these
 * handles, whose coordinates are {@code (MemorySegment metadata, long pfn * SIZE)}.
 *
 * <pre>
 *  offset  field      meaning
 *   0      flags      {@link FrameFlags} bits
 *   4      order      buddy order of a free block's head frame; level (1..4) of a table page
 *   8      refcount   references to the frame (data pages: mappings plus gathers in flight)
 *  12      mapcount   page-table entries mapping the frame (data pages)
 *  16      ptlock     table pages: the split page-table lock word  | free block heads: next free PFN
 *  24      link       free block heads: previous free PFN           | data pages, and their frames freed
 *                                                                       WRITTEN_LINES: lines written (bit i: bytes 64i..64i+63)
 *                                                                     | table pages: deposit (a PMD table: the first PT
 *                                                                       page deposited for its huge leaves; a deposited
 *                                                                       PT page: the next one; 0 ends the list)
 * </pre>
 * Fields in one union slot are never live at once: a frame is either on a buddy free list or not
 * (in use, or in a per-CPU cache, where a WRITTEN_LINES frame keeps its lines until reused).
 */
public final class FrameDescriptor
{
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
        JAVA_INT.withName("flags"),
        JAVA_INT.withName("order"),
        JAVA_INT.withName("refcount"),
        JAVA_INT.withName("mapcount"),
        MemoryLayout.unionLayout(JAVA_LONG.withName("ptlock"), JAVA_LONG.withName("freeNext")).withName("word0"),
        MemoryLayout.unionLayout(JAVA_LONG.withName("freePrev"), JAVA_LONG.withName("lines"),
            JAVA_LONG.withName("deposit")).withName("word1"));

    public static final long SIZE = LAYOUT.byteSize();
    public static final int SIZE_SHIFT = 5;

    public static final VarHandle FLAGS = handle(PathElement.groupElement("flags"));
    public static final VarHandle ORDER = handle(PathElement.groupElement("order"));
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
