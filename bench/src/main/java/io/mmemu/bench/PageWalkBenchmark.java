package io.mmemu.bench;

import java.util.concurrent.TimeUnit;

import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.Backing;
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
 * The four-level walk of a present 4 KiB translation, as a TLB fill does it:
 * {@link PageWalker#translate} over {@code pages} populated pages visited in a scattered order.
 * With 64 pages the walk's entries stay in L1 (tables hot); with 4 Mi pages (16 GiB mapped) the PTE
 * reads spread over 32 MiB of PT pages, beyond L2 and much of L3 (tables cold-ish), which is what
 * the walk after a TLB miss on a large working set costs.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.OPEN_MISC})
public class PageWalkBenchmark
{
    /** Odd multiplier: visiting {@code i * STRIDE mod pages} covers every page in a scattered order. */
    private static final long STRIDE = 0x9E3779B97F4A7C15L;

    @Param({"64", "4194304"})
    public int pages;

    private PageTableFixture tables;
    private PageWalker walker;
    private long cr3;
    private long mask;
    private long next;

    @Setup(Level.Trial)
    public void setUp()
    {
        if (Integer.bitCount(pages) != 1)
        {
            throw new IllegalArgumentException("pages must be a power of two: " + pages);
        }
        final long bytes = (long)pages << 12;
        // tables-only: data frames are phantom, so 16 GiB mapped costs only its tables
        tables = new PageTableFixture(Math.max(1L << 30, 2 * bytes), Backing.TABLES_ONLY);
        if (tables.populate(PageTableFixture.BASE, PageTableFixture.BASE + bytes) != PageTableEditor.OK)
        {
            throw new IllegalStateException("populate failed");
        }
        walker = new PageWalker(tables.memory(), tables.cache());
        cr3 = tables.cr3();
        mask = pages - 1;
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        tables.close();
    }

    @Benchmark
    public long translate()
    {
        final long va = PageTableFixture.BASE + (((next++ * STRIDE) & mask) << 12);
        return walker.translate(cr3, va);
    }
}
