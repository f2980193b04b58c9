package io.mmemu.bench;

import java.util.concurrent.TimeUnit;

import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.phys.Backing;
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
 * Populate then unmap 1 GiB of tables-only memory per op: 262,144 data frames, 512 PT pages and a
 * PMD page allocated, published under PTE locks, then zapped, gathered and freed. Sized so that
 * {@code -prof gc} shows the allocation of the whole range path per op; the 1 TiB rate is the
 * {@link io.mmemu.bench.scenario.PopulateScenario}'s.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.OPEN_MISC})
public class PopulateBenchmark
{
    public static final long RANGE = 1L << 30;
    public static final long PAGES = RANGE >>> 12;

    private PageTableFixture tables;

    @Setup(Level.Trial)
    public void setUp()
    {
        tables = new PageTableFixture(8L << 30, Backing.TABLES_ONLY);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        tables.close();
    }

    @Benchmark
    public long populateUnmap()
    {
        final long start = PageTableFixture.BASE;
        if (tables.populate(start, start + RANGE) != PageTableEditor.OK)
        {
            throw new IllegalStateException("populate failed");
        }
        final long populated = tables.done();
        if (tables.unmap(start, start + RANGE) != PageTableEditor.OK || tables.done() != populated)
        {
            throw new IllegalStateException("unmap failed");
        }
        return populated;
    }
}
