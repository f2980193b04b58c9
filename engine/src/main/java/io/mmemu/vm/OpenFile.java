package io.mmemu.vm;

/**
 * An open file description (Linux's struct file): a {@link MappedFile} opened for reading, and for
 * writing or not. VMAs hold it, and VMA merging compares it by identity, as the kernel compares
 * {@code vm_file} pointers: two mappings of the same file through one open merge when adjacent
 * and contiguous in offset; through two separate opens they do not.
 */
public final class OpenFile
{
    private final MappedFile inode;
    private final boolean writable;

    private OpenFile(final MappedFile inode, final boolean writable)
    {
        this.inode = inode;
        this.writable = writable;
    }

    /** Opens {@code inode} read-only ({@code writable} false) or read-write. */
    public static OpenFile open(final MappedFile inode, final boolean writable)
    {
        return new OpenFile(java.util.Objects.requireNonNull(inode, "inode"), writable);
    }

    public MappedFile inode()
    {
        return inode;
    }

    /** FMODE_WRITE: a MAP_SHARED mapping of a file open read-only can never be made writable. */
    public boolean writable()
    {
        return writable;
    }

    @Override
    public String toString()
    {
        return inode + (writable ? " (rw)" : " (ro)");
    }
}
