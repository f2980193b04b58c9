package io.mmemu.vm;

import java.util.List;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Single-threaded semantics of the address space, each expectation derived from Linux's rules. */
class AddressSpaceTest
{
    private static final long BASE = 0x100000000000L;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS;

    private PhysicalMemory memory;
    private AddressSpace mm;
    private Cpu cpu;

    @BeforeEach
    void setUp()
    {
        memory = PhysicalMemory.create(256L << 20);
        mm = AddressSpace.create(memory);
        cpu = mm.attachCpu();
    }

    @AfterEach
    void tearDown()
    {
        cpu.close();
        mm.close();
        assertEquals(1, memory.framesInUse(), "every frame but the zero page returns after close");
        memory.close();
    }

    private List<String> maps()
    {
        return mm.vmas().stream().map(VmaInfo::mapsLine).toList();
    }

    @Test
    void fixedMappingThenMunmapOfTheMiddleLeavesTwoVmas()
    {
        assertEquals(BASE, cpu.mmap(BASE, 3 * 4096, RW, ANON | MAP_FIXED, -1, 0));
        assertEquals(0, cpu.munmap(BASE + 4096, 4096));
        assertEquals(List.of(
            "100000000000-100000001000 rw-p 00000000 00:00 0 ",
            "100000002000-100000003000 rw-p 00000000 00:00 0 "), maps());
    }

    @Test
    void faultTimingOffKeepsTheCountsAndLeavesTheLatencyHistogramEmpty()
    {
        cpu.mmap(BASE, 4 * 4096, RW, ANON | MAP_FIXED, -1, 0);
        mm.timeFaults(false);
        assertEquals(Signal.NONE, cpu.writeByte(BASE, 1));
        assertEquals(Signal.NONE, cpu.readByte(BASE + 4096));
        assertEquals(Signal.SEGV_MAPERR, cpu.readByte(BASE + 4 * 4096));
        MmStats stats = mm.stats();
        assertEquals(3, stats.faults());
        assertEquals(1, stats.segvMaperr());
        assertEquals(0, stats.faultLatency().getTotalCount(), "no fault read the clock");

        mm.timeFaults(true);
        assertEquals(Signal.NONE, cpu.writeByte(BASE + 2 * 4096, 1));
        stats = mm.stats();
        assertEquals(4, stats.faults());
        assertEquals(1, stats.faultLatency().getTotalCount(), "timed again from the next fault");
    }

    @Test
    void adjacentCompatibleMappingsMerge()
    {
        cpu.mmap(BASE, 4096, RW, ANON | MAP_FIXED, -1, 0);
        cpu.mmap(BASE + 4096, 4096, RW, ANON | MAP_FIXED, -1, 0);
        assertEquals(List.of("100000000000-100000002000 rw-p 00000000 00:00 0 "), maps());
        assertEquals(0, cpu.mprotect(BASE + 4096, 4096, PROT_READ));
        assertEquals(2, mm.mapCount());
        assertEquals(0, cpu.mprotect(BASE + 4096, 4096, RW));
        assertEquals(1, mm.mapCount(), "mprotect back merges again");
    }

    @Test
    void zeroPageThenWriteThenDontneed()
    {
        cpu.mmap(BASE, 2 * 4096, RW, ANON | MAP_FIXED, -1, 0);
        assertEquals(Signal.NONE, cpu.readByte(BASE));
        assertEquals(0, cpu.value());
        final long zeroPage = mm.pagemap(BASE);
        assertTrue(zeroPage < 0, "present");
        assertEquals(0, zeroPage & Pagemap.EXCLUSIVE, "the zero page is not exclusive");
        assertEquals(Signal.NONE, cpu.writeByte(BASE, 42));
        assertEquals(Signal.NONE, cpu.readByte(BASE));
        assertEquals(42, cpu.value());
        assertTrue((mm.pagemap(BASE) & Pagemap.EXCLUSIVE) != 0);
        assertEquals(0, cpu.madvise(BASE, 4096, MADV_DONTNEED));
        assertEquals(0, mm.pagemap(BASE) & Pagemap.PRESENT);
        assertEquals(Signal.NONE, cpu.readByte(BASE));
        assertEquals(0, cpu.value(), "DONTNEED of private anonymous memory reads back zeros");
        mm.check(true).assertOk();
    }

    @Test
    void protNoneKeepsTheFrameAndFaultsWithAccerr()
    {
        cpu.mmap(BASE, 4096, RW, ANON | MAP_FIXED, -1, 0);
        cpu.writeByte(BASE, 7);
        assertEquals(0, cpu.mprotect(BASE, 4096, PROT_NONE));
        assertEquals(Signal.SEGV_ACCERR, cpu.readByte(BASE));
        assertTrue(mm.pagemap(BASE) < 0, "PROT_NONE page stays present (pte_present)");
        assertEquals(0, cpu.mprotect(BASE, 4096, PROT_READ));
        assertEquals(Signal.NONE, cpu.readByte(BASE));
        assertEquals(7, cpu.value());
        assertEquals(Signal.SEGV_ACCERR, cpu.writeByte(BASE, 1));
        assertEquals(Signal.SEGV_MAPERR, cpu.readByte(BASE + 4096));
        mm.check(true).assertOk();
    }

    @Test
    void mremapMovesWrittenData()
    {
        cpu.mmap(BASE, 2 * 4096, RW, ANON | MAP_FIXED, -1, 0);
        cpu.writeLong(BASE, 0x1122334455667788L);
        cpu.writeLong(BASE + 4096, 99);
        assertEquals(BASE + 0x200000, cpu.mremap(BASE, 8192, 16384, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + 0x200000));
        assertEquals(Signal.SEGV_MAPERR, cpu.readByte(BASE));
        cpu.readLong(BASE + 0x200000);
        assertEquals(0x1122334455667788L, cpu.value());
        cpu.readLong(BASE + 0x201000);
        assertEquals(99, cpu.value());
        mm.check(true).assertOk();
    }

    @Test
    void errnosInTheKernelsOrder()
    {
        assertEquals(-Errno.EINVAL, cpu.mmap(0, 0, RW, ANON, -1, 0));
        assertEquals(-Errno.EINVAL, cpu.mmap(BASE + 1, 4096, RW, ANON | MAP_FIXED, -1, 0));
        assertEquals(-Errno.EINVAL, cpu.mmap(0, 4096, RW, MAP_ANONYMOUS, -1, 0));
        assertEquals(-Errno.EBADF, cpu.mmap(0, 4096, RW, MAP_PRIVATE, -1, 0));
        cpu.mmap(BASE, 4096, RW, ANON | MAP_FIXED, -1, 0);
        assertEquals(-Errno.EEXIST, cpu.mmap(BASE, 4096, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0));
        assertEquals(-Errno.EINVAL, cpu.munmap(BASE + 1, 4096));
        assertEquals(-Errno.EINVAL, cpu.munmap(BASE, 0));
        assertEquals(-Errno.ENOMEM, cpu.mprotect(BASE + 4096, 4096, PROT_READ));
        assertEquals(-Errno.EFAULT, cpu.mremap(BASE + 4096, 4096, 8192, MREMAP_MAYMOVE, 0));
        assertEquals(-Errno.EINVAL, cpu.madvise(BASE, 4096, 7));
        assertEquals(-Errno.ENOMEM, cpu.madvise(BASE + 4096, 4096, MADV_DONTNEED));
    }

    @Test
    void topDownPlacementBelowMmapBase()
    {
        assertEquals(AddressSpace.MMAP_BASE - 4096, cpu.mmap(0, 4096, RW, ANON, -1, 0));
        assertEquals(AddressSpace.MMAP_BASE - 2 * 4096, cpu.mmap(0, 4096, PROT_READ, ANON, -1, 0));
    }

    /**
     * anonVmaSharing says which VMAs share an anon_vma, which hasAnonVma alone does not: pieces of
     * one faulted VMA share one, VMAs faulted apart do not, an unfaulted VMA has none.
     */
    @Test
    void anonVmaSharingTellsPiecesOfOneFaultedVmaFromVmasFaultedApart()
    {
        assertEquals(BASE, cpu.mmap(BASE, 3 * 4096, RW, ANON | MAP_FIXED, -1, 0));
        assertEquals(0, cpu.writeByte(BASE, 1));
        assertEquals(0, cpu.mprotect(BASE + 4096, 4096, PROT_READ));
        final long apart = BASE + 16 * 4096;
        assertEquals(apart, cpu.mmap(apart, 4096, RW, ANON | MAP_FIXED, -1, 0));
        assertEquals(0, cpu.writeByte(apart, 1));
        final long unfaulted = BASE + 32 * 4096;
        assertEquals(unfaulted, cpu.mmap(unfaulted, 4096, RW, ANON | MAP_FIXED, -1, 0));
        assertEquals(5, mm.vmas().size());
        assertEquals(List.of(true, true, true, true, false), mm.vmas().stream().map(VmaInfo::hasAnonVma).toList());
        assertEquals(List.of(0, 0, 0, 3, -1), java.util.Arrays.stream(mm.anonVmaSharing()).boxed().toList());
    }
}
