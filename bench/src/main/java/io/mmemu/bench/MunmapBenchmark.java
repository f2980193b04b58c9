package io.mmemu.bench;

import java.util.concurrent.TimeUnit;

import io.mmemu.phys.Backing;
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
 * munmap of a populated 64 MiB private anonymous mapping (full backing: 16,384 real data frames),
 * per page: VMA removal, zap under PTE locks, TLB shootdown (one CPU), frames and tables freed.
 * The MAP_POPULATE before each invocation is outside the timing.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.OPEN_MISC})
public class MunmapBenchmark
{
    private static final int PAGES = 16_384;
    private static final long LENGTH = PAGES * EmulatorFixture.PAGE;

    private EmulatorFixture fixture;
    private long base;

    @Setup(Level.Trial)
    public void setUp()
    {
        fixture = new EmulatorFixture(1L << 30, Backing.FULL);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        fixture.close();
    }

    @Setup(Level.Invocation)
    public void populate()
    {
        base = fixture.map(0, LENGTH, true);
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public long munmap()
    {
        return fixture.cpu().munmap(base, LENGTH);
    }
}
