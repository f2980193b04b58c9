package io.mmemu.inspect;

/**
 * {@code --hexdump PA LEN}: raw bytes of physical memory in {@code hexdump -C}'s canonical format,
 * the offsets being physical addresses — exactly what {@code hexdump -C -s PA -n LEN} prints for a
 * file holding physical memory at its physical offsets: 16 bytes a line in two groups of 8, the
 * printable ASCII between bars, runs of identical lines after the first squeezed to one {@code *},
 * and the end address on a line of its own.
 */
public final class Hexdump
{
    private static final int LINE = 16;

    private Hexdump()
    {
    }

    /**
     * @throws IllegalArgumentException naming the first page of the range whose bytes the image
     *                                  does not hold
     */
    public static String render(final MemoryImage memory, final long pa, final long length)
    {
        if (pa < 0 || length < 0 || Long.MAX_VALUE - pa < length)
        {
            throw new IllegalArgumentException(String.format("physical range 0x%x+%d is out of range", pa, length));
        }
        for (long page = pa >>> 12; page <= (pa + Math.max(length, 1) - 1) >>> 12 && length > 0; page++)
        {
            if (!memory.hasBytes(page))
            {
                throw new IllegalArgumentException(String.format("physical 0x%x has no bytes here (%s)", page << 12,
                    memory instanceof DumpImage ? "the dump holds the page tables, and the data frames only when written with data" :
                        page >= memory.backedFrames() ? "beyond the backed frames" : "PFN 0 is reserved"));
            }
        }
        final StringBuilder sb = new StringBuilder((int)Math.min(1 << 20, length * 5));
        final byte[] line = new byte[LINE];
        final byte[] previous = new byte[LINE];
        boolean squeezing = false;
        boolean havePrevious = false;
        long at = pa;
        final long end = pa + length;
        while (at < end)
        {
            final int n = (int)Math.min(LINE, end - at);
            memory.read(at, line, 0, n);
            if (n == LINE && havePrevious && java.util.Arrays.equals(line, previous))
            {
                if (!squeezing)
                {
                    sb.append("*\n");
                    squeezing = true;
                }
            }
            else
            {
                squeezing = false;
                appendLine(sb, at, line, n);
            }
            System.arraycopy(line, 0, previous, 0, LINE);
            havePrevious = n == LINE;
            at += n;
        }
        sb.append(String.format("%08x%n", end));
        return sb.toString();
    }

    private static void appendLine(final StringBuilder sb, final long offset, final byte[] bytes, final int n)
    {
        sb.append(String.format("%08x ", offset));
        for (int i = 0; i < LINE; i++)
        {
            if (i % 8 == 0)
            {
                sb.append(' ');
            }
            sb.append(i < n ? String.format("%02x ", bytes[i] & 0xFF) : "   ");
        }
        sb.append(" |");
        for (int i = 0; i < n; i++)
        {
            final int c = bytes[i] & 0xFF;
            sb.append(c >= 0x20 && c < 0x7F ? (char)c : '.');
        }
        sb.append("|\n");
    }
}
