package io.mmemu.bench;

import java.util.concurrent.TimeUnit;

import io.mmemu.phys.Backing;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Mman;
import io.mmemu.vm.Signal;
import io.mmemu.vm.ThpMode;
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
 * Transparent huge pages through {@code Cpu.writeByte}: a 64 MiB private anonymous mapping at a
 * 2 MiB-aligned address, MADV_HUGEPAGE, THP policy madvise, full backing. {@code hugeFault}: one
 * write per 2 MiB block, each a fault that maps the block with one PMD leaf (an order-9 block from
 * the buddy allocator), per fault. {@code everyPage}: a write to every 4 KiB page (page_fault1's
 * touch) — one fault per block, the other 511 pages TLB misses refilled from the TLB's 2 MiB entry
 * — per page, to set beside {@link FaultBenchmark}'s 4 KiB write fault. Before each invocation
 * MADV_DONTNEED clears the leaves (their blocks go back whole), outside the timing.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.OPEN_MISC})
public class HugeFaultBenchmark
{
    private static final long HUGE = 2L << 20;
    private static final int BLOCKS = 32;
    private static final long LENGTH = BLOCKS * HUGE;
    private static final long BASE = 0x4000_0000L;

    private EmulatorFixture fixture;
    private Cpu cpu;

    @Setup(Level.Trial)
    public void setUp()
    {
        fixture = new EmulatorFixture(1L << 30, Backing.FULL);
        fixture.addressSpace().thp(ThpMode.MADVISE);
        cpu = fixture.cpu();
        fixture.map(BASE, LENGTH, false);
        if (cpu.madvise(BASE, LENGTH, Mman.MADV_HUGEPAGE) != 0)
        {
            throw new IllegalStateException("madvise(MADV_HUGEPAGE) failed");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        fixture.close();
    }

    @Setup(Level.Invocation)
    public void zap()
    {
        fixture.dontNeed(BASE, LENGTH);
    }

    @Benchmark
    @OperationsPerInvocation(BLOCKS)
    public int hugeFault()
    {
        return touch(HUGE);
    }

    @Benchmark
    @OperationsPerInvocation((int)(LENGTH / EmulatorFixture.PAGE))
    public int everyPage()
    {
        return touch(EmulatorFixture.PAGE);
    }

    private int touch(final long stride)
    {
        int signals = 0;
        for (long va = BASE; va < BASE + LENGTH; va += stride)
        {
            signals |= cpu.writeByte(va, 1);
        }
        if (signals != Signal.NONE)
        {
            throw new IllegalStateException("a fault raised a signal: " + signals);
        }
        return signals;
    }
}
