package io.mmemu.inspect;

import java.util.Map;

import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.LockingMode;
import io.mmemu.vm.ThpMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * smaps on a mainline build (zero page, soft-dirty) — the cases the host fixtures cannot show —
 * each expectation derived from fs/proc/task_mmu.c's smaps_pte_entry/smaps_account and
 * mm/huge_memory.c's THP eligibility.
 */
class SmapsTest
{
    private static final long BASE = 0x100000000000L;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int PRIVATE = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

    private PhysicalMemory memory;
    private AddressSpace space;
    private Cpu cpu;

    private void start(final KernelConfig kernel)
    {
        memory = PhysicalMemory.create(64L << 20);
        space = AddressSpace.create(memory, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, kernel);
        cpu = space.attachCpu();
    }

    @AfterEach
    void tearDown()
    {
        cpu.close();
        space.close();
        memory.close();
    }

    @Test
    void zeroPageMappingsAreNotResidentButArePresentInPagemap()
    {
        start(KernelConfig.MAINLINE);
        cpu.mmap(BASE, 4 * 4096, RW, PRIVATE, -1, 0);
        cpu.writeByte(BASE, 1);
        cpu.readByte(BASE + 4096);
        cpu.readByte(BASE + 2 * 4096);
        final Map<String, String> f = SmapsFields.of(space, BASE, ThpMode.NEVER);
        // vm_normal_page() gives no page for the zero page: only the written page counts
        assertEquals("4 kB", f.get("Rss"));
        assertEquals("4 kB", f.get("Pss"));
        assertEquals("4 kB", f.get("Private_Dirty"));
        assertEquals("4 kB", f.get("Anonymous"));
        assertEquals("4 kB", f.get("Referenced"));
        // mainline has CONFIG_MEM_SOFT_DIRTY: new VMAs are VM_SOFTDIRTY, "sd" after "ac"
        assertEquals("rd wr mr mw me ac sd", f.get("VmFlags"));
        final Snapshot snapshot = Snapshot.of(space, ThpMode.NEVER);
        // the zero page: present and soft-dirty (the VMA's VM_SOFTDIRTY), not exclusive
        assertEquals(0x8080000000000000L, PagemapView.word(snapshot, BASE + 4096));
        assertEquals(0x8180000000000000L, PagemapView.word(snapshot, BASE));
        assertEquals(0x0080000000000000L, PagemapView.word(snapshot, BASE + 3 * 4096));
    }

    @Test
    void protNonePagesKeepTheirFramesAndCount()
    {
        start(KernelConfig.MAINLINE);
        cpu.mmap(BASE, 2 * 4096, RW, PRIVATE, -1, 0);
        cpu.writeByte(BASE, 1);
        cpu.writeByte(BASE + 4096, 1);
        cpu.mprotect(BASE, 2 * 4096, PROT_NONE);
        final Map<String, String> f = SmapsFields.of(space, BASE, ThpMode.NEVER);
        // pte_present() is true for PROT_NONE entries: still resident, still dirty
        assertEquals("8 kB", f.get("Rss"));
        assertEquals("8 kB", f.get("Private_Dirty"));
        // VM_ACCOUNT stays: the VMA has an anon_vma (mprotect_fixup drops it only without one)
        assertEquals("mr mw me ac sd", f.get("VmFlags"));
    }

    @Test
    void sharedPagesMappedTwiceSplitTheirPss()
    {
        start(KernelConfig.MAINLINE);
        final long second = BASE + 0x100000;
        cpu.mmap(BASE, 3 * 4096, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        cpu.writeByte(BASE, 1);
        cpu.readByte(BASE + 4096);
        cpu.mremap(BASE, 0, 3 * 4096, MREMAP_MAYMOVE | MREMAP_FIXED, second);
        // a write fault maps just its page; the read of page 1 maps it (fault-around finds page 0
        // mapped already); the read of page 2 allocates it, mapped here only
        cpu.writeByte(second, 2);
        cpu.readByte(second + 4096);
        cpu.readByte(second + 2 * 4096);
        final Map<String, String> first = SmapsFields.of(space, BASE, ThpMode.ALWAYS);
        // pages 0 (dirty) and 1 (clean) are each mapped twice: Shared, and half their size in Pss
        assertEquals("8 kB", first.get("Rss"));
        assertEquals("4 kB", first.get("Pss"));
        assertEquals("2 kB", first.get("Pss_Dirty"));
        assertEquals("4 kB", first.get("Shared_Dirty"));
        assertEquals("4 kB", first.get("Shared_Clean"));
        assertEquals("0 kB", first.get("Private_Clean"));
        // shmem pages are not anonymous; shmem is never THP-eligible under shmem_enabled=never
        assertEquals("0 kB", first.get("Anonymous"));
        assertEquals("0", first.get("THPeligible"));
        final Map<String, String> other = SmapsFields.of(space, second, ThpMode.ALWAYS);
        assertEquals("12 kB", other.get("Rss"));
        assertEquals("8 kB", other.get("Pss"));
        assertEquals("2 kB", other.get("Pss_Dirty"));
        assertEquals("4 kB", other.get("Shared_Dirty"));
        assertEquals("4 kB", other.get("Shared_Clean"));
        assertEquals("4 kB", other.get("Private_Clean"));
    }

    @Test
    void lockedVmasCountTheirPssAsLocked()
    {
        start(KernelConfig.MAINLINE);
        cpu.mmap(BASE, 3 * 4096, RW, PRIVATE | MAP_LOCKED, -1, 0);
        final Map<String, String> f = SmapsFields.of(space, BASE, ThpMode.NEVER);
        // MAP_LOCKED populates a private writable VMA for write
        assertEquals("12 kB", f.get("Rss"));
        assertEquals("12 kB", f.get("Locked"));
        assertEquals("12 kB", f.get("Private_Dirty"));
        assertTrue(f.get("VmFlags").contains(" lo "), f.get("VmFlags"));
    }

    @Test
    void thpEligibilityFollowsThePolicyTheAdviceAndAnAlignedBlock()
    {
        start(KernelConfig.MAINLINE);
        final long aligned = BASE + 0x200000;
        cpu.mmap(aligned, 0x200000, RW, PRIVATE, -1, 0);                 // exactly one aligned 2 MiB block
        cpu.mmap(BASE + 0x801000, 0x200000, RW, PRIVATE, -1, 0);         // 2 MiB, but no aligned block inside
        cpu.mmap(BASE + 0x1000000, 0x400000, RW, PRIVATE | MAP_STACK, -1, 0); // MAP_STACK: VM_NOHUGEPAGE
        assertEquals("1", SmapsFields.of(space, aligned, ThpMode.ALWAYS).get("THPeligible"));
        assertEquals("0", SmapsFields.of(space, aligned, ThpMode.MADVISE).get("THPeligible"));
        assertEquals("0", SmapsFields.of(space, aligned, ThpMode.NEVER).get("THPeligible"));
        assertEquals("0", SmapsFields.of(space, BASE + 0x801000, ThpMode.ALWAYS).get("THPeligible"));
        assertEquals("0", SmapsFields.of(space, BASE + 0x1000000, ThpMode.ALWAYS).get("THPeligible"));
        cpu.madvise(aligned, 0x200000, MADV_HUGEPAGE);
        assertEquals("1", SmapsFields.of(space, aligned, ThpMode.MADVISE).get("THPeligible"));
        assertEquals("0", SmapsFields.of(space, aligned, ThpMode.NEVER).get("THPeligible"));
    }

    @Test
    void everyFieldLinuxPrintsIsThereInItsOrder()
    {
        start(KernelConfig.MAINLINE);
        cpu.mmap(BASE, 4096, RW, PRIVATE, -1, 0);
        assertEquals(String.join(",", "Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss", "Pss_Dirty", "Shared_Clean",
            "Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced", "Anonymous", "KSM", "LazyFree", "AnonHugePages",
            "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss", "Locked", "THPeligible",
            "VmFlags"), String.join(",", SmapsFields.of(space, BASE, ThpMode.ALWAYS).keySet()));
    }
}
