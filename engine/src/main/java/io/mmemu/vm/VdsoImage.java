package io.mmemu.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The kernel's special mappings that exec adds (arch/x86/entry/vdso/vma.c): the [vvar] data pages,
 * the [vvar_vclock] clock pages and the [vdso] text, mapped together, top down like any mmap, after
 * the program and its loader; and whether the legacy [vsyscall] page shows. Their sizes are the
 * kernel build's: {@link #host()} reads them from the running kernel's /proc/self/maps.
 *
 * @param vvar   bytes of [vvar]
 * @param vclock bytes of [vvar_vclock] (0 on kernels without it)
 * @param text   bytes of [vdso]
 */
public record VdsoImage(long vvar, long vclock, long text, boolean vsyscall)
{
    /** Linux 6.18 x86-64, as the fixtures' captures show it: 4 + 2 + 2 pages, [vsyscall] shown. */
    public static final VdsoImage LINUX_6_18 = new VdsoImage(4 << 12, 2 << 12, 2 << 12, true);

    /** Everything exec maps for them, in one piece. */
    public long size()
    {
        return vvar + vclock + text;
    }

    /** The running kernel's, from this JVM's own maps; {@link #LINUX_6_18} when they do not say. */
    public static VdsoImage host()
    {
        try
        {
            final List<String> lines = Files.readAllLines(Path.of("/proc/self/maps"));
            final long vvar = size(lines, "[vvar]");
            final long text = size(lines, "[vdso]");
            if (vvar == 0 || text == 0)
            {
                return LINUX_6_18;
            }
            return new VdsoImage(vvar, size(lines, "[vvar_vclock]"), text, size(lines, "[vsyscall]") != 0);
        }
        catch (final IOException | RuntimeException ex)
        {
            return LINUX_6_18;
        }
    }

    private static long size(final List<String> lines, final String name)
    {
        for (final String line : lines)
        {
            if (line.endsWith(" " + name))
            {
                final int dash = line.indexOf('-');
                final int space = line.indexOf(' ');
                return Long.parseUnsignedLong(line.substring(dash + 1, space), 16) -
                    Long.parseUnsignedLong(line.substring(0, dash), 16);
            }
        }
        return 0;
    }
}
