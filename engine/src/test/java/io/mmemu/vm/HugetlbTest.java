package io.mmemu.vm;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.HugetlbPool;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;

import static io.mmemu.vm.Mman.MADV_DONTNEED;
import static io.mmemu.vm.Mman.MADV_FREE;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_HUGETLB;
import static io.mmemu.vm.Mman.MAP_NORESERVE;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MAP_SHARED;
import static io.mmemu.vm.Mman.MREMAP_FIXED;
import static io.mmemu.vm.Mman.MREMAP_MAYMOVE;
import static io.mmemu.vm.Mman.PROT_NONE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MAP_HUGETLB through the syscalls and faults: the pool and its reservations (ENOMEM at mmap,
 * SIGBUS at a MAP_NORESERVE fault), 2 MiB PMD and 1 GiB PUD leaves, the huge page alignment of
 * munmap, mprotect, madvise and mremap (EINVAL), MADV_DONTNEED on whole huge pages, fork of
 * private (copy on write from the pool) and shared mappings; the invariant checker and the pool's
 * counters after each, and every page back in the pool at the end.
 */
final class HugetlbTest
{
    private static final long BASE = 0x7f00_0000_0000L;
    private static final long M2 = 2L << 20;
    private static final long G1 = 1L << 30;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int HUGE_2MB = 21 << 26;
    private static final int HUGE_1GB = 30 << 26;
    private static final int PRIVATE = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
    private static final int SHARED = MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB;

    /** One machine with pools of {@code pages2m} and {@code pages1g}, one address space, one CPU. */
    private static final class Machine implements AutoCloseable
    {
        final PhysicalMemory memory;
        final HugetlbPool pool2m;
        final HugetlbPool pool1g;
        final long baseline;
        final AddressSpace mm;
        final Cpu cpu;

        Machine(final long bytes, final long pages2m, final long pages1g)
        {
            this(PhysicalMemory.create(bytes), pages2m, pages1g);
        }

        Machine(final PhysicalMemory memory, final long pages2m, final long pages1g)
        {
            this.memory = memory;
            pool2m = memory.hugetlbPool(PhysicalMemory.HUGE_ORDER);
            pool1g = memory.hugetlbPool(PhysicalMemory.GIGANTIC_ORDER);
            assertEquals(pages2m, pool2m.resize(pages2m));
            assertEquals(pages1g, pool1g.resize(pages1g));
            baseline = memory.framesInUse();
            mm = AddressSpace.create(memory);
            cpu = mm.attachCpu();
        }

        Machine(final long pages2m)
        {
            this(64L << 20, pages2m, 0);
        }

        void write(final long va, final long value)
        {
            assertEquals(Signal.NONE, cpu.writeLong(va, value));
        }

        long read(final long va)
        {
            assertEquals(Signal.NONE, cpu.readLong(va));
            return cpu.value();
        }

        /** The level of the leaf mapping {@code va}, 0 when none. */
        int leafLevel(final long va)
        {
            final int status = cpu.walker.walk(mm.cr3(), va);
            return status == PageWalker.WALK_LARGE || status == PageWalker.WALK_PTE && cpu.walker.entry() != 0 ?
                cpu.walker.level() : 0;
        }

        void check()
        {
            mm.check(true).assertOk();
        }

        @Override
        public void close()
        {
            cpu.close();
            mm.close();
            assertEquals(baseline, memory.framesInUse(), "every frame came back");
            assertEquals(pool2m.total(), pool2m.free(), "every 2 MiB page back in its pool");
            assertEquals(pool1g.total(), pool1g.free(), "every 1 GiB page back in its pool");
            assertEquals(0, pool2m.reserved() + pool1g.reserved(), "no reservation left");
            memory.close();
        }
    }

    @Test
    void withNoPoolMapHugetlbIsEnomemAndANoreserveMappingFaultsSigbus()
    {
        try (Machine m = new Machine(0))
        {
            assertEquals(-Errno.ENOMEM, m.cpu.mmap(0, M2, RW, PRIVATE, -1, 0));
            assertEquals(-Errno.ENOMEM, m.cpu.mmap(0, M2, RW, SHARED | HUGE_2MB, -1, 0));
            assertEquals(-Errno.EINVAL, m.cpu.mmap(0, M2, RW, PRIVATE | (22 << 26), -1, 0), "no 4 MiB hstate");
            final long addr = m.cpu.mmap(0, M2, RW, PRIVATE | MAP_NORESERVE, -1, 0);
            assertTrue(addr > 0 && addr % M2 == 0, "an aligned address: " + Long.toHexString(addr));
            assertEquals(Signal.BUS_ADRERR, m.cpu.writeLong(addr + 8, 1));
            m.check();
            assertEquals(0, m.cpu.munmap(addr, M2));
        }
    }

    @Test
    void aPrivateMappingReservesItsPagesAndFaultsMapWholePmdLeavesFromThePool()
    {
        try (Machine m = new Machine(3))
        {
            final long addr = m.cpu.mmap(0, 3 * M2 - 4096, RW, PRIVATE | HUGE_2MB, -1, 0);
            assertTrue(addr > 0 && addr % M2 == 0, Long.toHexString(addr));
            assertEquals(3, m.pool2m.reserved(), "the length is rounded up to three huge pages, all reserved");
            assertEquals(-Errno.ENOMEM, m.cpu.mmap(0, M2, RW, PRIVATE, -1, 0), "nothing left to reserve");
            m.write(addr + 0x1238, 0x5555L);
            assertEquals(PageTableEntry.LEVEL_PMD, m.leafLevel(addr + 0x1238));
            assertEquals(PageTableEntry.LEVEL_PMD, m.leafLevel(addr + M2 - 8), "one leaf maps the whole page");
            assertEquals(0x5555L, m.read(addr + 0x1238));
            assertEquals(0L, m.read(addr + 300 * 4096L));
            assertEquals(2, m.pool2m.free());
            assertEquals(2, m.pool2m.reserved());
            m.check();
            // a partial munmap gives back the reservation of the page it removes, faulted or not
            assertEquals(0, m.cpu.munmap(addr + 2 * M2, M2));
            assertEquals(1, m.pool2m.reserved());
            assertEquals(0, m.cpu.munmap(addr, M2));
            assertEquals(3, m.pool2m.free(), "the faulted page is back in the pool");
            m.check();
            assertEquals(0, m.cpu.munmap(addr + M2, M2));
            assertEquals(0, m.pool2m.reserved());
        }
    }

    @Test
    void rangesThatCutAHugePageAreEinvalAndDontneedFreesWholePagesOnly()
    {
        try (Machine m = new Machine(4))
        {
            assertEquals(BASE, m.cpu.mmap(BASE, 2 * M2, RW, PRIVATE | MAP_FIXED, -1, 0));
            assertEquals(-Errno.EINVAL, m.cpu.mmap(BASE + 4096, M2, RW, PRIVATE | MAP_FIXED, -1, 0), "misaligned fixed address");
            m.write(BASE, 1);
            m.write(BASE + M2, 2);
            assertEquals(-Errno.EINVAL, m.cpu.munmap(BASE, 4096));
            assertEquals(-Errno.EINVAL, m.cpu.munmap(BASE + 4096, M2));
            assertEquals(-Errno.EINVAL, m.cpu.mprotect(BASE, 4096, PROT_READ));
            assertEquals(-Errno.EINVAL, m.cpu.mmap(BASE + 4096, 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
                "a 4 KiB MAP_FIXED inside a huge page");
            assertEquals(-Errno.EINVAL, m.cpu.madvise(BASE + 4096, M2, MADV_DONTNEED));
            assertEquals(-Errno.EINVAL, m.cpu.madvise(BASE, M2, MADV_FREE));
            assertEquals(0, m.cpu.madvise(BASE, 4096, MADV_DONTNEED), "rounded down to no huge page");
            assertEquals(1L, m.read(BASE));
            assertEquals(0, m.cpu.madvise(BASE, M2 + 4096, MADV_DONTNEED), "rounded down to the first page");
            assertEquals(0, m.leafLevel(BASE));
            assertEquals(2L, m.read(BASE + M2));
            assertEquals(3, m.pool2m.free(), "the zapped page went back");
            assertEquals(0L, m.read(BASE), "a private page refaults zero");
            assertEquals(0, m.cpu.mprotect(BASE + M2, M2, PROT_READ));
            assertEquals(Signal.SEGV_ACCERR, m.cpu.writeLong(BASE + M2, 3));
            assertEquals(2L, m.read(BASE + M2));
            m.check();
            assertEquals(0, m.cpu.munmap(BASE, 2 * M2));
        }
    }

    @Test
    void aOneGibPageIsOnePudLeafThatMprotectKeepsThroughProtNone()
    {
        try (Machine m = new Machine(3L << 30, 0, 1))
        {
            assertEquals(-Errno.ENOMEM, m.cpu.mmap(0, G1, RW, PRIVATE, -1, 0), "the default size is 2 MiB: no pool");
            final long addr = m.cpu.mmap(0, 4096, RW, PRIVATE | HUGE_1GB, -1, 0);
            assertTrue(addr > 0 && addr % G1 == 0, Long.toHexString(addr));
            m.write(addr + 8, 0x11L);
            m.write(addr + G1 - 8, 0x22L);
            assertEquals(PageTableEntry.LEVEL_PUD, m.leafLevel(addr + G1 / 2));
            m.check();
            assertEquals(0, m.cpu.mprotect(addr, G1, PROT_NONE));
            assertEquals(Signal.SEGV_ACCERR, m.cpu.readLong(addr + 8));
            m.check();
            assertEquals(0, m.cpu.mprotect(addr, G1, RW));
            assertEquals(0x11L, m.read(addr + 8));
            assertEquals(0x22L, m.read(addr + G1 - 8));
            assertEquals(-Errno.EINVAL, m.cpu.munmap(addr, M2), "2 MiB-aligned is not enough");
            assertEquals(0, m.cpu.munmap(addr, G1));
            assertEquals(1, m.pool1g.free());
            m.check();
        }
    }

    @Test
    void forkSharesASharedMappingAndCopiesAPrivateOneOnWriteFromThePool()
    {
        try (Machine m = new Machine(4))
        {
            assertEquals(BASE, m.cpu.mmap(BASE, M2, RW, PRIVATE | MAP_FIXED, -1, 0));
            assertEquals(BASE + M2, m.cpu.mmap(BASE + M2, M2, RW, SHARED | MAP_FIXED, -1, 0));
            m.write(BASE, 7);
            m.write(BASE + M2, 8);
            final AddressSpace child = m.cpu.fork();
            final Cpu c = child.attachCpu();
            try
            {
                AddressSpace.checkAll(true, m.mm, child).assertOk();
                assertEquals(Signal.NONE, c.readLong(BASE));
                assertEquals(7L, c.value());
                assertEquals(Signal.NONE, c.writeLong(BASE, 70));
                assertEquals(7L, m.read(BASE), "the parent keeps its value");
                assertEquals(Signal.NONE, c.writeLong(BASE + M2 + 8, 80));
                assertEquals(80L, m.read(BASE + M2 + 8), "the shared page is one page");
                assertEquals(Signal.NONE, c.readLong(BASE + M2));
                assertEquals(8L, c.value());
                AddressSpace.checkAll(true, m.mm, child).assertOk();
                m.write(BASE + 16, 9);
                assertEquals(7L, m.read(BASE), "the parent reuses its page, now alone");
            }
            finally
            {
                c.close();
                child.close();
            }
            m.check();
        }
    }

    @Test
    void forkCopiesAOneGibLeaf()
    {
        try (Machine m = new Machine(4L << 30, 0, 2))
        {
            final long addr = m.cpu.mmap(0, G1, RW, PRIVATE | HUGE_1GB, -1, 0);
            m.write(addr + 4096, 5);
            final AddressSpace child = m.cpu.fork();
            final Cpu c = child.attachCpu();
            try
            {
                AddressSpace.checkAll(true, m.mm, child).assertOk();
                assertEquals(Signal.NONE, c.readLong(addr + 4096));
                assertEquals(5L, c.value());
                assertEquals(Signal.NONE, c.writeLong(addr + 4096, 6));
                assertEquals(5L, m.read(addr + 4096));
                assertEquals(0, m.pool1g.free(), "the child's copy came from the pool");
                AddressSpace.checkAll(true, m.mm, child).assertOk();
            }
            finally
            {
                c.close();
                child.close();
            }
            assertEquals(1, m.pool1g.free());
            m.check();
        }
    }

    @Test
    void mremapMovesWholeHugePagesAndRefusesGrowthAndMisalignment()
    {
        try (Machine m = new Machine(4))
        {
            assertEquals(BASE, m.cpu.mmap(BASE, 2 * M2, RW, PRIVATE | MAP_FIXED, -1, 0));
            m.write(BASE + 8, 1);
            m.write(BASE + M2 + 8, 2);
            assertEquals(-Errno.EINVAL, m.cpu.mremap(BASE, 2 * M2, 3 * M2, MREMAP_MAYMOVE, 0));
            assertEquals(-Errno.EINVAL, m.cpu.mremap(BASE, 2 * M2, 2 * M2, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + 16 * M2 + 4096));
            final long to = BASE + 16 * M2;
            assertEquals(to, m.cpu.mremap(BASE, 2 * M2, 2 * M2, MREMAP_MAYMOVE | MREMAP_FIXED, to));
            assertEquals(1L, m.read(to + 8));
            assertEquals(2L, m.read(to + M2 + 8));
            m.check();
            assertEquals(to, m.cpu.mremap(to, 2 * M2, 4096, 0, 0), "a shrink to one huge page");
            assertEquals(3, m.pool2m.free());
            assertEquals(1L, m.read(to + 8));
            m.check();
            assertEquals(0, m.cpu.munmap(to, M2));
        }
    }

    @Test
    void aTablesOnlyMachinesPoolIsPhantomPagesThatForkGivesTheChildItsOwnOf()
    {
        try (Machine m = new Machine(PhysicalMemory.create(4L << 30, io.mmemu.phys.Backing.TABLES_ONLY), 64, 2))
        {
            final long addr = m.cpu.mmap(0, 8 * M2, RW, PRIVATE, -1, 0);
            final long giga = m.cpu.mmap(0, G1, RW, PRIVATE | HUGE_1GB, -1, 0);
            final long shared = m.cpu.mmap(0, 2 * M2, RW, SHARED, -1, 0);
            for (long va = addr; va < addr + 8 * M2; va += M2)
            {
                assertEquals(Signal.NONE, m.cpu.writeLong(va, 1));
                assertEquals(PageTableEntry.LEVEL_PMD, m.leafLevel(va));
            }
            assertEquals(Signal.NONE, m.cpu.writeLong(giga + 8, 1));
            assertEquals(PageTableEntry.LEVEL_PUD, m.leafLevel(giga));
            assertEquals(Signal.NONE, m.cpu.writeLong(shared, 1));
            assertTrue(!m.memory.isBacked(PageTableEntry.leafAddress(m.cpu.walker.entry(), PageTableEntry.LEVEL_PMD) >>> 12)
                || m.leafLevel(shared) == PageTableEntry.LEVEL_PMD, "phantom pages");
            m.check();
            final AddressSpace child = m.cpu.fork();
            final Cpu c = child.attachCpu();
            assertEquals(64 - 8 - 1 - 8, m.pool2m.free(), "the child got pages of its own: 8 private ones");
            assertEquals(Signal.NONE, c.writeLong(addr + 8, 2));
            AddressSpace.checkAll(true, m.mm, child).assertOk();
            c.close();
            child.close();
            assertEquals(0, m.cpu.munmap(addr, 8 * M2));
            assertEquals(0, m.cpu.munmap(giga, G1));
            m.check();
        }
    }

    /** The host kernel's figures for this sequence (pool of 4): the reservations travel with an mremap move. */
    @Test
    void aMovedPrivateMappingKeepsItsReservations()
    {
        try (Machine m = new Machine(4))
        {
            assertEquals(BASE, m.cpu.mmap(BASE, 2 * M2, RW, PRIVATE | MAP_FIXED, -1, 0));
            assertEquals(2, m.pool2m.reserved());
            m.write(BASE, 1);
            assertEquals(1, m.pool2m.reserved());
            assertEquals(3, m.pool2m.free());
            final long to = BASE + 16 * M2;
            assertEquals(to, m.cpu.mremap(BASE, 2 * M2, 2 * M2, MREMAP_MAYMOVE | MREMAP_FIXED, to));
            assertEquals(1, m.pool2m.reserved(), "the unfaulted page's reservation moved with it");
            assertEquals(3, m.pool2m.free());
            m.write(to + M2, 2);
            assertEquals(0, m.pool2m.reserved());
            assertEquals(2, m.pool2m.free());
            assertEquals(1L, m.read(to));
            assertEquals(to, m.cpu.mremap(to, 2 * M2, M2, 0, 0));
            assertEquals(0, m.pool2m.reserved());
            assertEquals(3, m.pool2m.free());
            m.check();
            assertEquals(0, m.cpu.munmap(to, M2));
        }
    }

    /** The host kernel's figures for this sequence (pool of 4): a hole punch frees whole cached pages. */
    @Test
    void madvRemoveOfASharedMappingPunchesWholePagesOutOfItsFile()
    {
        try (Machine m = new Machine(4))
        {
            final long a = m.cpu.mmap(0, 3 * M2, RW, SHARED, -1, 0);
            assertEquals(3, m.pool2m.reserved());
            m.write(a, 1);
            m.write(a + M2, 2);
            assertEquals(2, m.pool2m.free());
            assertEquals(1, m.pool2m.reserved());
            assertEquals(0, m.cpu.madvise(a, 4096, Mman.MADV_REMOVE), "no whole page inside");
            assertEquals(2, m.pool2m.free());
            assertEquals(0, m.cpu.madvise(a, M2 + 4096, Mman.MADV_REMOVE));
            assertEquals(3, m.pool2m.free());
            assertEquals(2L, m.read(a + M2));
            assertEquals(0, m.cpu.madvise(a + M2, 2 * M2, Mman.MADV_REMOVE));
            assertEquals(4, m.pool2m.free());
            assertEquals(1, m.pool2m.reserved(), "the never faulted page keeps its reservation");
            assertEquals(0L, m.read(a));
            assertEquals(0L, m.read(a + M2));
            assertEquals(2, m.pool2m.free());
            assertEquals(1, m.pool2m.reserved(), "the punched indices refault from unreserved pages");
            assertEquals(0, m.cpu.madvise(a + 4096, 4096, Mman.MADV_REMOVE));
            m.check();
            assertEquals(0, m.cpu.munmap(a, 3 * M2));
            assertEquals(4, m.pool2m.free());
            assertEquals(0, m.pool2m.reserved());
        }
    }
}
