package io.mmemu.script;

/**
 * The address range [start, end) whose contents a replay compares with the host's. Non-fixed
 * mappings land where each side has room (the host among its own libraries, the emulator in an
 * empty address space), so only what lies inside the window is comparable. Unsigned.
 */
public record Window(long start, long end)
{
    /** No window: everything is shown. */
    public static final Window NONE = new Window(0, 0);

    public Window
    {
        if (Long.compareUnsigned(start, end) > 0)
        {
            throw new IllegalArgumentException(String.format("window start 0x%x is above its end 0x%x", start, end));
        }
    }

    public boolean isNone()
    {
        return start == 0 && end == 0;
    }

    /** Whether an address shows: always without a window. */
    public boolean shows(final long address)
    {
        return isNone() || (Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0);
    }

    /** Whether any of [rangeStart, rangeEnd) shows. */
    public boolean showsAnyOf(final long rangeStart, final long rangeEnd)
    {
        return isNone() || (Long.compareUnsigned(rangeStart, end) < 0 && Long.compareUnsigned(rangeEnd, start) > 0);
    }
}
