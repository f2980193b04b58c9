package io.mmemu.vm;

import org.HdrHistogram.Histogram;

/**
 * One CPU's counters and latency histograms: written only by its owner thread (plain fields, no
 * sharing on the hot path), read by {@link MmStats#snapshot} at quiescent points or as an
 * approximate live view. HdrHistogram's recordValue does not allocate.
 */
public final class CpuStats
{
    /** One hour in nanoseconds: the histograms' range; longer samples are clamped. */
    static final long MAX_NANOS = 3_600_000_000_000L;

    long faults;
    long faultWaits;
    long faultRetries;
    long segvMaperr;
    long segvAccerr;
    long sigbus;
    long zeroPageCow;
    /** Stacks this CPU's faults grew (expand_downwards that moved a VMA's start). */
    long stackGrowths;
    /** Write faults that copied a page fork shared (wp_page_copy). */
    long cowBreaks;
    /** Write faults that reused a page fork had shared, its other mappings gone (wp_page_reuse). */
    long cowReuses;
    /** Address spaces this CPU forked, and the pages those forks shared with their children. */
    long forks;
    long forkSharedPages;
    /** /proc/vmstat's thp_fault_alloc, thp_fault_fallback and thp_zero_page (mapped) of this CPU's faults. */
    long thpFaultAlloc;
    long thpFaultFallback;
    long thpZeroPage;
    final Histogram faultLatency = histogram();
    final Histogram mmapWriteHold = histogram();
    final Histogram mmapReadHold = histogram();
    final Histogram vmaLockHold = histogram();
    final Histogram ptlHold = histogram();

    static Histogram histogram()
    {
        return new Histogram(MAX_NANOS, 2);
    }

    static void record(final Histogram histogram, final long nanos)
    {
        histogram.recordValue(Math.min(Math.max(nanos, 0), MAX_NANOS));
    }

    void countSignal(final int signal)
    {
        switch (signal)
        {
            case Signal.SEGV_MAPERR -> segvMaperr++;
            case Signal.SEGV_ACCERR -> segvAccerr++;
            case Signal.BUS_ADRERR -> sigbus++;
            default ->
            {
            }
        }
    }
}
