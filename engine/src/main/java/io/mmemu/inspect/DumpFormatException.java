package io.mmemu.inspect;

import java.io.IOException;

/**
 * A dump file that cannot be read as docs/dump-format.md describes: truncated, corrupted, or not
 * a dump at all. The message names the byte offset in the file and what was wrong there.
 */
public final class DumpFormatException extends IOException
{
    private final long offset;

    public DumpFormatException(final long offset, final String problem)
    {
        super(String.format("offset %d (0x%x): %s", offset, offset, problem));
        this.offset = offset;
    }

    /** Byte offset in the file where the problem is. */
    public long offset()
    {
        return offset;
    }
}
