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
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * {@code Cpu.readByte} of a present page whose translation is in the TLB: the emulated MMU's hit
 * path (shootdown poll, TLB probe, permission check, the byte load). 64 written pages, visited in
 * turn, all cached after the first round.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.OPEN_MISC})
public class TlbHitBenchmark
{
    private static final int PAGES = 64;

    private EmulatorFixture fixture;
    private Cpu cpu;
    private long base;
    private int next;

    @Setup(Level.Trial)
    public void setUp()
    {
        fixture = new EmulatorFixture(256L << 20, Backing.FULL);
        cpu = fixture.cpu();
        base = fixture.map(0, PAGES * EmulatorFixture.PAGE, false);
        for (int i = 0; i < PAGES; i++)
        {
            if (cpu.writeByte(base + i * EmulatorFixture.PAGE, i) != Signal.NONE)
            {
                throw new IllegalStateException("write fault failed");
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        fixture.close();
    }

    @Benchmark
    public long readByte()
    {
        final int page = next++ & (PAGES - 1);
        final int signal = cpu.readByte(base + ((long)page << 12) + 8);
        return signal + cpu.value();
    }
}
