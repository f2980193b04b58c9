package io.mmemu.vm;

import java.util.Arrays;

/**
 * The engine's previous VMA tree (a root of chunk ends over chunks of up to 64 VMAs, each a
 * {@code Chunk} object holding its ends and VMAs), kept verbatim but for its name so that
 * {@link VmaFindBenchmark} measures the old and the new {@link VmaTree} side by side in one run.
 * Not used by the engine.
 */
final class TwoLevelVmaTree
{
    static final int CHUNK_MAX = 64;
    private static final int CHUNK_TARGET = 48;
    static final TwoLevelVmaTree EMPTY = new TwoLevelVmaTree(new Chunk[0], new long[0], new int[0], 0);

    private final Chunk[] chunks;
    /** End of the last VMA of each chunk. */
    private final long[] chunkEnds;
    /** Global index of each chunk's first VMA. */
    private final int[] chunkFirst;
    private final int size;

    private static final class Chunk
    {
        final Vma[] vmas;
        final long[] ends;

        Chunk(final Vma[] vmas)
        {
            this.vmas = vmas;
            this.ends = new long[vmas.length];
            for (int i = 0; i < vmas.length; i++)
            {
                ends[i] = vmas[i].end;
            }
        }
    }

    private TwoLevelVmaTree(final Chunk[] chunks, final long[] chunkEnds, final int[] chunkFirst, final int size)
    {
        this.chunks = chunks;
        this.chunkEnds = chunkEnds;
        this.chunkFirst = chunkFirst;
        this.size = size;
    }

    int size()
    {
        return size;
    }

    /** Linux's find_vma: the first VMA whose end is above {@code addr}, or null. Allocation-free. */
    Vma find(final long addr)
    {
        final long[] ce = chunkEnds;
        final int c = firstAbove(ce, ce.length, addr);
        if (c == ce.length)
        {
            return null;
        }
        final Chunk chunk = chunks[c];
        return chunk.vmas[firstAbove(chunk.ends, chunk.ends.length, addr)];
    }

    /**
     * The first index of sorted {@code a[0..n)} whose value is above {@code key}, or {@code n}.
     * Branch-free: the loop runs log2(n) times whatever the key, and the step is a conditional
     * move, so random lookups pay cache misses but no mispredicted branches.
     */
    private static int firstAbove(final long[] a, final int n, final long key)
    {
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

    /** The VMA containing {@code addr}, or null (Linux's vma_lookup). */
    Vma lookup(final long addr)
    {
        final Vma vma = find(addr);
        return vma != null && vma.start <= addr ? vma : null;
    }

    /** Global index of the first VMA whose end is above {@code addr}; {@link #size()} if none. */
    int indexAfter(final long addr)
    {
        final int c = firstAbove(chunkEnds, chunkEnds.length, addr);
        if (c == chunkEnds.length)
        {
            return size;
        }
        return chunkFirst[c] + firstAbove(chunks[c].ends, chunks[c].ends.length, addr);
    }

    Vma get(final int index)
    {
        final int c = chunkOf(index);
        return chunks[c].vmas[index - chunkFirst[c]];
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

    /** A new tree with VMAs {@code [from, to)} replaced by {@code with} (already sorted, disjoint, fitting). */
    TwoLevelVmaTree replace(final int from, final int to, final Vma... with)
    {
        if (from < 0 || to < from || to > size)
        {
            throw new IllegalArgumentException("bad range " + from + ".." + to + " of " + size);
        }
        if (chunks.length == 0)
        {
            return build(with);
        }
        final int firstChunk = from == size ? chunks.length - 1 : chunkOf(from);
        final int lastChunk = to == 0 ? 0 : Math.max(firstChunk, chunkOf(Math.max(to - 1, from)));
        final int base = chunkFirst[firstChunk];
        final int lastChunkEnd = chunkFirst[lastChunk] + chunks[lastChunk].vmas.length;
        final Vma[] middle = new Vma[(from - base) + with.length + (lastChunkEnd - Math.max(to, base))];
        int n = 0;
        for (int i = base; i < from; i++)
        {
            middle[n++] = get(i);
        }
        for (final Vma vma : with)
        {
            middle[n++] = vma;
        }
        for (int i = Math.max(to, base); i < lastChunkEnd; i++)
        {
            middle[n++] = get(i);
        }
        final Chunk[] rebuilt = chunk(middle, n);
        final Chunk[] all = new Chunk[firstChunk + rebuilt.length + (chunks.length - lastChunk - 1)];
        System.arraycopy(chunks, 0, all, 0, firstChunk);
        System.arraycopy(rebuilt, 0, all, firstChunk, rebuilt.length);
        System.arraycopy(chunks, lastChunk + 1, all, firstChunk + rebuilt.length, chunks.length - lastChunk - 1);
        return index(all);
    }

    static TwoLevelVmaTree build(final Vma... vmas)
    {
        return index(chunk(vmas, vmas.length));
    }

    /** All VMAs in order (a copy). */
    Vma[] toArray()
    {
        final Vma[] all = new Vma[size];
        int n = 0;
        for (final Chunk chunk : chunks)
        {
            System.arraycopy(chunk.vmas, 0, all, n, chunk.vmas.length);
            n += chunk.vmas.length;
        }
        return all;
    }

    private int chunkOf(final int index)
    {
        final int pos = Arrays.binarySearch(chunkFirst, index);
        return pos >= 0 ? pos : -pos - 2;
    }

    private static Chunk[] chunk(final Vma[] vmas, final int count)
    {
        if (count == 0)
        {
            return new Chunk[0];
        }
        final int pieces = (count + CHUNK_TARGET - 1) / CHUNK_TARGET;
        final Chunk[] out = new Chunk[pieces];
        int from = 0;
        for (int p = 0; p < pieces; p++)
        {
            final int to = (int)((long)count * (p + 1) / pieces);
            out[p] = new Chunk(Arrays.copyOfRange(vmas, from, to));
            from = to;
        }
        return out;
    }

    private static TwoLevelVmaTree index(final Chunk[] chunks)
    {
        final long[] ends = new long[chunks.length];
        final int[] first = new int[chunks.length];
        int n = 0;
        for (int i = 0; i < chunks.length; i++)
        {
            first[i] = n;
            n += chunks[i].vmas.length;
            ends[i] = chunks[i].ends[chunks[i].ends.length - 1];
        }
        return new TwoLevelVmaTree(chunks, ends, first, n);
    }
}
