package io.mmemu.inspect;

import java.util.List;
import java.util.Objects;

import io.mmemu.pgtable.PagingMode;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.MmStats;
import io.mmemu.vm.ThpMode;
import io.mmemu.vm.VmaInfo;

/**
 * What every view reads: an address space's page-table root, its VMAs, the kernel build it
 * emulates, and the physical memory behind the tables — live, or loaded from a dump. Views are
 * computed from the tables and frame descriptors here, never from counters kept on the side.
 *
 * @param cr3    the CR3 word: physical address of the root table, LA57 in bit 0 ({@link PagingMode})
 * @param vmas   the VMAs in address order
 * @param kernel the emulated kernel build (zero page, soft-dirty, paging levels: the CR3 word's)
 * @param thp    the THP policy smaps reports eligibility against
 * @param memory the frames
 * @param stats  the address space's counters and latency histograms
 */
public record Snapshot(long cr3, List<VmaInfo> vmas, KernelConfig kernel, ThpMode thp, MemoryImage memory,
    MmStats stats)
{
    public Snapshot
    {
        vmas = List.copyOf(vmas);
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(thp, "thp");
        Objects.requireNonNull(memory, "memory");
        Objects.requireNonNull(stats, "stats");
        if (PagingMode.levels(cr3) != kernel.paging())
        {
            throw new IllegalArgumentException("CR3 0x" + Long.toHexString(cr3) + " is not a root of " + kernel.paging() +
                "-level paging");
        }
    }

    /** Page-table levels: 4, or 5 (LA57). */
    public int paging()
    {
        return kernel.paging();
    }

    /**
     * A live address space. Take it at a quiescent point: the VMA list is one consistent
     * snapshot, but the tables are read as the views walk them.
     */
    public static Snapshot of(final AddressSpace space, final ThpMode thp)
    {
        return new Snapshot(space.cr3(), space.vmas(), space.kernel(), thp, new LiveMemory(space.memory()), space.stats());
    }

    /** The VMA containing {@code va}, or null. */
    public VmaInfo vmaAt(final long va)
    {
        int lo = 0;
        int hi = vmas.size() - 1;
        while (lo <= hi)
        {
            final int mid = (lo + hi) >>> 1;
            final VmaInfo vma = vmas.get(mid);
            if (Long.compareUnsigned(va, vma.start()) < 0)
            {
                hi = mid - 1;
            }
            else if (Long.compareUnsigned(va, vma.end()) >= 0)
            {
                lo = mid + 1;
            }
            else
            {
                return vma;
            }
        }
        return null;
    }
}
