package io.mmemu.vm;

/**
 * The order in which the fork race tests' writer visits its {@value #SLOTS} slots: its
 * {@code c}-th write (c from 1, the value written) goes 9 slots on from the last, a permutation
 * of the slots every {@value #SLOTS} writes. So a write right after a fault on one slot goes to a
 * slot fork's copy has not reached yet, and from any cut of the writer's sequence the value each
 * slot must hold is known.
 */
final class WriteOrder
{
    static final int SLOTS = 32;
    /** 9's inverse mod 32. */
    private static final int INVERSE_STEP = 25;

    private WriteOrder()
    {
    }

    /** The slot the {@code c}-th write goes to. */
    static int slotOf(final long c)
    {
        return (int)(((c - 1) * 9) % SLOTS);
    }

    /** The writer's last write at or before {@code cut} to slot {@code p}: the value it must hold. */
    static long lastWriteTo(final int p, final long cut)
    {
        final long first = ((long)p * INVERSE_STEP) % SLOTS + 1;
        return first + ((cut - first) / SLOTS) * SLOTS;
    }
}
