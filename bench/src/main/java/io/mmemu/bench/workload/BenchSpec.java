package io.mmemu.bench.workload;

import io.mmemu.phys.Backing;
import io.mmemu.vm.LockingMode;

/**
 * What to run: the workload, its threads, how long, the size each loop maps, and for the seed the
 * size of the large mapping each side unmaps (the host's is real memory, so usually smaller).
 */
public record BenchSpec(Workload workload, int threads, double seconds, long size, long bigSize, long hostBigSize,
    LockingMode locking, Backing backing)
{
    public static final long DEFAULT_SIZE = 128L << 20;

    public BenchSpec
    {
        if (threads < (workload.seed() ? 0 : 1) || threads > 1024)
        {
            throw new IllegalArgumentException("threads must be 1..1024 (0..1024 for seed): " + threads);
        }
        if (!(seconds > 0))
        {
            throw new IllegalArgumentException("seconds must be positive: " + seconds);
        }
        if (size < 4096 || (size & 4095) != 0)
        {
            throw new IllegalArgumentException("size must be a positive multiple of 4 KiB: " + size);
        }
    }

    public BenchSpec withThreads(final int n)
    {
        return new BenchSpec(workload, n, seconds, size, bigSize, hostBigSize, locking, backing);
    }

    public BenchSpec withLocking(final LockingMode mode)
    {
        return new BenchSpec(workload, threads, seconds, size, bigSize, hostBigSize, mode, backing);
    }

    public BenchSpec withSeconds(final double s)
    {
        return new BenchSpec(workload, threads, s, size, bigSize, hostBigSize, locking, backing);
    }
}
