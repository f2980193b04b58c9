package io.mmemu.pgtable;

/**
 * What an {@link MmuGather} calls before it frees anything: every CPU that may hold a translation
 * in {@code [start, end)} of the address space must drop it, and every walk that may have read a
 * table being freed must have finished. The engine's MMU implements it as a TLB shootdown that
 * waits for each CPU's acknowledgement, which is also the grace period for lockless walkers.
 */
@FunctionalInterface
public interface TlbFlush
{
    /** No TLBs and no lockless walkers: nothing to wait for. */
    TlbFlush NONE = (start, end) ->
    {
    };

    void flush(long start, long end);
}
