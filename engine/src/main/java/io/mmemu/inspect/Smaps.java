package io.mmemu.inspect;

import io.mmemu.vm.HugeMemory;
import io.mmemu.vm.ThpMode;
import io.mmemu.vm.VmFlags;
import io.mmemu.vm.VmaInfo;

/**
 * /proc/PID/smaps as fs/proc/task_mmu.c's show_smap prints it (Linux 6.18, x86-64 without
 * protection keys): the maps line, then every field in Linux's order and widths — each value in
 * kB right-aligned in 8 columns ({@code SEQ_PUT_DEC}), Private_Hugetlb in 7 after its longer
 * label — THPeligible, and VmFlags with the two-letter mnemonics in bit order, each followed by a
 * space. Values come from {@link SmapsUsage}, measured from the tables.
 */
public final class Smaps
{
    /** show_smap_vma_flags' mnemonics by bit; "??" marks a bit Linux has no name for. */
    private static final String[] MNEMONICS = new String[32];

    static
    {
        java.util.Arrays.fill(MNEMONICS, "??");
        name(VmFlags.VM_READ, "rd");
        name(VmFlags.VM_WRITE, "wr");
        name(VmFlags.VM_EXEC, "ex");
        name(VmFlags.VM_SHARED, "sh");
        name(VmFlags.VM_MAYREAD, "mr");
        name(VmFlags.VM_MAYWRITE, "mw");
        name(VmFlags.VM_MAYEXEC, "me");
        name(VmFlags.VM_MAYSHARE, "ms");
        name(VmFlags.VM_GROWSDOWN, "gd");
        name(1 << 9, "um"); // VM_UFFD_MISSING
        name(VmFlags.VM_PFNMAP, "pf");
        name(1 << 12, "uw"); // VM_UFFD_WP
        name(VmFlags.VM_LOCKED, "lo");
        name(VmFlags.VM_IO, "io");
        name(VmFlags.VM_SEQ_READ, "sr");
        name(VmFlags.VM_RAND_READ, "rr");
        name(VmFlags.VM_DONTCOPY, "dc");
        name(VmFlags.VM_DONTEXPAND, "de");
        name(VmFlags.VM_LOCKONFAULT, "lf");
        name(VmFlags.VM_ACCOUNT, "ac");
        name(VmFlags.VM_NORESERVE, "nr");
        name(VmFlags.VM_HUGETLB, "ht");
        name(VmFlags.VM_SYNC, "sf");
        name(1 << 24, "ar"); // VM_ARCH_1 (x86: VM_PAT)
        name(VmFlags.VM_WIPEONFORK, "wf");
        name(VmFlags.VM_DONTDUMP, "dd");
        name(VmFlags.VM_MIXEDMAP, "mm");
        name(VmFlags.VM_HUGEPAGE, "hg");
        name(VmFlags.VM_NOHUGEPAGE, "nh");
        name(VmFlags.VM_MERGEABLE, "mg");
    }

    private static final long HPAGE_PMD_SIZE = 2L << 20;

    private Smaps()
    {
    }

    private static void name(final int flag, final String mnemonic)
    {
        MNEMONICS[Integer.numberOfTrailingZeros(flag)] = mnemonic;
    }

    /** The smaps block of every VMA. */
    public static String render(final Snapshot snapshot)
    {
        final StringBuilder sb = new StringBuilder(1024 * Math.max(1, snapshot.vmas().size()));
        for (final VmaInfo vma : snapshot.vmas())
        {
            append(sb, snapshot, vma);
        }
        return sb.toString();
    }

    /** Appends one VMA's smaps block. */
    public static void append(final StringBuilder sb, final Snapshot snapshot, final VmaInfo vma)
    {
        final SmapsUsage u = SmapsUsage.measure(snapshot, vma);
        sb.append(vma.mapsLine()).append('\n');
        kb(sb, "Size:           ", vma.end() - vma.start());
        final long pageSize = SmapsUsage.pageSize(vma, u);
        kb(sb, "KernelPageSize: ", pageSize);
        kb(sb, "MMUPageSize:    ", pageSize);
        kb(sb, "Rss:            ", u.resident());
        kb(sb, "Pss:            ", u.pss() >>> SmapsUsage.PSS_SHIFT);
        kb(sb, "Pss_Dirty:      ", u.pssDirty() >>> SmapsUsage.PSS_SHIFT);
        kb(sb, "Shared_Clean:   ", u.sharedClean());
        kb(sb, "Shared_Dirty:   ", u.sharedDirty());
        kb(sb, "Private_Clean:  ", u.privateClean());
        kb(sb, "Private_Dirty:  ", u.privateDirty());
        kb(sb, "Referenced:     ", u.referenced());
        kb(sb, "Anonymous:      ", u.anonymous());
        kb(sb, "KSM:            ", 0);
        kb(sb, "LazyFree:       ", u.lazyFree());
        kb(sb, "AnonHugePages:  ", u.anonymousThp());
        kb(sb, "ShmemPmdMapped: ", u.shmemThp());
        kb(sb, "FilePmdMapped:  ", 0);
        kb(sb, "Shared_Hugetlb: ", u.sharedHugetlb());
        sb.append("Private_Hugetlb: ").append(String.format("%7d", u.privateHugetlb() >>> 10)).append(" kB\n");
        kb(sb, "Swap:           ", u.swap());
        kb(sb, "SwapPss:        ", u.swapPss() >>> SmapsUsage.PSS_SHIFT);
        kb(sb, "Locked:         ", u.pssLocked() >>> SmapsUsage.PSS_SHIFT);
        sb.append("THPeligible:    ").append(String.format("%8d", thpEligible(vma, snapshot.thp()) ? 1 : 0)).append('\n');
        sb.append("VmFlags: ");
        for (int bit = 0; bit < 32; bit++)
        {
            if ((vma.flags() & (1 << bit)) != 0)
            {
                final String mnemonic = bit == Integer.numberOfTrailingZeros(VmFlags.VM_SOFTDIRTY) ?
                    (snapshot.kernel().softDirty() ? "sd" : "??") : MNEMONICS[bit];
                sb.append(mnemonic).append(' ');
            }
        }
        sb.append('\n');
    }

    /**
     * thp_vma_allowable_orders(vma, TVA_SMAPS) for the PMD order, the only one enabled by default:
     * never with VM_NOHUGEPAGE; shared anonymous memory (shmem) never, shmem_enabled's default;
     * private anonymous memory when the policy allows it (always, or madvise with VM_HUGEPAGE) and
     * the VMA holds the 2 MiB-aligned block below its end.
     */
    public static boolean thpEligible(final VmaInfo vma, final ThpMode mode)
    {
        final int flags = vma.flags();
        if (vma.isShared())
        {
            return false;
        }
        if (!HugeMemory.enabled(mode, flags) || vma.end() - vma.start() < HPAGE_PMD_SIZE)
        {
            return false;
        }
        final long block = (vma.end() - HPAGE_PMD_SIZE) & ~(HPAGE_PMD_SIZE - 1);
        return block >= vma.start() && block + HPAGE_PMD_SIZE <= vma.end();
    }

    /** SEQ_PUT_DEC: the label, the value in kB right-aligned in 8 columns, " kB". */
    private static void kb(final StringBuilder sb, final String label, final long bytes)
    {
        sb.append(label).append(String.format("%8d", bytes >>> 10)).append(" kB\n");
    }
}
