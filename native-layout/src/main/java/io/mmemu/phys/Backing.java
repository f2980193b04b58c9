package io.mmemu.phys;

/** What stands behind data frames. Page-table pages are always real. */
public enum Backing
{
    /** Every frame has 4 KiB of bytes and a descriptor. */
    FULL,
    /**
     * Data frames are {@link PhantomFrames}: accounted, never backed or touched. Reads of them
     * return zero and writes are dropped; tables are real. This is how a fully populated 1 TiB
     * mapping fits a 24 GiB machine.
     */
    TABLES_ONLY
}
