package io.mmemu.bench;

import java.util.concurrent.TimeUnit;

import io.mmemu.phys.Backing;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Signal;
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
 * One page fault per op, through {@code Cpu.readByte}/{@code writeByte} on empty entries of a 2 MiB
 * private anonymous mapping (full backing: a write fault takes a real 4 KiB frame): a read fault
 * mapping the zero page, a write fault allocating a page, and a write to a page that a read
 * mapped to the zero page (copy-on-write break). The mapping is made once; before each invocation
 * {@code MADV_DONTNEED} empties its entries again (and for the COW case read faults map the zero
 * page), outside the timing. Neither allocates on the heap, so {@code -prof gc}'s B/op is the
 * faults' own (0) plus JMH's bookkeeping shared over the 512 faults.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.OPEN_MISC})
public class FaultBenchmark
{
    private static final int PAGES = 512;
    private static final long LENGTH = PAGES * EmulatorFixture.PAGE;

    private EmulatorFixture fixture;
    private Cpu cpu;
    private long base;

    @Setup(Level.Trial)
    public void setUp()
    {
        fixture = new EmulatorFixture(1L << 30, Backing.FULL);
        cpu = fixture.cpu();
        base = fixture.map(0, LENGTH, false);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        fixture.close();
    }

    /** Empties the range's entries (freeing its pages); read-faults it too when the benchmark is the COW one. */
    @Setup(Level.Invocation)
    public void zap(final org.openjdk.jmh.infra.BenchmarkParams params)
    {
        fixture.dontNeed(base, LENGTH);
        if (params.getBenchmark().endsWith("zeroPageCow"))
        {
            touch(false);
        }
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public int readZeroPage()
    {
        return touch(false);
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public int write()
    {
        return touch(true);
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public int zeroPageCow()
    {
        return touch(true);
    }

    private int touch(final boolean write)
    {
        int signals = 0;
        for (long va = base; va < base + LENGTH; va += EmulatorFixture.PAGE)
        {
            signals |= write ? cpu.writeByte(va, 1) : cpu.readByte(va);
        }
        if (signals != Signal.NONE)
        {
            throw new IllegalStateException("a fault raised a signal: " + signals);
        }
        return signals;
    }
}
