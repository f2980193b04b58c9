package io.mmemu.phys;

/**
 * The second level of a {@link FrameCache}: free frames a thread freed in bulk (an munmap of a
 * large range) and will likely allocate again (its next faults), kept out of the shared allocator
 * so that a free-heavy then allocation-heavy loop — will-it-scale's page_fault1 — does not take the
 * buddy lock at all in steady state. Linux does the same since 6.7 by letting a CPU's PCP list grow
 * well past its batch while the CPU frees a lot ("PCP high auto-tuning").
 * <p>
 * Unlike the cache's first level, a reserve can be emptied by any thread: when the shared allocator
 * runs dry, the allocating thread drains every reserve into it (Linux's drain_all_pages), so frames
 * parked here never cause a spurious out-of-memory.
 * <p>
 * Thread safety: every method holds the reserve's monitor (Linux's pcp->lock), which only its owner
 * takes except during a drain, so it is uncontended in practice. Lock order: a reserve's monitor,
 * then the shared allocator's; nothing takes them the other way round.
 */
final class FrameReserve
{
    private final int capacity;
    private long[] pfns = new long[0];
    private int count;

    /** A reserve of up to {@code capacity} frames (0: none; every spill goes to the allocator). */
    FrameReserve(final int capacity)
    {
        this.capacity = capacity;
    }

    /** Moves {@code n} frames from {@code from[offset..]} in, or none if they do not fit; says which. */
    synchronized boolean put(final long[] from, final int offset, final int n)
    {
        if (count + n > capacity)
        {
            return false;
        }
        growFor(n);
        System.arraycopy(from, offset, pfns, count, n);
        count += n;
        return true;
    }

    /**
     * Takes a whole free block of 2^{@code order} frames from {@code buddy} in, if it fits and the
     * buddy has one: a CPU's frames then come in aligned runs that no other CPU's frames share.
     * Returns how many frames came in (0 or 2^order).
     */
    synchronized int refillFrom(final BuddyAllocator buddy, final int order)
    {
        final int n = 1 << order;
        if (count + n > capacity)
        {
            return 0;
        }
        growFor(n);
        // the buddy's monitor inside the reserve's: the documented lock order
        final int got = buddy.allocateRun(pfns, count, order);
        count += got;
        return got;
    }

    private void growFor(final int n)
    {
        if (count + n > pfns.length)
        {
            // grows in steps while a thread first frees or refills in bulk, then never again (the hot path allocates nothing)
            final long[] grown = new long[Math.min(capacity, Math.max(count + n, 2 * pfns.length))];
            System.arraycopy(pfns, 0, grown, 0, count);
            pfns = grown;
        }
    }

    /** Moves up to {@code max} frames out to {@code to[0..]}; returns how many (0 when empty). */
    synchronized int take(final long[] to, final int max)
    {
        final int n = Math.min(max, count);
        count -= n;
        System.arraycopy(pfns, count, to, 0, n);
        return n;
    }

    /** Where a drained reserve's frames go: the buddy allocator or the phantom bitmap. */
    @FunctionalInterface
    interface Sink
    {
        void free(long[] pfns, int from, int n);
    }

    /** Hands every frame in the reserve to {@code sink}, under the reserve's lock; returns how many. */
    synchronized int drainTo(final Sink sink)
    {
        final int n = count;
        sink.free(pfns, 0, n);
        count = 0;
        return n;
    }

    synchronized int count()
    {
        return count;
    }
}
