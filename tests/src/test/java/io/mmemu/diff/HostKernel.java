package io.mmemu.diff;

import java.io.IOException;
import java.util.List;

/**
 * What the host kernel does differently from stock Linux because of how it was configured, found by
 * running a probe script through the host runner (never guessed from version strings). The
 * comparison forgives exactly these differences, and says so.
 *
 * @param zeroPage  a read fault on private anonymous memory maps the shared zero page (stock Linux);
 *                  false on kernels booted with e.g. {@code pvm_no_zero_page=1}, where it allocates
 *                  an exclusive page
 * @param softDirty pagemap reports soft-dirty (bit 55): CONFIG_MEM_SOFT_DIRTY=y, which marks every
 *                  page of a new VMA soft-dirty
 */
public record HostKernel(boolean zeroPage, boolean softDirty)
{
    public static final long PM_SOFT_DIRTY = 1L << 55;
    public static final long PM_MMAP_EXCLUSIVE = 1L << 56;
    public static final long PM_FILE = 1L << 61;
    public static final long PM_SWAP = 1L << 62;
    public static final long PM_PRESENT = 1L << 63;

    /** Stock Linux with CONFIG_MEM_SOFT_DIRTY=y (Debian, Fedora, Ubuntu kernels). */
    public static final HostKernel STOCK = new HostKernel(true, true);

    private static final long PROBE = ScriptGenerator.CENTRE;
    private static final String PROBE_SCRIPT =
        "mmap(0x" + Long.toHexString(PROBE) + ", 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)\n"
        + "touch(0x" + Long.toHexString(PROBE) + ", 4096, PROT_READ)\n";

    /** Reads a page of fresh private memory, and looks at it and its untouched neighbour in pagemap. */
    public static HostKernel probe(final HostReplay host) throws IOException
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
        return new HostKernel((readPage & PM_MMAP_EXCLUSIVE) == 0, (untouchedPage & PM_SOFT_DIRTY) != 0);
    }

    /** Parses the {@code # host-kernel: zero-page=no soft-dirty=no} line a fixture records. */
    public static HostKernel parse(final String description)
    {
        return new HostKernel(description.contains("zero-page=yes"), description.contains("soft-dirty=yes"));
    }

    /** As fixtures record it. */
    public String describe()
    {
        return "zero-page=" + (zeroPage ? "yes" : "no") + " soft-dirty=" + (softDirty ? "yes" : "no");
    }

    /** What the comparison forgives on this host, for the test log; empty on a stock kernel. */
    public String forgiven()
    {
        final StringBuilder sb = new StringBuilder();
        if (!zeroPage)
        {
            sb.append("the host maps no zero page (read faults allocate, e.g. pvm_no_zero_page=1): a pagemap word "
                + "the emulator reports as the zero page (present, anonymous, not exclusive) matches the host's "
                + "exclusive page. ");
        }
        if (!softDirty)
        {
            sb.append("the host kernel has no CONFIG_MEM_SOFT_DIRTY: pagemap bit 55 is ignored on the emulator side.");
        }
        return sb.toString().trim();
    }

    /**
     * The emulator's pagemap word as this host would print it: forgives exactly the configuration
     * differences above, nothing else.
     */
    public long asHostWouldShow(final long emulatorWord, final long hostWord)
    {
        long word = emulatorWord;
        if (!softDirty)
        {
            word &= ~PM_SOFT_DIRTY;
        }
        final boolean zeroPageShape = (word & (PM_PRESENT | PM_MMAP_EXCLUSIVE | PM_FILE | PM_SWAP)) == PM_PRESENT;
        if (!zeroPage && zeroPageShape && ((hostWord ^ (word | PM_MMAP_EXCLUSIVE)) & ~PM_SOFT_DIRTY) == 0)
        {
            word |= PM_MMAP_EXCLUSIVE;
        }
        return word;
    }
}
