package io.mmemu.bench.workload;

import java.util.Arrays;

/**
 * One timed run of a {@link Workload} on one side.
 *
 * @param ops         operations of each thread
 * @param elapsedNs   time from the threads' start to the last one's end
 * @param all         fault latencies over the whole run (seed; {@link Latency#NONE} otherwise)
 * @param window      fault latencies while the large munmap ran (seed)
 * @param munmapNs    the large munmap's time (seed)
 * @param munmapPages pages the large munmap unmapped (seed)
 * @param mmapHoldNs  the longest mmap-lock write hold while the large munmap ran (emulator seed
 *                    only; -1 where not measured)
 * @param ptlHoldNs   the longest PTE-lock hold meanwhile
 * @param vmaHoldNs   the longest per-VMA write lock hold meanwhile: the unmapped VMA's is held from
 *                    the start of its zap to its retirement, blocking faults on that VMA only
 * @param faultWaits  faults that found their VMA locked by another thread's call and waited
 *                    (emulator only; -1 where not counted)
 */
public record RunResult(long[] ops, long elapsedNs, Latency all, Latency window, long munmapNs, long munmapPages,
    long mmapHoldNs, long ptlHoldNs, long vmaHoldNs, long faultWaits)
{
    /** The longest single hold of a lock other threads' faults and calls contend for (mmap lock, PTE lock). */
    public long longestHoldNs()
    {
        return Math.max(mmapHoldNs, ptlHoldNs);
    }

    public long totalOps()
    {
        return Arrays.stream(ops).sum();
    }

    /** Operations per second of all threads together. */
    public double totalRate()
    {
        return totalOps() * 1e9 / elapsedNs;
    }

    public double threadRate(final int thread)
    {
        return ops[thread] * 1e9 / elapsedNs;
    }

    /** Nanoseconds per page of the large munmap (seed). */
    public double munmapNsPerPage()
    {
        return munmapPages == 0 ? 0 : (double)munmapNs / munmapPages;
    }
}
