package io.mmemu.bench;

import java.util.concurrent.TimeUnit;

import io.mmemu.phys.Backing;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Order-0 frame allocation and free through one thread's {@link FrameCache}: the path a fault
 * takes for its data page and a walk for a missing table. One op is an allocation and its free.
 * The single pair never leaves the cache; {@link #dataBurst} allocates and frees more than the
 * cache holds, so it also pays the batched trips to the buddy allocator under its monitor.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.OPEN_MISC})
public class FrameCacheBenchmark
{
    /** Frames per burst: more than the cache's high mark, so refills and spills go to the buddy. */
    private static final int BURST = 512;

    /** One thread's memory and frame cache, made per trial. */
    public abstract static class Memory
    {
        private final long bytes;
        private final Backing backing;
        PhysicalMemory memory;
        FrameCache cache;

        Memory(final long bytes, final Backing backing)
        {
            this.bytes = bytes;
            this.backing = backing;
        }

        @Setup(Level.Trial)
        public void setUp()
        {
            memory = PhysicalMemory.create(bytes, backing);
            cache = memory.newCache();
        }

        @TearDown(Level.Trial)
        public void tearDown()
        {
            memory.close();
        }
    }

    /** Memory whose frames all have bytes: data frames carry descriptors and a refcount. */
    @State(Scope.Thread)
    public static class Full extends Memory
    {
        final long[] burst = new long[BURST];

        public Full()
        {
            super(64L << 20, Backing.FULL);
        }
    }

    /** Tables-only memory: data frames are phantom, tracked by a bitmap. */
    @State(Scope.Thread)
    public static class TablesOnly extends Memory
    {
        public TablesOnly()
        {
            super(1L << 30, Backing.TABLES_ONLY);
        }
    }

    /** A zeroed data page handed out and released clean (so it needs no clearing when reused). */
    @Benchmark
    public long data(final Full state)
    {
        return allocateRelease(state);
    }

    /** A PT page allocated and freed empty. */
    @Benchmark
    public long table(final Full state)
    {
        final long pfn = state.memory.allocateTable(state.cache, 1);
        state.memory.freeTable(state.cache, pfn);
        return pfn;
    }

    /** A phantom data frame (tables-only backing) handed out and released. */
    @Benchmark
    public long phantomData(final TablesOnly state)
    {
        return allocateRelease(state);
    }

    /** {@value #BURST} data pages allocated, then all released: the cache refills and spills in batches. */
    @Benchmark
    @OperationsPerInvocation(BURST)
    public long dataBurst(final Full state)
    {
        final long[] pfns = state.burst;
        for (int i = 0; i < BURST; i++)
        {
            pfns[i] = state.memory.allocateData(state.cache);
        }
        for (int i = 0; i < BURST; i++)
        {
            state.memory.releaseData(state.cache, pfns[i], true);
        }
        return pfns[BURST - 1];
    }

    private static long allocateRelease(final Memory state)
    {
        final long pfn = state.memory.allocateData(state.cache);
        state.memory.releaseData(state.cache, pfn, true);
        return pfn;
    }
}
