package io.mmemu.mmu;

import java.util.Arrays;

/**
 * One CPU's software TLB: direct-mapped, {@link #ENTRIES} 4 KiB translations, tagged by virtual
 * page number, and {@link #HUGE_ENTRIES} 2 MiB translations (of PMD leaves), tagged by 2 MiB page
 * number, that a 4 KiB miss consults before the walk: a hit there refills the 4 KiB entry from it
 * (as hardware keeps 2 MiB entries in their own array). A translation is writable only when its
 * entry was writable and already dirty (as QEMU does), so a write hit never has to set D. Owned by
 * one thread; no synchronisation here — invalidation requests from other CPUs arrive through
 * {@link io.mmemu.vm.Cpu}'s shootdown protocol, and every flush drops both kinds.
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

    public static final int HUGE_ENTRIES = 32;
    private static final int HUGE_MASK = HUGE_ENTRIES - 1;
    private static final int HUGE_SHIFT = 21;
    private static final long HUGE_OFFSET = (1L << HUGE_SHIFT) - 1;

    /** Virtual page number + 1 of each slot; 0 = invalid. */
    private final long[] tags = new long[ENTRIES];
    private final long[] frames = new long[ENTRIES];
    /** 2 MiB page number + 1 of each huge slot; 0 = invalid. */
    private final long[] hugeTags = new long[HUGE_ENTRIES];
    /** The 2 MiB frame address of each huge slot, with {@link #WRITABLE} in its low bits. */
    private final long[] hugeFrames = new long[HUGE_ENTRIES];
    /** Whether a huge slot was filled since the last flush: a miss skips the huge array while none was. */
    private boolean hugeHeld;
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
        return hugeHeld ? lookupHuge(va, write) : MISS;
    }

    /** A 4 KiB miss: the 2 MiB translation covering {@code va}, if held, refills the 4 KiB entry. */
    private long lookupHuge(final long va, final boolean write)
    {
        final long hpn = va >>> HUGE_SHIFT;
        final int slot = (int)hpn & HUGE_MASK;
        if (hugeTags[slot] != hpn + 1)
        {
            return MISS;
        }
        final long huge = hugeFrames[slot];
        if (write && (huge & WRITABLE) == 0)
        {
            return MISS;
        }
        final long frame = huge + (va & HUGE_OFFSET & ~FLAGS_MASK);
        insert(va, frame & ~FLAGS_MASK, (huge & WRITABLE) != 0, false);
        return frame;
    }

    /**
     * Inserts the 4 KiB piece of a 2 MiB leaf for {@code va} ({@code frameAddress} is that piece's
     * frame) and the 2 MiB translation itself. Phantom frames (tables-only backing) make no huge
     * pages, so a 2 MiB translation is never phantom.
     */
    public void insertHuge(final long va, final long frameAddress, final boolean writable)
    {
        insert(va, frameAddress, writable, false);
        final long hpn = va >>> HUGE_SHIFT;
        final int slot = (int)hpn & HUGE_MASK;
        hugeTags[slot] = hpn + 1;
        hugeFrames[slot] = (frameAddress - (va & HUGE_OFFSET & ~FLAGS_MASK)) | (writable ? WRITABLE : 0);
        hugeHeld = true;
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
        if (hugeHeld)
        {
            Arrays.fill(hugeTags, 0L);
            hugeHeld = false;
        }
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
        final long hpn = va >>> HUGE_SHIFT;
        final int hugeSlot = (int)hpn & HUGE_MASK;
        if (hugeTags[hugeSlot] == hpn + 1)
        {
            hugeTags[hugeSlot] = 0;
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
