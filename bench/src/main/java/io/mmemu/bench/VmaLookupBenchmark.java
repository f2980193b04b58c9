package io.mmemu.bench;

import java.util.SplittableRandom;
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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The VMA tree's find at 1, 1,000 and 65,530 VMAs (Linux's max_map_count) through a public path:
 * a read of an address in the gap just below a random VMA, so each op is a TLB miss, a page walk
 * that finds no table, a fault that looks the address up in the tree (descending to the VMA above
 * the gap) and a SEGV_MAPERR status. The 1-VMA row is the path without the tree's depth; the rows'
 * difference is the find's cost as the tree grows. The VMAs are one page each, one page apart (so
 * none merge), never touched.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.OPEN_MISC})
public class VmaLookupBenchmark
{
    private static final long BASE = 0x1000_0000_0000L;
    private static final int PROBES = 1 << 12;

    @Param({"1", "1000", "65530"})
    public int vmas;

    private EmulatorFixture fixture;
    private Cpu cpu;
    private final long[] gaps = new long[PROBES];
    private int next;

    @Setup(Level.Trial)
    public void setUp()
    {
        fixture = new EmulatorFixture(256L << 20, Backing.TABLES_ONLY);
        cpu = fixture.cpu();
        for (int i = 0; i < vmas; i++)
        {
            fixture.map(BASE + 2L * i * EmulatorFixture.PAGE + EmulatorFixture.PAGE, EmulatorFixture.PAGE, false);
        }
        final int mapped = fixture.addressSpace().mapCount();
        if (mapped != vmas)
        {
            throw new IllegalStateException(mapped + " VMAs, not " + vmas);
        }
        final SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < PROBES; i++)
        {
            gaps[i] = BASE + 2L * random.nextInt(vmas) * EmulatorFixture.PAGE;
            if (cpu.readByte(gaps[i]) != Signal.SEGV_MAPERR)
            {
                throw new IllegalStateException("a gap read did not fault with SEGV_MAPERR");
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        fixture.close();
    }

    @Benchmark
    public int gapReadFault()
    {
        return cpu.readByte(gaps[next++ & (PROBES - 1)]);
    }
}
