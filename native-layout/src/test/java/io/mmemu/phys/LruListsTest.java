package io.mmemu.phys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The LRU lists' links as they are stored: 32-bit PFNs, read unsigned. */
final class LruListsTest
{
    private static final long TWO_TO_31 = 1L << 31;

    /**
     * Pages on both sides of 2^31 (backed memory goes up to 16 TiB, 2^32 frames) link, walk and
     * unlink like any: a link read as a signed int would send the walk to a negative PFN.
     */
    @Test
    void pagesAboveTwoToTheThirtyOneLinkAndUnlink()
    {
        final long frames = TWO_TO_31 + 256;
        try (Arena arena = Arena.ofConfined())
        {
            // lazily backed: only the few descriptors touched cost host memory
            final MemorySegment metadata = NativeMemory.reserve(frames * FrameDescriptor.SIZE, arena);
            final MemorySegment mappings = NativeMemory.reserve(frames * FrameMapping.SIZE, arena);
            final LruLists lru = new LruLists(metadata, mappings);
            final long[] pfns = {3, TWO_TO_31 - 1, TWO_TO_31, TWO_TO_31 + 255, 5};
            for (final long pfn : pfns)
            {
                FrameDescriptor.FLAGS.set(metadata, FrameDescriptor.offset(pfn), FrameFlags.DATA);
                FrameDescriptor.REFCOUNT.set(metadata, FrameDescriptor.offset(pfn), 1);
                lru.stage(pfn);
            }
            assertEquals(0, lru.addBatch(pfns.clone(), pfns.length), "nothing freed while staged");
            // each joins at the head: newest first
            assertEquals(List.of(5L, TWO_TO_31 + 255, TWO_TO_31, TWO_TO_31 - 1, 3L), walk(lru));
            lru.removeFreed(new long[] {TWO_TO_31, 5, TWO_TO_31 + 255}, 3, -1L);
            assertEquals(List.of(TWO_TO_31 - 1, 3L), walk(lru));
            assertEquals(2, lru.size(LruLists.INACTIVE_ANON));
            lru.removeFreed(new long[] {3, TWO_TO_31 - 1}, 2, -1L);
            assertEquals(List.of(), walk(lru));
        }
    }

    /** The inactive anonymous list head to tail, its links and count checked on the way. */
    private static List<Long> walk(final LruLists lru)
    {
        final List<Long> listed = new ArrayList<>();
        lru.check((list, pfn, pages) -> listed.add(pfn));
        return listed;
    }
}
