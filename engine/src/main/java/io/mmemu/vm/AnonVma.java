package io.mmemu.vm;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Linux's {@code anon_vma}: the identity of a faulted anonymous mapping, and the root of the reverse
 * map ({@link Rmap}) for its pages.
 * <p>
 * Identity: VMAs that share one (pieces of one faulted mapping, or a neighbour that adopted it) may
 * merge; two VMAs faulted separately may not. Fork gives each child VMA a new anon_vma whose parent
 * is the parent VMA's (anon_vma_fork), so the child VMA's anon_vma_chain has more than one link, and
 * such a VMA neither merges with a neighbour that has no anon_vma nor lends its anon_vma to one
 * (mm/vma.c's vma_had_uncowed_parents, mm/rmap.c's reusable_anon_vma).
 * <p>
 * Reverse map: every anon_vma of one fork family shares the family's {@linkplain #root() root}
 * (Linux's anon_vma->root), and the root keeps the set of address spaces that may map a page of the
 * family: the process that created it, and every process forked from a member while it had a VMA of
 * the family (added before fork copies an entry). A page faulted in a VMA of the family is found at
 * its linear index ({@link Vma#pgoff} plus its offset in the VMA, kept by split, merge and mremap)
 * in every VMA of a member whose anon_vma has the same root. The set is an over-approximation
 * (Linux's anon_vma_chain is per VMA, this is per process, and a member whose VMAs of the family
 * went away stays until it exits, when it leaves every family it joined); the rmap walk checks each candidate entry's PFN under its PT lock,
 * so a stale member costs a lookup, never a wrong answer.
 */
final class AnonVma
{
    private static long nextId;
    final long id;
    /** The anon_vma this one was forked from (its parent VMA's), or null. */
    final AnonVma parent;
    /** The family's root: this one when it was not forked. */
    private final AnonVma root;
    /** The root's: the address spaces that may map the family's pages (concurrent: fork, exit and rmap walks race). */
    private final Set<AddressSpace> members;

    AnonVma()
    {
        this(null);
    }

    /** A child VMA's anon_vma at fork: anon_vma_fork with {@code parent} the parent VMA's. */
    AnonVma(final AnonVma parent)
    {
        this.parent = parent;
        this.root = parent == null ? this : parent.root;
        this.members = parent == null ? ConcurrentHashMap.newKeySet() : null;
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

    /** The family's root anon_vma (anon_vma->root). */
    AnonVma root()
    {
        return root;
    }

    /** Records that {@code mm} may map the family's pages (before it can map any). */
    void addMember(final AddressSpace mm)
    {
        if (root.members.add(mm))
        {
            mm.joinedAnonVma(root);
            // before any page of the family is added to the LRU naming it
            mm.machine().mappings().register(root);
        }
    }

    /** {@code mm} exited: it maps nothing any more. */
    void removeMember(final AddressSpace mm)
    {
        root.members.remove(mm);
        if (root.members.isEmpty())
        {
            // nothing maps the family's pages any more; a page reclaim still finds is freed by its last reference
            mm.machine().mappings().unregister(root);
        }
    }

    /** The address spaces that may map the family's pages: a weakly consistent snapshot. */
    AddressSpace[] members()
    {
        return root.members.toArray(new AddressSpace[0]);
    }

    @Override
    public String toString()
    {
        return "anon_vma#" + id;
    }
}
