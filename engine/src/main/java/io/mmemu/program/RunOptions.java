package io.mmemu.program;

import java.nio.file.Path;
import java.util.Objects;

import io.mmemu.phys.Backing;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.LockingMode;

/**
 * How to run a program.
 *
 * @param physicalMemory emulated physical memory in bytes
 * @param backing        whether data frames have bytes ({@link Backing#FULL}) or are only accounted
 * @param locking        per-VMA locks (the seed's design) or the classic mmap lock
 * @param section        the sectioned unmap's section, bytes
 * @param seed           the seed of every random choice (touch ... random N without its own seed)
 * @param durationNanos  after this long, loops start no new iteration ({@link #NO_DURATION}: no cap)
 * @param threads        the thread count of {@code parallel} without a count
 * @param kernel         the kernel build to emulate
 * @param counters       the live counters file, or null for none
 */
public record RunOptions(long physicalMemory, Backing backing, LockingMode locking, long section, long seed,
                         long durationNanos, int threads, KernelConfig kernel, Path counters)
{
    public static final long NO_DURATION = Long.MAX_VALUE;
    public static final long DEFAULT_PHYSICAL_MEMORY = 4L << 30;
    public static final int DEFAULT_THREADS = 4;

    public RunOptions
    {
        Objects.requireNonNull(backing, "backing");
        Objects.requireNonNull(locking, "locking");
        Objects.requireNonNull(kernel, "kernel");
        if (physicalMemory <= 0)
        {
            throw new IllegalArgumentException("physical memory must be positive: " + physicalMemory);
        }
        if (durationNanos <= 0)
        {
            throw new IllegalArgumentException("duration must be positive: " + durationNanos + " ns");
        }
        if (threads < 1 || threads > Run.MAX_THREADS)
        {
            throw new IllegalArgumentException("threads must be 1 to " + Run.MAX_THREADS + ": " + threads);
        }
    }

    /** The defaults: 4 GiB fully backed, per-VMA locks, 1 GiB sections, seed 1, no duration cap, 4 threads, no counters file. */
    public static RunOptions defaults()
    {
        return new RunOptions(DEFAULT_PHYSICAL_MEMORY, Backing.FULL, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, 1,
            NO_DURATION, DEFAULT_THREADS, KernelConfig.MAINLINE, null);
    }

    public RunOptions withPhysicalMemory(final long bytes, final Backing how)
    {
        return new RunOptions(bytes, how, locking, section, seed, durationNanos, threads, kernel, counters);
    }

    public RunOptions withLocking(final LockingMode mode)
    {
        return new RunOptions(physicalMemory, backing, mode, section, seed, durationNanos, threads, kernel, counters);
    }

    public RunOptions withDuration(final long nanos)
    {
        return new RunOptions(physicalMemory, backing, locking, section, seed, nanos, threads, kernel, counters);
    }

    public RunOptions withThreads(final int count)
    {
        return new RunOptions(physicalMemory, backing, locking, section, seed, durationNanos, count, kernel, counters);
    }

    public RunOptions withCounters(final Path file)
    {
        return new RunOptions(physicalMemory, backing, locking, section, seed, durationNanos, threads, kernel, file);
    }
}
