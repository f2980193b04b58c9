package io.mmemu.phys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The layout of a data page's place in its owner, the words the reverse map reads (folio->mapping
 * and folio->index): 16 bytes per backed frame in an off-heap array of its own indexed by PFN,
 * beside the {@link FrameDescriptor} array. Kept apart because nothing but the page's allocation
 * writes them and nothing but rmap walks read them: every other pass over a frame (its fault, the
 * LRU drain, the zap, the free) then touches 32 bytes of descriptor, not 64. Coordinates are
 * {@code (MemorySegment mappings, long pfn * SIZE)}.
 *
 * <pre>
 *  offset  field      meaning
 *   0      mapping    who maps it: the id of an anonymous page's anon_vma root or of a page-cache
 *                     page's file, as the engine registered it; 0 for none
 *   8      index      the page's linear index in that mapping: an anonymous page's vma.pgoff + offset,
 *                     a page-cache page's file page offset
 * </pre>
 * Plain stores, each before any reader can reach the page: a page-cache page's and a huge page's at
 * allocation (MADV_PAGEOUT reads a file page's through the page tables), a huge page's tails by its
 * split under the LRU lock, and an anonymous page's by its CPU's {@link LruAddBatch} drain, before
 * the page joins a list. The reverse map reaches an anonymous page only from a list (reclaim reads
 * the words once it holds the page isolated, with a reference of its own; the invariant check
 * drains every batch first), so the drain is early enough; and it writes the words of 31 pages
 * at once, their cache misses overlapped, instead of one page's per fault, whose miss the fault's
 * next atomic instruction would wait for (bench/README.md, "The frame descriptor's size").
 * Meaningless for any frame that is not a data page.
 */
public final class FrameMapping
{
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
        JAVA_LONG.withName("mapping"),
        JAVA_LONG.withName("index"));

    public static final long SIZE = LAYOUT.byteSize();
    public static final int SIZE_SHIFT = 4;

    /** folio->mapping: the id of the anon_vma root or file the page belongs to (0: none). */
    public static final VarHandle MAPPING = handle(PathElement.groupElement("mapping"));
    /** folio->index: the page's linear index in its mapping. */
    public static final VarHandle INDEX = handle(PathElement.groupElement("index"));

    static
    {
        if (SIZE != 1L << SIZE_SHIFT)
        {
            throw new ExceptionInInitializerError("frame mapping must be " + (1 << SIZE_SHIFT) + " bytes");
        }
    }

    private FrameMapping()
    {
    }

    /** Stores page {@code pfn}'s {@code mapping} and {@code index} into {@code mappings}, the array. */
    public static void set(final MemorySegment mappings, final long pfn, final long mapping, final long index)
    {
        final long off = offset(pfn);
        MAPPING.set(mappings, off, mapping);
        INDEX.set(mappings, off, index);
    }

    /** Byte offset of {@code pfn}'s words in the mapping array. */
    public static long offset(final long pfn)
    {
        return pfn << SIZE_SHIFT;
    }

    private static VarHandle handle(final PathElement... path)
    {
        return LAYOUT.varHandle(path).withInvokeExactBehavior();
    }
}
