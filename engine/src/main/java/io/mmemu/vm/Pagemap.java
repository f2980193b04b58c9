package io.mmemu.vm;

/** Bits of a /proc/PID/pagemap word (Documentation/admin-guide/mm/pagemap.rst). */
public final class Pagemap
{
    public static final long PFN_MASK = (1L << 55) - 1;
    public static final long SOFT_DIRTY = 1L << 55;
    public static final long EXCLUSIVE = 1L << 56;
    public static final long UFFD_WP = 1L << 57;
    public static final long GUARD = 1L << 58;
    public static final long FILE_OR_SHARED_ANON = 1L << 61;
    public static final long SWAPPED = 1L << 62;
    public static final long PRESENT = 1L << 63;

    private Pagemap()
    {
    }
}
