package io.mmemu.vm;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link VmaTree} against a reference model (a TreeMap keyed by VMA end): random sequences of
 * inserts, removals and replacements of every size, from single VMAs to thousands at once, growing
 * the tree through many leaf and branch splits and shrinking it back through merges, with every
 * query checked after each edit and the node-fill invariant ({@link VmaTree#checkShape}) held.
 */
class VmaTreeTest
{
    private static final long PAGE = 4096;
    /** Addresses are page numbers in [1, PAGES) times PAGE. */
    private static final long PAGES = 1L << 20;

    /** Addresses probed after every edit besides random ones: both ends of the long range and of the map. */
    private static final long[] EXTREMES = {Long.MIN_VALUE, -1, 0, PAGES * PAGE, Long.MAX_VALUE - 1, Long.MAX_VALUE};

    private static Vma vma(final long startPage, final long endPage)
    {
        return new Vma(startPage * PAGE, endPage * PAGE, VmFlags.VM_READ, startPage, null, null, null);
    }

    @Test
    void emptyTreeFindsNothing()
    {
        final VmaTree tree = VmaTree.EMPTY;
        assertEquals(0, tree.size());
        assertNull(tree.find(0));
        assertNull(tree.lookup(PAGE));
        assertEquals(0, tree.indexAfter(Long.MAX_VALUE));
        assertNull(tree.at(0));
        assertNull(tree.prev(0));
        assertEquals(0, tree.toArray().length);
        assertEquals("", tree.checkShape());
    }

    @Test
    void findIsTheFirstVmaEndingAboveTheAddress()
    {
        final Vma a = vma(10, 12);
        final Vma b = vma(20, 21);
        final VmaTree tree = VmaTree.build(a, b);
        assertSame(a, tree.find(0));
        assertSame(a, tree.find(12 * PAGE - 1));
        assertSame(b, tree.find(12 * PAGE));
        assertNull(tree.lookup(12 * PAGE));
        assertSame(b, tree.lookup(20 * PAGE));
        assertNull(tree.find(21 * PAGE));
        assertEquals(1, tree.indexAfter(12 * PAGE));
        assertEquals(2, tree.indexAfter(21 * PAGE));
        assertSame(a, tree.prev(1));
        assertNull(tree.at(2));
    }

    @Test
    void badRangesAreRejected()
    {
        final VmaTree tree = VmaTree.build(vma(1, 2), vma(3, 4));
        assertThrows(IllegalArgumentException.class, () -> tree.replace(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> tree.replace(1, 0));
        assertThrows(IllegalArgumentException.class, () -> tree.replace(0, 3));
    }

    @Test
    void editsLeaveTheOldVersionUntouched()
    {
        final Vma[] first = new Vma[5_000];
        for (int i = 0; i < first.length; i++)
        {
            first[i] = vma(2L * i + 1, 2L * i + 2);
        }
        final VmaTree before = VmaTree.build(first);
        final VmaTree after = before.replace(100, 4_000, vma(201, 8_000));
        assertArrayEquals(first, before.toArray());
        assertEquals("", before.checkShape());
        assertEquals(first.length - 3_900 + 1, after.size());
        assertEquals("", after.checkShape());
    }

    @Test
    void randomEditsMatchTheModel()
    {
        for (long seed = 1; seed <= 6; seed++)
        {
            runAgainstModel(seed, 2_500);
        }
    }

    /**
     * Grows toward a random size then shrinks, over and over: each step replaces a random index
     * range (empty for a pure insert) with random VMAs filling part of the freed address range.
     */
    private static void runAgainstModel(final long seed, final int steps)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final TreeMap<Long, Vma> model = new TreeMap<>();
        VmaTree tree = VmaTree.EMPTY;
        boolean growing = true;
        int goal = 20_000;
        for (int step = 0; step < steps; step++)
        {
            final String at = "seed " + seed + " step " + step;
            final int size = tree.size();
            if (growing && size >= goal)
            {
                growing = false;
            }
            else if (!growing && size <= goal / 20)
            {
                growing = true;
                goal = 1 + random.nextInt(30_000);
            }
            final int removeCount = removeCount(random, size, growing);
            final int from = random.nextInt(size - removeCount + 1);
            final int to = from + removeCount;
            final long low = from > 0 ? tree.get(from - 1).end / PAGE : 1;
            final long high = to < size ? tree.get(to).start / PAGE : PAGES;
            final Vma[] with = fresh(random, low, high, insertCount(random, growing));
            final Vma[] removed = new Vma[removeCount];
            for (int i = from; i < to; i++)
            {
                removed[i - from] = tree.get(i);
            }
            final VmaTree next = tree.replace(from, to, with);
            for (final Vma vma : removed)
            {
                assertSame(vma, model.remove(vma.end), at);
            }
            for (final Vma vma : with)
            {
                model.put(vma.end, vma);
            }
            assertEquals(model.size() - with.length + removeCount, size, at + ": the old version changed");
            tree = next;
            check(tree, model, random, at);
        }
    }

    private static int removeCount(final SplittableRandom random, final int size, final boolean growing)
    {
        final int roll = random.nextInt(100);
        if (size == 0 || roll < (growing ? 55 : 10))
        {
            return 0;
        }
        if (roll < 90)
        {
            return 1 + random.nextInt(Math.min(size, 3));
        }
        return 1 + random.nextInt(Math.min(size, growing ? 40 : 3_000));
    }

    private static int insertCount(final SplittableRandom random, final boolean growing)
    {
        final int roll = random.nextInt(100);
        if (roll < (growing ? 5 : 40))
        {
            return 0;
        }
        if (roll < 95)
        {
            return 1 + random.nextInt(3);
        }
        return 1 + random.nextInt(growing ? 2_000 : 40);
    }

    /** Up to {@code count} sorted, disjoint VMAs inside pages [low, high). */
    private static Vma[] fresh(final SplittableRandom random, final long low, final long high, final int count)
    {
        final long room = high - low;
        final int n = (int)Math.min(count, room / 2);
        if (n == 0)
        {
            return new Vma[0];
        }
        // one VMA of one to four pages somewhere in each of n equal slots
        final List<Vma> out = new ArrayList<>(n);
        final long slot = room / n;
        for (int i = 0; i < n; i++)
        {
            final long slotEnd = low + (i + 1) * slot;
            final long start = low + i * slot + random.nextLong(slot - 1);
            out.add(vma(start, start + 1 + random.nextLong(Math.min(4, slotEnd - start))));
        }
        return out.toArray(new Vma[0]);
    }

    private static void check(final VmaTree tree, final TreeMap<Long, Vma> model, final SplittableRandom random, final String at)
    {
        if (tree.size() < 2 * VmaTree.RUN_MAX || random.nextInt(8) == 0)
        {
            assertEquals("", tree.checkShape(), at);
        }
        assertEquals(model.size(), tree.size(), at);
        final Vma[] expected = model.values().toArray(new Vma[0]);
        if (random.nextInt(20) == 0 || expected.length < 200)
        {
            assertArrayEquals(expected, tree.toArray(), at);
        }
        for (int probe = 0; probe < 64; probe++)
        {
            final int i = expected.length == 0 ? 0 : random.nextInt(expected.length);
            if (i < expected.length)
            {
                assertSame(expected[i], tree.get(i), at);
            }
            final long addr = probe < EXTREMES.length ? EXTREMES[probe] : probeAddress(random, expected);
            final Map.Entry<Long, Vma> next = model.higherEntry(addr);
            final Vma want = next == null ? null : next.getValue();
            assertSame(want, tree.find(addr), at + " find 0x" + Long.toHexString(addr));
            assertSame(want != null && want.start <= addr ? want : null, tree.lookup(addr), at);
            assertEquals(firstEndAbove(expected, addr), tree.indexAfter(addr), at);
        }
    }

    private static int firstEndAbove(final Vma[] sorted, final long addr)
    {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi)
        {
            final int mid = (lo + hi) >>> 1;
            if (sorted[mid].end > addr)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }
        return lo;
    }

    /** An address at or next to a VMA boundary, or a random one. */
    private static long probeAddress(final SplittableRandom random, final Vma[] vmas)
    {
        if (vmas.length == 0 || random.nextBoolean())
        {
            return random.nextLong(PAGES * PAGE);
        }
        final Vma vma = vmas[random.nextInt(vmas.length)];
        final long edge = random.nextBoolean() ? vma.start : vma.end;
        return edge + random.nextInt(3) - 1;
    }
}
