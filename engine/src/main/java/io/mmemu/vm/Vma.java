package io.mmemu.vm;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A virtual memory area: {@code [start, end)} with flags, a page offset and its backing. Immutable
 * in everything a lookup reads (range, flags, pgoff, backing), so a lockless reader of the
 * {@link VmaTree} always sees a self-consistent VMA; a change of any of those replaces the VMA
 * with new ones. The one mutable field is the anon_vma, assigned once by the first fault (CAS
 * from null) and shared by the pieces a split makes.
 */
final class Vma
{
    private static final VarHandle ANON_VMA;

    static
    {
        try
        {
            ANON_VMA = MethodHandles.lookup().findVarHandle(Vma.class, "anonVma", AnonVma.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    final long start;
    final long end;
    final int flags;
    final long pgoff;
    /** Backing of a shared anonymous mapping (its shmem file), or null for private anonymous memory. */
    final SharedMemory shared;
    /** The maps name for special VMAs ([heap], [stack]...), or null. */
    final String name;
    @SuppressWarnings("unused") // accessed through ANON_VMA
    private volatile AnonVma anonVma;

    Vma(final long start, final long end, final int flags, final long pgoff, final SharedMemory shared,
        final String name, final AnonVma anonVma)
    {
        this.start = start;
        this.end = end;
        this.flags = flags;
        this.pgoff = pgoff;
        this.shared = shared;
        this.name = name;
        this.anonVma = anonVma;
    }

    /** The same VMA over {@code [newStart, newEnd)}, pgoff adjusted, flags replaced. */
    Vma slice(final long newStart, final long newEnd, final int newFlags)
    {
        return new Vma(newStart, newEnd, newFlags, pgoff + ((newStart - start) >>> 12), shared, name, anonVma());
    }

    Vma slice(final long newStart, final long newEnd)
    {
        return slice(newStart, newEnd, flags);
    }

    /** The same backing and flags over a new range with an explicit pgoff (expansion, merge, move). */
    Vma withRange(final long newStart, final long newEnd, final long newPgoff, final AnonVma newAnonVma)
    {
        return new Vma(newStart, newEnd, flags, newPgoff, shared, name, newAnonVma);
    }

    AnonVma anonVma()
    {
        return (AnonVma)ANON_VMA.getAcquire(this);
    }

    /** Sets the anon_vma if none is set; returns the one in place afterwards. */
    AnonVma assignAnonVma(final AnonVma candidate)
    {
        // volatile CAS: the first fault wins; later readers acquire the winner
        final AnonVma witness = (AnonVma)ANON_VMA.compareAndExchange(this, (AnonVma)null, candidate);
        return witness == null ? candidate : witness;
    }

    boolean contains(final long va)
    {
        return va >= start && va < end;
    }

    long pages()
    {
        return (end - start) >>> 12;
    }

    boolean isAnonymousPrivate()
    {
        return shared == null;
    }

    boolean isAccessible()
    {
        return (flags & VmFlags.VM_ACCESS_FLAGS) != 0;
    }

    VmaInfo info()
    {
        final String mapsName = shared != null ? SharedMemory.MAPS_NAME : name;
        return new VmaInfo(start, end, flags, pgoff, mapsName, true,
            shared != null ? SharedMemory.DEV : 0, shared != null ? shared.inode : 0, anonVma() != null);
    }

    @Override
    public String toString()
    {
        return String.format("vma[%x-%x flags=%x pgoff=%x%s]", start, end, flags, pgoff,
            shared != null ? " shmem#" + shared.inode : "");
    }
}
