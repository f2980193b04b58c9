package io.mmemu.phys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

/**
 * The free of a page still in its CPU's add batch races the batch's drain: exactly one of them
 * takes the page. Either the drain links it and the free unlinks it (the free frees it: r1 = 0,
 * r2 = 1), or the free marks it and the drain, not linking it, hands it back to be freed (r1 = 1,
 * r2 = 0); the list is empty afterwards either way (r3 = 0). Both or neither freeing it (a double
 * free, a leak) or a freed page left on the list would be a use after free. Before its free, the
 * freeing thread marks the page DIRTY by an atomic OR on its flags word, as a write through a
 * mapping may without the LRU lock while the drain runs: the drain's plain stores to the page's
 * LRU word must not lose it (r4 = 1).
 */
@JCStressTest
@Outcome(id = "0, 1, 0, 1", expect = Expect.ACCEPTABLE, desc = "drain linked it first; the free unlinked it and frees it")
@Outcome(id = "1, 0, 0, 1", expect = Expect.ACCEPTABLE, desc = "the free came first; the drain frees it")
@Outcome(expect = Expect.FORBIDDEN, desc = "freed twice, never, left on a list, or a flag lost")
@State
public class LruBatchFreeRace
{
    private static final long PFN = 1;

    private final MemorySegment metadata;
    private final LruLists lru;
    private final long[] batch = {PFN};

    public LruBatchFreeRace()
    {
        // two descriptors (PFN 0 names no page), a fresh anonymous data page at PFN 1, staged
        metadata = Arena.ofAuto().allocate(2 * FrameDescriptor.SIZE, FrameDescriptor.SIZE);
        FrameDescriptor.FLAGS.set(metadata, FrameDescriptor.offset(PFN), FrameFlags.DATA);
        FrameDescriptor.REFCOUNT.set(metadata, FrameDescriptor.offset(PFN), 1);
        lru = new LruLists(metadata, Arena.ofAuto().allocate(2 * FrameMapping.SIZE, FrameMapping.SIZE));
        lru.stage(PFN);
    }

    @Actor
    public void drain(final IIII_Result r)
    {
        r.r1 = lru.addBatch(batch, 1);
    }

    @Actor
    public void free(final IIII_Result r)
    {
        final int before = (int)FrameDescriptor.FLAGS.getAndBitwiseOr(metadata, FrameDescriptor.offset(PFN), FrameFlags.DIRTY);
        r.r2 = lru.removeFreed(PFN) ? 1 : 0;
    }

    @Arbiter
    public void after(final IIII_Result r)
    {
        r.r3 = (int)lru.size(LruLists.INACTIVE_ANON);
        r.r4 = ((int)FrameDescriptor.FLAGS.get(metadata, FrameDescriptor.offset(PFN)) & FrameFlags.DIRTY) != 0 ? 1 : 0;
    }
}
