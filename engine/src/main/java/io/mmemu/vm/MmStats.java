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
 * @param faultLatency    fault handling time, ns
 * @param mmapWriteHold   mmap lock write hold times, ns
 * @param mmapReadHold    mmap lock read hold times (faults in mmap-lock mode), ns
 * @param vmaLockHold     per-VMA write lock hold times (lock to unlock or retire), ns
 * @param ptlHold         PTE lock hold times in range operations (zap, protect, populate, move), ns
 */
public record MmStats(long faults, long faultWaits, long faultRetries, long segvMaperr, long segvAccerr, long sigbus,
    long zeroPageCow, Histogram faultLatency, Histogram mmapWriteHold, Histogram mmapReadHold, Histogram vmaLockHold,
    Histogram ptlHold)
{
    static MmStats sum(final Iterable<CpuStats> all)
    {
        long faults = 0;
        long waits = 0;
        long retries = 0;
        long maperr = 0;
        long accerr = 0;
        long sigbus = 0;
        long cow = 0;
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
            latency.add(s.faultLatency);
            write.add(s.mmapWriteHold);
            read.add(s.mmapReadHold);
            vma.add(s.vmaLockHold);
            ptl.add(s.ptlHold);
        }
        return new MmStats(faults, waits, retries, maperr, accerr, sigbus, cow, latency, write, read, vma, ptl);
    }
}
