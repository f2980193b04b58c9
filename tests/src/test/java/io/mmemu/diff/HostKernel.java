package io.mmemu.diff;

import java.io.IOException;
import java.util.List;

import io.mmemu.vm.KernelConfig;

/**
 * The build of the host kernel, as far as a replay can observe it ({@link KernelConfig}): probed
 * through the host runner itself (so under the very conditions of the comparison: THP off, inside
 * the window), never guessed from version strings. The emulator then runs as the same build, so
 * the comparison needs no forgiveness. The kernel that recorded the fixtures, for one, was booted
 * with {@code pvm_no_zero_page=1} (read faults allocate a page) and built without
 * CONFIG_MEM_SOFT_DIRTY; a later build of the same release has the zero page again.
 */
public final class HostKernel
{
    static final long PM_SOFT_DIRTY = 1L << 55;
    static final long PM_MMAP_EXCLUSIVE = 1L << 56;

    private static final long PROBE = ScriptGenerator.CENTRE;
    private static final String PROBE_SCRIPT =
        "mmap(0x" + Long.toHexString(PROBE) + ", 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)\n"
        + "touch(0x" + Long.toHexString(PROBE) + ", 4096, PROT_READ)\n";

    private HostKernel()
    {
    }

    /**
     * Reads a page of fresh private memory and looks at it in pagemap (exclusive: no zero page),
     * and at its untouched neighbour (bit 55 from the new VMA's VM_SOFTDIRTY: soft-dirty built in).
     */
    public static KernelConfig probe(final HostReplay host) throws IOException
    {
        final HostReplay.Result result = host.run(PROBE_SCRIPT, List.of("--pagemap", "0x" + Long.toHexString(PROBE),
            "0x" + Long.toHexString(PROBE + 8192)));
        final String[] lines = result.out().split("\n");
        if (result.exitCode() != 0 || lines.length != 4)
        {
            throw new IOException("the host probe failed (status " + result.exitCode() + "):\n" + result.out() + result.err());
        }
        final long readPage = Long.parseUnsignedLong(lines[2].split(" ")[1].substring(2), 16);
        final long untouchedPage = Long.parseUnsignedLong(lines[3].split(" ")[1].substring(2), 16);
        return new KernelConfig((readPage & PM_MMAP_EXCLUSIVE) == 0, (untouchedPage & PM_SOFT_DIRTY) != 0);
    }

    /** As a fixture's header records it: {@code zero-page=no soft-dirty=no}. */
    public static String describe(final KernelConfig kernel)
    {
        return "zero-page=" + (kernel.zeroPage() ? "yes" : "no") + " soft-dirty=" + (kernel.softDirty() ? "yes" : "no");
    }

    public static KernelConfig parse(final String description)
    {
        return new KernelConfig(description.contains("zero-page=yes"), description.contains("soft-dirty=yes"));
    }
}
