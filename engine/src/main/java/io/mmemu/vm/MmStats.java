package io.mmemu.vm;

import org.HdrHistogram.Histogram;

/**
 * The counters of an address space: the sum of its CPUs' {@link CpuStats}, including CPUs that
 * have been closed. Same counters in both locking modes.
 *
 * @param faults          page faults handled (a fault that raised a signal counts)
 * @param faultWaits      faults that found their VMA locked and waited on its completion
 * @param faultRetries    lookups repeated after such a wait
 * @param segvMaperr      SIGSEGV with SEGV_MAPERR delivered
 * @param segvAccerr      SIGSEGV with SEGV_ACCERR delivered
 * @param sigbus          SIGBUS delivered (past the end of a file, a huge leaf the handler cannot change, bad tables)
 * @param zeroPageCow     zero-page copy-on-write breaks
 * @param cowBreaks       copy-on-write breaks of pages fork shared (wp_page_copy)
 * @param cowReuses       write faults that reused a page fork had shared, once it was no longer (wp_page_reuse)
 * @param forks           forks made by this address space's CPUs
 * @param forkSharedPages pages those forks mapped in a child as well (shared copy-on-write, or page-cache pages)
 * @param thpFaultAlloc   faults that mapped a 2 MiB page (vmstat's thp_fault_alloc)
 * @param thpFaultFallback faults where a 2 MiB page was allowed but none was free: 4 KiB instead (thp_fault_fallback)
 * @param thpZeroPage     read faults that mapped the huge zero page (thp_zero_page_alloc's mappings)
 * @param faultLatency    fault handling time, ns
 * @param mmapWriteHold   mmap lock write hold times, ns
 * @param mmapReadHold    mmap lock read hold times (faults in mmap-lock mode), ns
 * @param vmaLockHold     per-VMA write lock hold times (lock to unlock or retire), ns
 * @param ptlHold         PTE lock hold times in range operations (zap, protect, populate, move), ns
 */
public record MmStats(long faults, long faultWaits, long faultRetries, long segvMaperr, long segvAccerr, long sigbus,
    long zeroPageCow, long cowBreaks, long cowReuses, long forks, long forkSharedPages, long thpFaultAlloc,
    long thpFaultFallback, long thpZeroPage, Histogram faultLatency, Histogram mmapWriteHold, Histogram mmapReadHold, Histogram vmaLockHold,
    Histogram ptlHold)
{
    /** The counters of several address spaces together (a program's processes): sums, histograms merged. */
    public static MmStats total(final java.util.List<MmStats> all)
    {
        final CpuStats sum = new CpuStats();
        for (final MmStats s : all)
        {
            sum.faults += s.faults;
            sum.faultWaits += s.faultWaits;
            sum.faultRetries += s.faultRetries;
            sum.segvMaperr += s.segvMaperr;
            sum.segvAccerr += s.segvAccerr;
            sum.sigbus += s.sigbus;
            sum.zeroPageCow += s.zeroPageCow;
            sum.cowBreaks += s.cowBreaks;
            sum.cowReuses += s.cowReuses;
            sum.forks += s.forks;
            sum.forkSharedPages += s.forkSharedPages;
            sum.thpFaultAlloc += s.thpFaultAlloc;
            sum.thpFaultFallback += s.thpFaultFallback;
            sum.thpZeroPage += s.thpZeroPage;
            sum.faultLatency.add(s.faultLatency);
            sum.mmapWriteHold.add(s.mmapWriteHold);
            sum.mmapReadHold.add(s.mmapReadHold);
            sum.vmaLockHold.add(s.vmaLockHold);
            sum.ptlHold.add(s.ptlHold);
        }
        return sum(java.util.List.of(sum));
    }

    static MmStats sum(final Iterable<CpuStats> all)
    {
        long faults = 0;
        long waits = 0;
        long retries = 0;
        long maperr = 0;
        long accerr = 0;
        long sigbus = 0;
        long cow = 0;
        long breaks = 0;
        long reuses = 0;
        long forks = 0;
        long shared = 0;
        long thp = 0;
        long thpFallback = 0;
        long thpZero = 0;
        final Histogram latency = CpuStats.histogram();
        final Histogram write = CpuStats.histogram();
        final Histogram read = CpuStats.histogram();
        final Histogram vma = CpuStats.histogram();
        final Histogram ptl = CpuStats.histogram();
        for (final CpuStats s : all)
        {
            faults += s.faults;
            waits += s.faultWaits;
            retries += s.faultRetries;
            maperr += s.segvMaperr;
            accerr += s.segvAccerr;
            sigbus += s.sigbus;
            cow += s.zeroPageCow;
            breaks += s.cowBreaks;
            reuses += s.cowReuses;
            forks += s.forks;
            shared += s.forkSharedPages;
            thp += s.thpFaultAlloc;
            thpFallback += s.thpFaultFallback;
            thpZero += s.thpZeroPage;
            latency.add(s.faultLatency);
            write.add(s.mmapWriteHold);
            read.add(s.mmapReadHold);
            vma.add(s.vmaLockHold);
            ptl.add(s.ptlHold);
        }
        return new MmStats(faults, waits, retries, maperr, accerr, sigbus, cow, breaks, reuses, forks, shared, thp, thpFallback,
            thpZero, latency, write, read, vma, ptl);
    }
}
