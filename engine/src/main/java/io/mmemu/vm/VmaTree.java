package io.mmemu.vm;

import java.util.Arrays;

/**
 * The VMAs of an address space in address order: an immutable, persistent three-level B+-tree
 * whose search keys are VMA ends held in primitive {@code long[]} arrays. A change builds a new
 * tree that shares every untouched node (path copying) and is published by one release store in
 * {@link AddressSpace}; lookups take no lock at all: whatever version a reader loaded stays
 * consistent (every field is final and every array is filled before the tree is published), and
 * the garbage collector is the grace period (RCU without the bookkeeping).
 * <p>
 * Shape: the root is three parallel arrays over the <em>branches</em> (each branch's last end, the
 * branch, the global index of its first VMA); a {@link Branch} holds up to {@link #BRANCH_MAX}
 * <em>leaves</em> as parallel arrays (each leaf's last end, the leaf's ends, the leaf's VMAs); a leaf
 * is up to {@link #LEAF_MAX} VMAs with their ends in a {@code long[]} beside them. The branch sits
 * in the parent's array together with its keys, so a level costs one dependent load of a key array,
 * and a search touches no {@link Vma} until it returns the one it found.
 * <p>
 * Lookup ({@link #find}): a branch-free binary search of the root's ends (a few hundred at most,
 * hot in L1), then, in the branch and in the leaf, a branch-free count of the ends at or below the
 * address: its loads do not depend on each other, so a node's cache lines are fetched in parallel
 * rather than one miss per halving step. At 65,530 VMAs that is about a third of the old two-level
 * array's time (bench {@code VmaFindBenchmark}).
 * <p>
 * Update ({@link #replace}): copies the one or two leaves the edit touches (plus one neighbour
 * when the result would be under half full), the one or two branches above them (plus one
 * neighbour likewise), and the root's three arrays: O(LEAF_MAX + BRANCH_MAX + branches + inserted
 * VMAs), about 2 × 32 VMAs, 2 × 32 leaves and n / 512 to n / 256 branches (≤ 256 at 65,530 VMAs),
 * whatever the number of VMAs removed. Invariant: every leaf holds LEAF_MAX / 2 to LEAF_MAX VMAs
 * and every branch BRANCH_MAX / 2 to BRANCH_MAX leaves, except a sole leaf or branch, which may hold
 * fewer ({@link #checkShape} verifies it in tests).
 */
final class VmaTree
{
    static final int LEAF_MAX = 32;
    static final int LEAF_MIN = LEAF_MAX / 2;
    static final int BRANCH_MAX = 32;
    static final int BRANCH_MIN = BRANCH_MAX / 2;
    static final VmaTree EMPTY = new VmaTree(new Branch[0]);

    /** End of the last VMA under each branch. */
    private final long[] branchEnds;
    private final Branch[] branches;
    /** Global index of each branch's first VMA. */
    private final int[] branchFirst;
    private final int size;

    /** Up to {@link #BRANCH_MAX} leaves, as parallel arrays indexed by leaf. */
    private static final class Branch
    {
        /** End of each leaf's last VMA. */
        final long[] leafEnds;
        /** Each leaf's VMA ends, in order. */
        final long[][] ends;
        /** Each leaf's VMAs, in order. */
        final Vma[][] vmas;
        /** Index within this branch of each leaf's first VMA. */
        final int[] leafFirst;
        final int size;

        Branch(final long[][] ends, final Vma[][] vmas)
        {
            this.ends = ends;
            this.vmas = vmas;
            this.leafEnds = new long[ends.length];
            this.leafFirst = new int[ends.length];
            int n = 0;
            for (int i = 0; i < ends.length; i++)
            {
                leafEnds[i] = ends[i][ends[i].length - 1];
                leafFirst[i] = n;
                n += ends[i].length;
            }
            this.size = n;
        }
    }

    private VmaTree(final Branch[] branches)
    {
        this.branches = branches;
        this.branchEnds = new long[branches.length];
        this.branchFirst = new int[branches.length];
        int n = 0;
        for (int i = 0; i < branches.length; i++)
        {
            branchEnds[i] = branches[i].leafEnds[branches[i].leafEnds.length - 1];
            branchFirst[i] = n;
            n += branches[i].size;
        }
        this.size = n;
    }

    int size()
    {
        return size;
    }

    /** Linux's find_vma: the first VMA whose end is above {@code addr}, or null. Allocation-free. */
    Vma find(final long addr)
    {
        final long[] be = branchEnds;
        final int b = firstAbove(be, addr);
        if (b == be.length)
        {
            return null;
        }
        final Branch branch = branches[b];
        final int leaf = countAtMost(branch.leafEnds, addr);
        return branch.vmas[leaf][countAtMost(branch.ends[leaf], addr)];
    }

    /** The VMA containing {@code addr}, or null (Linux's vma_lookup). */
    Vma lookup(final long addr)
    {
        final Vma vma = find(addr);
        return vma != null && vma.start <= addr ? vma : null;
    }

    /** Global index of the first VMA whose end is above {@code addr}; {@link #size()} if none. */
    int indexAfter(final long addr)
    {
        final int b = firstAbove(branchEnds, addr);
        if (b == branchEnds.length)
        {
            return size;
        }
        final Branch branch = branches[b];
        final int leaf = countAtMost(branch.leafEnds, addr);
        return branchFirst[b] + branch.leafFirst[leaf] + countAtMost(branch.ends[leaf], addr);
    }

    Vma get(final int index)
    {
        final int b = floor(branchFirst, index);
        final Branch branch = branches[b];
        final int rel = index - branchFirst[b];
        final int leaf = floor(branch.leafFirst, rel);
        return branch.vmas[leaf][rel - branch.leafFirst[leaf]];
    }

    /** The VMA before index {@code index}, or null. */
    Vma prev(final int index)
    {
        return index > 0 ? get(index - 1) : null;
    }

    /** The VMA at {@code index}, or null past the end. */
    Vma at(final int index)
    {
        return index < size ? get(index) : null;
    }

    /**
     * The first index of sorted {@code a} whose value is above {@code key}, or its length.
     * Branch-free: the loop runs log2(n) times whatever the key, and the step is a conditional
     * move, so random lookups pay cache misses but no mispredicted branches.
     */
    private static int firstAbove(final long[] a, final long key)
    {
        final int n = a.length;
        if (n == 0)
        {
            return 0;
        }
        int base = 0;
        int len = n;
        while (len > 1)
        {
            final int half = len >>> 1;
            base = a[base + half - 1] > key ? base : base + half;
            len -= half;
        }
        return a[base] > key ? base : base + 1;
    }

    /**
     * The number of values of sorted {@code a} at or below {@code key}, which is the first index
     * above it. A count, not a search: no load depends on an earlier compare, so the node's cache
     * lines miss in parallel, and there is no branch to mispredict.
     */
    private static int countAtMost(final long[] a, final long key)
    {
        int n = 0;
        for (final long value : a)
        {
            n += value <= key ? 1 : 0;
        }
        return n;
    }

    /** The last index of sorted, distinct {@code a} (a[0] == 0) whose value is at most {@code key}. */
    private static int floor(final int[] a, final int key)
    {
        final int pos = Arrays.binarySearch(a, key);
        return pos >= 0 ? pos : -pos - 2;
    }

    /**
     * A new tree with VMAs {@code [from, to)} replaced by {@code with} (already sorted, disjoint,
     * fitting). Copies only the path to the edit: see the class comment for the cost.
     */
    VmaTree replace(final int from, final int to, final Vma... with)
    {
        if (from < 0 || to < from || to > size)
        {
            throw new IllegalArgumentException("bad range " + from + ".." + to + " of " + size);
        }
        if (size == 0)
        {
            return build(with);
        }
        // the leaves holding the first and the last replaced VMA (an insertion: the leaf it goes
        // into, the last one when appending), as (branch, leaf) pairs
        final int firstTouched = Math.min(from, size - 1);
        final int lastTouched = Math.max(firstTouched, to - 1);
        int b0 = floor(branchFirst, firstTouched);
        int l0 = floor(branches[b0].leafFirst, firstTouched - branchFirst[b0]);
        int b1 = floor(branchFirst, lastTouched);
        int l1 = floor(branches[b1].leafFirst, lastTouched - branchFirst[b1]);
        if ((from - leafStart(b0, l0)) + with.length + (leafEnd(b1, l1) - to) < LEAF_MIN)
        {
            // would leave a leaf under half full: take in a neighbouring leaf (which, as there
            // are at least two leaves, holds at least LEAF_MIN)
            if (l0 > 0)
            {
                l0--;
            }
            else if (b0 > 0)
            {
                b0--;
                l0 = branches[b0].vmas.length - 1;
            }
            else if (l1 < branches[b1].vmas.length - 1)
            {
                l1++;
            }
            else if (b1 < branches.length - 1)
            {
                b1++;
                l1 = 0;
            }
        }
        final int lo = leafStart(b0, l0);
        final int hi = leafEnd(b1, l1);
        final Vma[] middle = new Vma[(from - lo) + with.length + (hi - to)];
        int n = 0;
        for (int i = lo; i < from; i++)
        {
            middle[n++] = get(i);
        }
        for (final Vma vma : with)
        {
            middle[n++] = vma;
        }
        for (int i = to; i < hi; i++)
        {
            middle[n++] = get(i);
        }
        final Vma[][] newLeaves = split(middle, LEAF_MAX);
        return spliceLeaves(b0, l0, b1, l1, newLeaves);
    }

    /** Replaces leaves (b0, l0) to (b1, l1) inclusive with {@code newLeaves}, rebuilding the branches above. */
    private VmaTree spliceLeaves(final int b0In, final int l0, final int b1In, final int l1, final Vma[][] newLeaves)
    {
        int b0 = b0In;
        int b1 = b1In;
        final int kept = l0 + newLeaves.length + (branches[b1].vmas.length - l1 - 1);
        if (kept < BRANCH_MIN)
        {
            // would leave a branch under half full: take in a neighbouring branch whole
            if (b0 > 0)
            {
                b0--;
            }
            else if (b1 < branches.length - 1)
            {
                b1++;
            }
        }
        final int before = b0 < b0In ? branches[b0].vmas.length + l0 : l0;
        final int after = b1 > b1In ? branches[b1In].vmas.length - l1 - 1 + branches[b1].vmas.length
            : branches[b1].vmas.length - l1 - 1;
        final Vma[][] leafVmas = new Vma[before + newLeaves.length + after][];
        final long[][] leafEnds = new long[leafVmas.length][];
        int n = 0;
        for (int b = b0; b <= b0In; b++)
        {
            // the absorbed branch's leaves (if any), then b0In's before l0
            final int upTo = b == b0In ? l0 : branches[b].vmas.length;
            for (int l = 0; l < upTo; l++)
            {
                leafVmas[n] = branches[b].vmas[l];
                leafEnds[n++] = branches[b].ends[l];
            }
        }
        for (final Vma[] leaf : newLeaves)
        {
            leafVmas[n] = leaf;
            leafEnds[n++] = endsOf(leaf);
        }
        for (int b = b1In; b <= b1; b++)
        {
            final int startAt = b == b1In ? l1 + 1 : 0;
            for (int l = startAt; l < branches[b].vmas.length; l++)
            {
                leafVmas[n] = branches[b].vmas[l];
                leafEnds[n++] = branches[b].ends[l];
            }
        }
        final Branch[] rebuilt = branches(leafVmas, leafEnds);
        final Branch[] all = new Branch[b0 + rebuilt.length + (branches.length - b1 - 1)];
        System.arraycopy(branches, 0, all, 0, b0);
        System.arraycopy(rebuilt, 0, all, b0, rebuilt.length);
        System.arraycopy(branches, b1 + 1, all, b0 + rebuilt.length, branches.length - b1 - 1);
        return new VmaTree(all);
    }

    static VmaTree build(final Vma... vmas)
    {
        final Vma[][] leaves = split(vmas, LEAF_MAX);
        final long[][] ends = new long[leaves.length][];
        for (int i = 0; i < leaves.length; i++)
        {
            ends[i] = endsOf(leaves[i]);
        }
        return new VmaTree(branches(leaves, ends));
    }

    /** All VMAs in order (a copy). */
    Vma[] toArray()
    {
        final Vma[] all = new Vma[size];
        int n = 0;
        for (final Branch branch : branches)
        {
            for (final Vma[] leaf : branch.vmas)
            {
                System.arraycopy(leaf, 0, all, n, leaf.length);
                n += leaf.length;
            }
        }
        return all;
    }

    /**
     * Test support: the violations of the shape invariant (node fill, keys matching the VMAs,
     * index sums), or an empty string.
     */
    String checkShape()
    {
        final StringBuilder out = new StringBuilder();
        int n = 0;
        for (int b = 0; b < branches.length; b++)
        {
            final Branch branch = branches[b];
            final int leaves = branch.vmas.length;
            if (leaves > BRANCH_MAX || leaves == 0 || (branches.length > 1 && leaves < BRANCH_MIN))
            {
                out.append("branch ").append(b).append(" has ").append(leaves).append(" leaves\n");
            }
            if (branchFirst[b] != n || branchEnds[b] != branch.leafEnds[leaves - 1])
            {
                out.append("root entry ").append(b).append(" is stale\n");
            }
            int m = 0;
            for (int l = 0; l < leaves; l++)
            {
                final Vma[] leaf = branch.vmas[l];
                final boolean sole = branches.length == 1 && leaves == 1;
                if (leaf.length > LEAF_MAX || leaf.length == 0 || (!sole && leaf.length < LEAF_MIN))
                {
                    out.append("leaf ").append(b).append('.').append(l).append(" has ").append(leaf.length).append(" VMAs\n");
                }
                if (branch.leafFirst[l] != m || branch.leafEnds[l] != leaf[leaf.length - 1].end
                    || !Arrays.equals(branch.ends[l], endsOf(leaf)))
                {
                    out.append("leaf ").append(b).append('.').append(l).append(" keys are stale\n");
                }
                m += leaf.length;
            }
            if (branch.size != m)
            {
                out.append("branch ").append(b).append(" size ").append(branch.size).append(" != ").append(m).append('\n');
            }
            n += m;
        }
        if (n != size)
        {
            out.append("size ").append(size).append(" != ").append(n).append('\n');
        }
        return out.toString();
    }

    private int leafStart(final int b, final int l)
    {
        return branchFirst[b] + branches[b].leafFirst[l];
    }

    private int leafEnd(final int b, final int l)
    {
        return leafStart(b, l) + branches[b].vmas[l].length;
    }

    private static long[] endsOf(final Vma[] leaf)
    {
        final long[] ends = new long[leaf.length];
        for (int i = 0; i < leaf.length; i++)
        {
            ends[i] = leaf[i].end;
        }
        return ends;
    }

    /** Leaves regrouped into branches of at most BRANCH_MAX (as even as possible). */
    private static Branch[] branches(final Vma[][] leafVmas, final long[][] leafEnds)
    {
        final int pieces = (leafVmas.length + BRANCH_MAX - 1) / BRANCH_MAX;
        final Branch[] out = new Branch[pieces];
        int from = 0;
        for (int p = 0; p < pieces; p++)
        {
            final int to = (int)((long)leafVmas.length * (p + 1) / pieces);
            out[p] = new Branch(Arrays.copyOfRange(leafEnds, from, to), Arrays.copyOfRange(leafVmas, from, to));
            from = to;
        }
        return out;
    }

    /**
     * {@code items} cut into the fewest pieces of at most {@code max} (as even as possible, so
     * with two or more pieces each holds more than max / 2).
     */
    private static Vma[][] split(final Vma[] items, final int max)
    {
        final int pieces = (items.length + max - 1) / max;
        final Vma[][] out = new Vma[pieces][];
        int from = 0;
        for (int p = 0; p < pieces; p++)
        {
            final int to = (int)((long)items.length * (p + 1) / pieces);
            out[p] = Arrays.copyOfRange(items, from, to);
            from = to;
        }
        return out;
    }
}
