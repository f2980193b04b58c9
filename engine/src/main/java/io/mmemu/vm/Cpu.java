package io.mmemu.vm;

/**
 * An emulated CPU running in one {@link AddressSpace}, used by one thread: it makes the memory
 * syscalls (Linux's return convention: a value, or {@code -errno}) and memory accesses through its
 * TLB (a status from {@link Signal}; the value read is in {@link #value()}).
 * <p>
 * A CPU is online from its first call until {@link #offline()} or {@link #close()}. Other CPUs'
 * TLB shootdowns wait for every online CPU to acknowledge at its next access, as an IPI would, so
 * a thread that is about to wait for something outside the emulator (a barrier, a join, I/O) must
 * call {@link #offline()} first.
 */
public final class Cpu implements AutoCloseable
{
    private Cpu()
    {
    }

    public long mmap(final long addr, final long length, final int prot, final int flags, final int fd, final long offset)
    {
        throw new UnsupportedOperationException("in progress");
    }

    public long munmap(final long addr, final long length)
    {
        throw new UnsupportedOperationException("in progress");
    }

    public long mprotect(final long addr, final long length, final int prot)
    {
        throw new UnsupportedOperationException("in progress");
    }

    public long mremap(final long oldAddr, final long oldLength, final long newLength, final int flags, final long newAddr)
    {
        throw new UnsupportedOperationException("in progress");
    }

    public long madvise(final long addr, final long length, final int advice)
    {
        throw new UnsupportedOperationException("in progress");
    }

    /** Reads the byte at {@code va}; on {@link Signal#NONE} the byte (0..255) is in {@link #value()}. */
    public int readByte(final long va)
    {
        throw new UnsupportedOperationException("in progress");
    }

    public int writeByte(final long va, final int value)
    {
        throw new UnsupportedOperationException("in progress");
    }

    /** Reads the 8-byte-aligned long at {@code va} into {@link #value()}. */
    public int readLong(final long va)
    {
        throw new UnsupportedOperationException("in progress");
    }

    public int writeLong(final long va, final long value)
    {
        throw new UnsupportedOperationException("in progress");
    }

    /** The value of the last successful read. */
    public long value()
    {
        throw new UnsupportedOperationException("in progress");
    }

    /** The faulting address of the last access that raised a signal. */
    public long faultAddress()
    {
        throw new UnsupportedOperationException("in progress");
    }

    /** Leaves the set of CPUs that must acknowledge shootdowns (flushing this TLB). */
    public void offline()
    {
        throw new UnsupportedOperationException("in progress");
    }

    @Override
    public void close()
    {
    }
}
