package io.mmemu.bench;

import java.util.concurrent.TimeUnit;

import io.mmemu.phys.Backing;
import io.mmemu.vm.ThpMode;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import static io.mmemu.vm.Mman.MREMAP_FIXED;
import static io.mmemu.vm.Mman.MREMAP_MAYMOVE;

/**
 * mremap(MREMAP_MAYMOVE|MREMAP_FIXED) of a whole populated 64 MiB private anonymous mapping
 * (16,384 pages), per page, moved back and forth between two fixed addresses (one CPU):
 * {@code pt-pages} between 2 MiB-aligned ends (each PT page moves whole), {@code ptes} to an end
 * one page off (every entry moves on its own), {@code thp} the same mapping in 2 MiB leaves
 * (THP always; each leaf moves whole). Every move freezes the source's entries, flushes, moves
 * them and thaws the destination, then unmaps the old range (its empty tables stay).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.OPEN_MISC})
public class MremapBenchmark
{
    private static final int PAGES = 16_384;
    private static final long LENGTH = PAGES * EmulatorFixture.PAGE;
    private static final long HERE = 0x1000_0000_0000L;
    private static final long THERE = 0x2000_0000_0000L;

    @Param({"pt-pages", "ptes", "thp"})
    public String layout;

    private EmulatorFixture fixture;
    private long[] ends;
    private int at;

    @Setup(Level.Trial)
    public void setUp()
    {
        fixture = new EmulatorFixture(1L << 30, Backing.FULL);
        fixture.addressSpace().thp("thp".equals(layout) ? ThpMode.ALWAYS : ThpMode.NEVER);
        ends = new long[] {HERE, "ptes".equals(layout) ? THERE + EmulatorFixture.PAGE : THERE};
        fixture.map(HERE, LENGTH, true);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        fixture.close();
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public long mremap()
    {
        final long from = ends[at];
        at ^= 1;
        final long r = fixture.cpu().mremap(from, LENGTH, LENGTH, MREMAP_MAYMOVE | MREMAP_FIXED, ends[at]);
        if (r != ends[at])
        {
            throw new IllegalStateException("mremap failed: " + r);
        }
        return r;
    }
}
