package io.mmemu.program;

import java.nio.file.Path;

import io.mmemu.phys.SwapArea;

/**
 * The {@code swap} option: the machine's swap area, {@code bytes} of it (0: none), in emulated
 * memory or, with {@code file}, in a sparse host file ({@code swap 1G}, {@code swap 1G,file=/tmp/swap}).
 */
public record SwapOption(long bytes, Path file)
{
    public static final SwapOption NONE = new SwapOption(0, null);

    public SwapOption
    {
        if (bytes < 0 || (bytes != 0 && (bytes < 8192 || (bytes & 4095) != 0)))
        {
            throw new IllegalArgumentException("swap must be 0 or a multiple of 4 KiB of at least 8 KiB: " + bytes);
        }
    }

    /** {@code SIZE} or {@code SIZE,file=PATH}. */
    public static SwapOption parse(final String text)
    {
        final String value = text.strip();
        final int comma = value.indexOf(',');
        final long bytes = RunOptions.number("swap", comma < 0 ? value : value.substring(0, comma));
        Path file = null;
        if (comma >= 0)
        {
            final String rest = value.substring(comma + 1).strip();
            if (!rest.startsWith("file=") || rest.length() == "file=".length())
            {
                throw new IllegalArgumentException("swap takes SIZE or SIZE,file=PATH, not '" + text + "'");
            }
            file = Path.of(rest.substring("file=".length()));
        }
        return new SwapOption(bytes, file);
    }

    /** The area to attach to the machine's memory, or null for none. */
    public SwapArea create()
    {
        if (bytes == 0)
        {
            return null;
        }
        return file == null ? SwapArea.inMemory(bytes) : SwapArea.inFile(bytes, file);
    }

    @Override
    public String toString()
    {
        return bytes == 0 ? "none" : bytes + (file == null ? "" : ",file=" + file);
    }
}
