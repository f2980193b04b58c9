package io.mmemu.vm;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

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

/**
 * The VMA tree's find alone (Linux's find_vma), the engine's {@link VmaTree} beside its previous
 * two-level array ({@link TwoLevelVmaTree}), both holding the same N one-page VMAs one page apart
 * and probed in the same run. Every op draws a fresh uniformly random address over the whole
 * mapped span (a xorshift step, no table of probes, so no address repeats in a pattern the caches
 * could learn), half landing in a VMA and half in the gap below one; {@link #addressOnly} is that
 * draw alone, the overhead to subtract. {@link #editNew} and {@link #editOld} are the cost of one
 * edit (a random VMA replaced), which allocates the new version by design. Built the way an address space grows: one insert at a
 * time, in ascending address order (mmap at rising fixed addresses) or in random order.
 * <p>
 * In package {@code io.mmemu.vm} because the tree is package-private to the engine.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
public class VmaFindBenchmark
{
    private static final long BASE = 0x1000_0000_0000L;
    private static final long PAGE = 4096;

    @Param({"1", "1000", "65530"})
    public int vmas;

    @Param({"ascending", "random"})
    public String order;

    private Vma[] all;
    private VmaTree tree;
    private TwoLevelVmaTree old;
    private long span;
    private long state = 0x9E37_79B9_7F4A_7C15L;

    @Setup(Level.Trial)
    public void setUp()
    {
        all = new Vma[vmas];
        for (int i = 0; i < vmas; i++)
        {
            final long start = BASE + (2L * i + 1) * PAGE;
            all[i] = new Vma(start, start + PAGE, VmFlags.VM_READ | VmFlags.VM_WRITE, start >>> 12, null, null, null);
        }
        final int[] insertOrder = new int[vmas];
        for (int i = 0; i < vmas; i++)
        {
            insertOrder[i] = i;
        }
        if ("random".equals(order))
        {
            final SplittableRandom random = new SplittableRandom(42);
            for (int i = vmas - 1; i > 0; i--)
            {
                final int j = random.nextInt(i + 1);
                final int t = insertOrder[i];
                insertOrder[i] = insertOrder[j];
                insertOrder[j] = t;
            }
        }
        tree = VmaTree.EMPTY;
        old = TwoLevelVmaTree.EMPTY;
        for (final int i : insertOrder)
        {
            final Vma vma = all[i];
            final int at = tree.indexAfter(vma.start);
            tree = tree.replace(at, at, vma);
            old = old.replace(at, at, vma);
        }
        span = 2L * vmas * PAGE;
        for (int i = 0; i < 100_000; i++)
        {
            final long addr = nextAddress();
            final Vma expected = all[(int)Math.min(vmas - 1, (addr - BASE) / (2 * PAGE))];
            if (tree.find(addr) != expected || old.find(addr) != expected)
            {
                throw new IllegalStateException("find(0x" + Long.toHexString(addr) + ") disagrees");
            }
        }
    }

    /** A uniformly random address in [BASE, BASE + span): xorshift64, then a multiply-high scale. */
    private long nextAddress()
    {
        long x = state;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        state = x;
        return BASE + (((x >>> 32) * span) >>> 32);
    }

    @Benchmark
    public long addressOnly()
    {
        return nextAddress();
    }

    @Benchmark
    public Vma findNew()
    {
        return tree.find(nextAddress());
    }

    @Benchmark
    public Vma findOld()
    {
        return old.find(nextAddress());
    }

    /** One edit: a random VMA replaced (by itself), the new version built and dropped. */
    @Benchmark
    public VmaTree editNew()
    {
        final int i = nextIndex();
        return tree.replace(i, i + 1, all[i]);
    }

    @Benchmark
    public TwoLevelVmaTree editOld()
    {
        final int i = nextIndex();
        return old.replace(i, i + 1, all[i]);
    }

    private int nextIndex()
    {
        return (int)((nextAddress() - BASE) / (2 * PAGE));
    }
}
