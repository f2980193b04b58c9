package io.mmemu.vm;

/**
 * Identity of Linux's {@code anon_vma}: VMAs that share one (pieces of one faulted mapping, or a
 * neighbour that adopted it) may merge; two VMAs faulted separately may not. mmemu has no reverse
 * map to keep, so identity is all there is — and whether it was forked: fork gives each child VMA
 * a new anon_vma whose parent is the parent VMA's (anon_vma_fork), so the child VMA's
 * anon_vma_chain has more than one link, and such a VMA neither merges with a neighbour that has
 * no anon_vma nor lends its anon_vma to one (mm/vma.c's vma_had_uncowed_parents,
 * mm/rmap.c's reusable_anon_vma).
 */
final class AnonVma
{
    private static long nextId;
    final long id;
    /** The anon_vma this one was forked from (its parent VMA's), or null. */
    final AnonVma parent;

    AnonVma()
    {
        this(null);
    }

    /** A child VMA's anon_vma at fork: anon_vma_fork with {@code parent} the parent VMA's. */
    AnonVma(final AnonVma parent)
    {
        this.parent = parent;
        synchronized (AnonVma.class)
        {
            id = ++nextId;
        }
    }

    /** Whether a VMA holding this anon_vma has uncowed parents (its anon_vma_chain is not singular). */
    boolean forked()
    {
        return parent != null;
    }

    @Override
    public String toString()
    {
        return "anon_vma#" + id;
    }
}
