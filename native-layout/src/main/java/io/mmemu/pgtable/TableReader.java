package io.mmemu.pgtable;

/**
 * Read-only access to table pages for a walk that does not run on a live machine's frames (a dump
 * file, a frozen copy): {@link RangeWalker#observe} reads every entry through it.
 */
public interface TableReader
{
    /** Whether this reader holds the bytes of frame {@code pfn}. */
    boolean hasBytes(long pfn);

    /** The 64-bit word at physical address {@code pa} (8-byte aligned, in a frame with bytes). */
    long word(long pa);
}
