package io.mmemu.pgtable;

import java.lang.foreign.MemorySegment;

import io.mmemu.phys.FrameDescriptor;
import org.agrona.concurrent.IdleStrategy;

import static io.mmemu.phys.FrameDescriptor.PTLOCK;

/**
 * Split page-table locks: one lock word per page-table page, in that page's frame descriptor
 * ({@link FrameDescriptor#PTLOCK}), as Linux keeps its PTE spinlock in the table's struct page.
 * <p>
 * States: 0 = unlocked, otherwise the owner's token (its CPU id + 1, for diagnostics).
 * Acquire is a CAS 0 → token (volatile: acquire semantics, so the owner sees every entry store of
 * the previous owner); release is a {@code setRelease} of 0 (every entry store of the critical
 * section is ordered before it). Contended acquirers spin, yield, then park with back-off through
 * the caller's {@link IdleStrategy}; they poll the word, so no wake-up can be lost.
 * Lock order: a thread holds at most one PTE lock, taken after any mmap or VMA lock.
 */
public final class PtLock
{
    public static final long UNLOCKED = 0L;

    private PtLock()
    {
    }

    /** Takes the lock of the table page {@code tablePfn}. */
    public static void lock(final MemorySegment metadata, final long tablePfn, final long token, final IdleStrategy idle)
    {
        final long off = FrameDescriptor.offset(tablePfn);
        // volatile CAS: acquire for the critical section
        if ((boolean)PTLOCK.compareAndSet(metadata, off, UNLOCKED, token))
        {
            return;
        }
        lockContended(metadata, off, token, idle);
    }

    private static void lockContended(final MemorySegment metadata, final long off, final long token, final IdleStrategy idle)
    {
        idle.reset();
        while (true)
        {
            // opaque read: cheap poll of a word another CPU will release; the CAS below carries the ordering
            if ((long)PTLOCK.getOpaque(metadata, off) == UNLOCKED &&
                (boolean)PTLOCK.compareAndSet(metadata, off, UNLOCKED, token))
            {
                return;
            }
            idle.idle();
        }
    }

    public static boolean tryLock(final MemorySegment metadata, final long tablePfn, final long token)
    {
        return (boolean)PTLOCK.compareAndSet(metadata, FrameDescriptor.offset(tablePfn), UNLOCKED, token);
    }

    public static void unlock(final MemorySegment metadata, final long tablePfn)
    {
        // release store: the critical section's entry writes happen-before the next acquirer's CAS
        PTLOCK.setRelease(metadata, FrameDescriptor.offset(tablePfn), UNLOCKED);
    }

    /** The current owner token, 0 when free (diagnostics and checkers). */
    public static long owner(final MemorySegment metadata, final long tablePfn)
    {
        return (long)PTLOCK.getVolatile(metadata, FrameDescriptor.offset(tablePfn));
    }
}
