package io.mmemu.mmu;

import java.util.Arrays;

/**
 * One CPU's software TLB: direct-mapped, {@link #ENTRIES} 4 KiB translations, tagged by virtual
 * page number. A translation is writable only when its PTE was writable and already dirty (as
 * QEMU does), so a write hit never has to set D. Owned by one thread; no synchronisation here —
 * invalidation requests from other CPUs arrive through {@link io.mmemu.vm.Cpu}'s shootdown protocol.
 */
public final class Tlb
{
    public static final int ENTRIES = 256;
    private static final int MASK = ENTRIES - 1;
    public static final long MISS = -1L;
    /** Low bits of a cached frame address. */
    public static final long WRITABLE = 1L;
    /** The frame is a phantom (tables-only backing): reads are zero, writes dropped. */
    public static final long PHANTOM = 2L;
    public static final long FLAGS_MASK = 0xFFFL;

    /** Virtual page number + 1 of each slot; 0 = invalid. */
    private final long[] tags = new long[ENTRIES];
    private final long[] frames = new long[ENTRIES];
    private long misses;
    private long flushes;

    /**
     * The cached frame address (with {@link #WRITABLE}/{@link #PHANTOM} in its low bits) for
     * {@code va}, or {@link #MISS} when absent or when {@code write} needs a writable entry.
     */
    public long lookup(final long va, final boolean write)
    {
        final long vpn = va >>> 12;
        final int slot = (int)vpn & MASK;
        if (tags[slot] == vpn + 1)
        {
            final long frame = frames[slot];
            if (!write || (frame & WRITABLE) != 0)
            {
                // no hit counter: one load-add-store per access is a fifth of a hit's cost
                return frame;
            }
        }
        misses++;
        return MISS;
    }

    public void insert(final long va, final long frameAddress, final boolean writable, final boolean phantom)
    {
        final long vpn = va >>> 12;
        final int slot = (int)vpn & MASK;
        tags[slot] = vpn + 1;
        frames[slot] = frameAddress | (writable ? WRITABLE : 0) | (phantom ? PHANTOM : 0);
    }

    public void flushAll()
    {
        Arrays.fill(tags, 0L);
        flushes++;
    }

    public void flushPage(final long va)
    {
        final long vpn = va >>> 12;
        final int slot = (int)vpn & MASK;
        if (tags[slot] == vpn + 1)
        {
            tags[slot] = 0;
        }
    }

    public long misses()
    {
        return misses;
    }

    public long flushes()
    {
        return flushes;
    }
}
