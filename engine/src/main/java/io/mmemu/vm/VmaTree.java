package io.mmemu.vm;

import java.util.Arrays;

/**
 * The VMAs of an address space in address order: an immutable, persistent B+-tree of three levels
 * whose search keys are VMA ends in primitive {@code long[]} arrays. A change builds a new tree
 * that shares every untouched node and is published by one release store in {@link AddressSpace};
 * lookups take no lock at all: whatever version a reader loaded stays consistent (every field is
 * final and every array is filled before the tree is published), and the garbage collector is the
 * grace period (RCU without the bookkeeping).
 * <p>
 * Shape: the root is parallel arrays over the <em>runs</em> (each run's last end, padded to whole
 * cache lines, and the last of those per line; each run's keys; its VMAs; the global index of its
 * first VMA). A run is up to {@link #RUN_MAX} consecutive VMAs held flat: a {@code Vma[]} and a
 * {@code long[]} of keys whose first {@link #SUMMARY} slots are the last end of each {@link #GROUP}
 * VMAs and the rest the VMAs' ends, padded with {@code Long.MAX_VALUE} to whole groups. So the two
 * lower levels of the tree sit in one array, there is no node object between the root and the
 * keys, and a search touches no {@link Vma} until the one it returns.
 * <p>
 * Lookup ({@link #find}): every level is searched a cache line at a time, with no branch and no
 * load that depends on an earlier compare inside the level: the lines are told apart by their
 * last keys, then the chosen line's eight keys are counted (keys at or below the address). Root
 * (at most 32 lines at 65,530 VMAs, hot), then the run's summary (four lines), then the group (two
 * lines): a lookup pays one likely cache miss for the group's ends and one for the VMA reference,
 * where a binary search pays one per halving step. It allocates nothing. Its time is measured by
 * bench {@code VmaFindBenchmark} (bench/RESULTS.md, vma-find; bench/README.md for the shapes it
 * replaced).
 * <p>
 * Update ({@link #replace}): copies the one or two runs the edit touches (plus one neighbour when
 * the result would be under half full, or over full: sharing an overflow with a neighbour splits
 * into runs fuller than the halves a lone split leaves) and the root's arrays: O(RUN_MAX + runs + inserted VMAs), at most
 * about 3 × 512 VMAs and n / 256 root entries (≤ 256 at 65,530 VMAs), however many VMAs the edit
 * removes. Invariant: every run holds RUN_MAX / 2 to RUN_MAX VMAs, except a sole run, which may hold
 * fewer ({@link #checkShape} verifies it in tests).
 */
final class VmaTree
{
    /** Keys per cache line. */
    static final int LINE = 8;
    /** VMAs per summary key: two cache lines of ends. */
    static final int GROUP = 2 * LINE;
    /** Summary slots at the head of a run's keys: four cache lines. */
    static final int SUMMARY = 4 * LINE;
    static final int RUN_MAX = GROUP * SUMMARY;
    static final int RUN_MIN = RUN_MAX / 2;
    /** Keys pad with Long.MAX_VALUE; searches clamp the address to one below it ({@link #searchKey}). */
    private static final long SEARCH_MAX = Long.MAX_VALUE - 1;
    static final VmaTree EMPTY = new VmaTree(new long[0][], new Vma[0][]);

    /**
     * End of the last VMA of each run, padded with Long.MAX_VALUE to whole cache lines (at least
     * one): the root's keys.
     */
    private final long[] runEnds;
    /** The last key of each line of {@link #runEnds}: the root's summary. */
    private final long[] rootLines;
    /** Each run's keys: SUMMARY group ends, then every VMA's end, padded with Long.MAX_VALUE. */
    private final long[][] runKeys;
    /** Each run's VMAs, in order. */
    private final Vma[][] runVmas;
    /** Global index of each run's first VMA. */
    private final int[] runFirst;
    private final int size;

    private VmaTree(final long[][] runKeys, final Vma[][] runVmas)
    {
        this.runKeys = runKeys;
        this.runVmas = runVmas;
        final int lines = Math.max(1, (runKeys.length + LINE - 1) / LINE);
        this.runEnds = new long[lines * LINE];
        this.rootLines = new long[lines];
        this.runFirst = new int[runKeys.length];
        Arrays.fill(runEnds, Long.MAX_VALUE);
        int n = 0;
        for (int r = 0; r < runKeys.length; r++)
        {
            runEnds[r] = runVmas[r][runVmas[r].length - 1].end;
            runFirst[r] = n;
            n += runVmas[r].length;
        }
        this.size = n;
        for (int i = 0; i < lines; i++)
        {
            rootLines[i] = runEnds[i * LINE + LINE - 1];
        }
    }

    int size()
    {
        return size;
    }

    /** Linux's find_vma: the first VMA whose end is above {@code addr}, or null. Allocation-free. */
    Vma find(final long addr)
    {
        final long key = searchKey(addr);
        final int r = runAbove(key);
        final Vma[][] vmas = runVmas;
        if (r == vmas.length)
        {
            return null;
        }
        return vmas[r][indexInRun(runKeys[r], key)];
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
        final long key = searchKey(addr);
        final int r = runAbove(key);
        if (r == runVmas.length)
        {
            return size;
        }
        return runFirst[r] + indexInRun(runKeys[r], key);
    }

    Vma get(final int index)
    {
        final int r = floor(runFirst, index);
        return runVmas[r][index - runFirst[r]];
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
     * The address as searched: keys pad with Long.MAX_VALUE and no VMA ends there, so the top
     * address searches as the one below it and padding is never counted (a conditional move).
     */
    private static long searchKey(final long addr)
    {
        return Math.min(addr, SEARCH_MAX);
    }

    /**
     * The first run whose last end is above {@code key}, or the number of runs: the lines of the
     * root told apart by their last keys (all in L1: at most 32 of them at 65,530 VMAs), then the
     * chosen line's eight keys counted.
     */
    private int runAbove(final long key)
    {
        final long[] lines = rootLines;
        int line = 0;
        for (int i = 0; i < lines.length - 1; i++)
        {
            line += below(lines[i], key);
        }
        return line * LINE + countLine(runEnds, line * LINE, key);
    }

    /**
     * Index within a run of its first VMA ending above {@code addr}, a {@link #searchKey} (the
     * run's last end is above it). Each step reads whole cache lines: the summary's four lines are told apart by their
     * last keys, then the chosen line's eight keys are counted; likewise the group's two lines.
     * Every count has a fixed trip count (padding is Long.MAX_VALUE, never at or below an
     * address), so it compiles to straight-line compares and conditional moves.
     */
    private static int indexInRun(final long[] keys, final long addr)
    {
        final int line = below(keys[LINE - 1], addr) + below(keys[2 * LINE - 1], addr) + below(keys[3 * LINE - 1], addr);
        final int group = line * LINE + countLine(keys, line * LINE, addr);
        final int from = SUMMARY + group * GROUP;
        final int half = below(keys[from + LINE - 1], addr) * LINE;
        return group * GROUP + half + countLine(keys, from + half, addr);
    }

    /** 1 if {@code key} is at or below {@code addr}, else 0 (a set-on-compare, no branch). */
    private static int below(final long key, final long addr)
    {
        return key <= addr ? 1 : 0;
    }

    /** The number of the eight keys from {@code from} at or below {@code addr}. */
    private static int countLine(final long[] keys, final int from, final long addr)
    {
        int n = 0;
        for (int i = 0; i < LINE; i++)
        {
            n += below(keys[from + i], addr);
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
     * fitting). Copies only the runs the edit touches and the root: see the class comment.
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
        // the runs holding the first and the last replaced VMA (an insertion: the run it goes
        // into, the last one when appending)
        final int firstTouched = Math.min(from, size - 1);
        int r0 = floor(runFirst, firstTouched);
        int r1 = floor(runFirst, Math.max(firstTouched, to - 1));
        final int count = (from - runFirst[r0]) + with.length + (runFirst[r1] + runVmas[r1].length - to);
        if (count < RUN_MIN || count > RUN_MAX)
        {
            // under half full: a neighbour (at least RUN_MIN, as there are two runs or more) tops it
            // up; over full: sharing with a neighbour splits into runs about two-thirds full, not half
            if (r0 > 0)
            {
                r0--;
            }
            else if (r1 < runVmas.length - 1)
            {
                r1++;
            }
        }
        final int lo = runFirst[r0];
        final int hi = runFirst[r1] + runVmas[r1].length;
        final Vma[] middle = new Vma[(from - lo) + with.length + (hi - to)];
        copy(lo, from, middle, 0);
        System.arraycopy(with, 0, middle, from - lo, with.length);
        copy(to, hi, middle, from - lo + with.length);
        final Vma[][] pieces = split(middle);
        final int runs = r0 + pieces.length + (runVmas.length - r1 - 1);
        final long[][] keys = new long[runs][];
        final Vma[][] vmas = new Vma[runs][];
        System.arraycopy(runKeys, 0, keys, 0, r0);
        System.arraycopy(runVmas, 0, vmas, 0, r0);
        for (int p = 0; p < pieces.length; p++)
        {
            keys[r0 + p] = keysOf(pieces[p]);
            vmas[r0 + p] = pieces[p];
        }
        System.arraycopy(runKeys, r1 + 1, keys, r0 + pieces.length, runVmas.length - r1 - 1);
        System.arraycopy(runVmas, r1 + 1, vmas, r0 + pieces.length, runVmas.length - r1 - 1);
        return new VmaTree(keys, vmas);
    }

    static VmaTree build(final Vma... vmas)
    {
        final Vma[][] pieces = split(vmas);
        final long[][] keys = new long[pieces.length][];
        for (int p = 0; p < pieces.length; p++)
        {
            keys[p] = keysOf(pieces[p]);
        }
        return new VmaTree(keys, pieces);
    }

    /** All VMAs in order (a copy). */
    Vma[] toArray()
    {
        final Vma[] all = new Vma[size];
        copy(0, size, all, 0);
        return all;
    }

    /**
     * Test support: the violations of the shape invariant (run fill, keys matching the VMAs, root
     * entries), or an empty string.
     */
    String checkShape()
    {
        final StringBuilder out = new StringBuilder();
        int n = 0;
        for (int r = 0; r < runVmas.length; r++)
        {
            final Vma[] run = runVmas[r];
            if (run.length > RUN_MAX || run.length == 0 || (runVmas.length > 1 && run.length < RUN_MIN))
            {
                out.append("run ").append(r).append(" holds ").append(run.length).append(" VMAs\n");
            }
            if (!Arrays.equals(runKeys[r], keysOf(run)))
            {
                out.append("run ").append(r).append(" keys are stale\n");
            }
            if (runFirst[r] != n || runEnds[r] != run[run.length - 1].end || rootLines[r / LINE] != runEnds[r / LINE * LINE + LINE - 1])
            {
                out.append("root entry ").append(r).append(" is stale\n");
            }
            n += run.length;
        }
        if (n != size)
        {
            out.append("size ").append(size).append(" != ").append(n).append('\n');
        }
        return out.toString();
    }

    /** Copies VMAs {@code [from, to)} into {@code dest} at {@code at}, run by run. */
    private void copy(final int from, final int to, final Vma[] dest, final int at)
    {
        int i = from;
        int n = at;
        while (i < to)
        {
            final int r = floor(runFirst, i);
            final int offset = i - runFirst[r];
            final int length = Math.min(runVmas[r].length - offset, to - i);
            System.arraycopy(runVmas[r], offset, dest, n, length);
            i += length;
            n += length;
        }
    }

    /**
     * A run's keys: the summary (each group's last end), then every end, padded with
     * Long.MAX_VALUE to whole summary and whole groups.
     */
    private static long[] keysOf(final Vma[] run)
    {
        final int groups = (run.length + GROUP - 1) / GROUP;
        final long[] keys = new long[SUMMARY + groups * GROUP];
        Arrays.fill(keys, Long.MAX_VALUE);
        for (int i = 0; i < run.length; i++)
        {
            keys[SUMMARY + i] = run[i].end;
        }
        for (int g = 0; g * GROUP < run.length; g++)
        {
            keys[g] = run[Math.min(run.length, (g + 1) * GROUP) - 1].end;
        }
        return keys;
    }

    /**
     * {@code vmas} cut into the fewest runs of at most RUN_MAX, as even as possible (so with two
     * runs or more each holds at least RUN_MAX / 2).
     */
    private static Vma[][] split(final Vma[] vmas)
    {
        final int pieces = (vmas.length + RUN_MAX - 1) / RUN_MAX;
        final Vma[][] out = new Vma[pieces][];
        int from = 0;
        for (int p = 0; p < pieces; p++)
        {
            final int to = (int)((long)vmas.length * (p + 1) / pieces);
            out[p] = Arrays.copyOfRange(vmas, from, to);
            from = to;
        }
        return out;
    }
}
