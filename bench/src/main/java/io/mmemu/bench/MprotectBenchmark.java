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

import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;

/**
 * mprotect of a whole populated 64 MiB private anonymous mapping (16,384 mapped entries), per page:
 * the VMA's flags changed in place and every entry rewritten under its PT lock, then one TLB
 * shootdown (one CPU). Each invocation flips the mapping between read-only and read-write, so every
 * entry changes every time.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.OPEN_MISC})
public class MprotectBenchmark
{
    private static final int PAGES = 16_384;
    private static final long LENGTH = PAGES * EmulatorFixture.PAGE;

    private EmulatorFixture fixture;
    private long base;
    private boolean writable = true;

    @Setup(Level.Trial)
    public void setUp()
    {
        fixture = new EmulatorFixture(1L << 30, Backing.FULL);
        base = fixture.map(0, LENGTH, true);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        fixture.close();
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public long mprotect()
    {
        writable = !writable;
        final long r = fixture.cpu().mprotect(base, LENGTH, writable ? PROT_READ | PROT_WRITE : PROT_READ);
        if (r != 0)
        {
            throw new IllegalStateException("mprotect failed: " + r);
        }
        return r;
    }
}
