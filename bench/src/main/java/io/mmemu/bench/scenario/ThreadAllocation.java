package io.mmemu.bench.scenario;

import java.lang.management.ManagementFactory;

/**
 * Heap bytes allocated by the calling thread, exactly (HotSpot's per-thread TLAB accounting), so a
 * scenario can show that a hot path allocates nothing without JMH's own bookkeeping in the figure.
 */
public final class ThreadAllocation
{
    private static final com.sun.management.ThreadMXBean THREADS =
        (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();

    private ThreadAllocation()
    {
    }

    /** Bytes the calling thread has allocated since it started. */
    public static long allocatedBytes()
    {
        return THREADS.getCurrentThreadAllocatedBytes();
    }
}
