package io.mmemu.vm;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.mmemu.inspect.Inspection;
import io.mmemu.pgtable.HugePmd;
import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;
import static io.mmemu.vm.Mman.MADV_COLLAPSE;
import static io.mmemu.vm.Mman.MADV_DONTNEED;
import static io.mmemu.vm.Mman.MADV_HUGEPAGE;
import static io.mmemu.vm.Mman.MADV_NOHUGEPAGE;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MREMAP_FIXED;
import static io.mmemu.vm.Mman.MREMAP_MAYMOVE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Transparent huge pages for anonymous memory through the syscalls and faults: the policy and the
 * VMA's eligibility, the 2 MiB fault (and the huge zero page), the fallback to 4 KiB pages, and
 * the splits of partial munmap, mprotect, MADV_DONTNEED and mremap; the invariant checker (frame
 * accounting, each subpage's counts, Kasan's reports) after each.
 */
final class ThpTest
{
    private static final long BASE = 0x4000_0000L;
    private static final long HUGE = HugePmd.SIZE;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

    /** One machine, one address space with {@code mode}, one CPU. */
    private static final class Machine implements AutoCloseable
    {
        final PhysicalMemory memory = PhysicalMemory.create(64L << 20);
        final long baseline = memory.framesInUse();
        final AddressSpace mm;
        final Cpu cpu;

        Machine(final ThpMode mode)
        {
            mm = AddressSpace.create(memory).thp(mode);
            cpu = mm.attachCpu();
        }

        void map(final long addr, final long length, final boolean advise)
        {
            assertEquals(addr, cpu.mmap(addr, length, RW, ANON, -1, 0));
            if (advise)
            {
                assertEquals(0, cpu.madvise(addr, length, MADV_HUGEPAGE));
            }
        }

        /** The status of a walk to {@code va}; the walker keeps the entry and level. */
        int walk(final long va)
        {
            return cpu.walker.walk(mm.cr3(), va);
        }

        boolean huge(final long va)
        {
            return walk(va) == PageWalker.WALK_LARGE && cpu.walker.level() == PageTableEntry.LEVEL_PMD;
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

        void check()
        {
            mm.check(true).assertOk();
        }

        @Override
        public void close()
        {
            cpu.close();
            mm.close();
            assertEquals(baseline, memory.framesInUse() - memory.hugeZeroPageFrames(), "every frame came back");
            memory.close();
        }
    }

    @Test
    void aWriteFaultInAnAdvisedAlignedRangeMapsTheWholeBlockWithOnePmdLeaf()
    {
        try (Machine m = new Machine(ThpMode.MADVISE))
        {
            m.map(BASE, 2 * HUGE, true);
            final long inUse = m.memory.framesInUse();
            m.write(BASE + 0x1238, 0x5555L);
            assertTrue(m.huge(BASE + 0x1238));
            final long leaf = m.cpu.walker.entry();
            assertTrue(PageTableEntry.isWritable(leaf) && PageTableEntry.isDirty(leaf));
            assertEquals(512 + 3, m.memory.framesInUse() - inUse, "the block, the PDPT, the PD and the deposited PT page");
            assertEquals(0L, m.read(BASE + 300 * 4096L), "the other subpages are zero");
            assertEquals(0x5555L, m.read(BASE + 0x1238));
            assertEquals(1, m.cpu.stats.thpFaultAlloc);
            final long head = PageTableEntry.leafAddress(leaf, PageTableEntry.LEVEL_PMD) >>> 12;
            assertEquals(0, head % 512);
            // pagemap: present and exclusive, per subpage
            final long word = m.mm.pagemap(BASE + 7 * 4096L);
            assertEquals(Pagemap.PRESENT | Pagemap.EXCLUSIVE, word & (Pagemap.PRESENT | Pagemap.EXCLUSIVE | Pagemap.FILE_OR_SHARED_ANON));
            final String smaps = Inspection.of(m.mm, m.mm.thp()).smaps();
            assertTrue(smaps.contains("AnonHugePages:      2048 kB"), smaps);
            assertTrue(smaps.contains("THPeligible:           1"), smaps);
            assertTrue(Inspection.of(m.mm, m.mm.thp()).ptdump().contains("pmd"), "ptdump shows the PMD leaf");
            m.check();
            assertEquals(0, m.cpu.munmap(BASE, 2 * HUGE));
            m.check();
        }
    }

    @Test
    void aReadFaultMapsTheHugeZeroPageAndAWriteReplacesItWithAFreshHugePage()
    {
        try (Machine m = new Machine(ThpMode.ALWAYS))
        {
            m.map(BASE, HUGE, false);
            assertEquals(0L, m.read(BASE + 8));
            assertTrue(m.huge(BASE));
            final long head = PageTableEntry.leafAddress(m.cpu.walker.entry(), PageTableEntry.LEVEL_PMD) >>> 12;
            assertTrue(m.memory.isHugeZeroPage(head));
            assertFalse(PageTableEntry.isWritable(m.cpu.walker.entry()));
            assertEquals(1, m.cpu.stats.thpZeroPage);
            final long word = m.mm.pagemap(BASE + 4096L);
            assertEquals(Pagemap.PRESENT | Pagemap.FILE_OR_SHARED_ANON,
                word & (Pagemap.PRESENT | Pagemap.EXCLUSIVE | Pagemap.FILE_OR_SHARED_ANON), "the huge zero page reports PM_FILE");
            m.check();

            // do_huge_zero_wp_pmd (Linux 6.12+): the write maps a fresh huge page in the zero page's place
            m.write(BASE + 4096L + 8, 0x77L);
            assertTrue(m.huge(BASE + 4096L));
            final long leaf = m.cpu.walker.entry();
            assertFalse(m.memory.isHugeZeroPage(PageTableEntry.leafAddress(leaf, PageTableEntry.LEVEL_PMD) >>> 12));
            assertTrue(PageTableEntry.isWritable(leaf) && PageTableEntry.isDirty(leaf));
            assertEquals(1, m.cpu.stats.thpFaultAlloc);
            assertEquals(Pagemap.PRESENT | Pagemap.EXCLUSIVE,
                m.mm.pagemap(BASE) & (Pagemap.PRESENT | Pagemap.EXCLUSIVE | Pagemap.FILE_OR_SHARED_ANON));
            assertEquals(0x77L, m.read(BASE + 4096L + 8));
            assertEquals(0L, m.read(BASE + 8));
            m.check();
            assertEquals(0, m.cpu.munmap(BASE, HUGE));
        }
    }

    @Test
    void aWriteToTheHugeZeroPageWithNoOrderNineBlockFreeSplitsItIntoFourKibCopyOnWrite()
    {
        try (Machine m = new Machine(ThpMode.ALWAYS))
        {
            m.map(BASE, HUGE, false);
            assertEquals(0L, m.read(BASE + 8));
            final List<Long> taken = new ArrayList<>();
            for (long pfn = m.memory.buddy().allocate(9); pfn != NO_FRAME; pfn = m.memory.buddy().allocate(9))
            {
                taken.add(pfn);
            }
            m.write(BASE + 4096L + 8, 0x77L);
            assertEquals(1, m.cpu.stats.thpFaultFallback);
            assertEquals(PageWalker.WALK_PTE, m.walk(BASE + 4096L));
            assertFalse(m.memory.isHugeZeroPage(PageTableEntry.pfn(m.cpu.walker.entry())));
            assertEquals(PageWalker.WALK_PTE, m.walk(BASE));
            assertEquals(m.memory.zeroPagePfn(), PageTableEntry.pfn(m.cpu.walker.entry()), "the rest maps the 4 KiB zero page");
            assertEquals(0x77L, m.read(BASE + 4096L + 8));
            assertEquals(0L, m.read(BASE + 8));
            for (final long pfn : taken)
            {
                m.memory.buddy().free(pfn, 9);
            }
            m.check();
            assertEquals(0, m.cpu.munmap(BASE, HUGE));
        }
    }

    @Test
    void thePolicyAndTheVmaDecide()
    {
        // never: 4 KiB pages even when advised
        try (Machine m = new Machine(ThpMode.NEVER))
        {
            m.map(BASE, HUGE, true);
            m.write(BASE, 1);
            assertEquals(PageWalker.WALK_PTE, m.walk(BASE));
        }
        try (Machine m = new Machine(ThpMode.MADVISE))
        {
            // madvise: not without the advice
            m.map(BASE, HUGE, false);
            m.write(BASE, 1);
            assertEquals(PageWalker.WALK_PTE, m.walk(BASE));
            // an advised VMA that does not hold the aligned block
            m.map(BASE + 4 * HUGE + 4096, HUGE, true);
            m.write(BASE + 5 * HUGE, 1);
            assertEquals(PageWalker.WALK_PTE, m.walk(BASE + 5 * HUGE));
            m.check();
        }
        try (Machine m = new Machine(ThpMode.ALWAYS))
        {
            // always: every large enough VMA, but not one with MADV_NOHUGEPAGE
            m.map(BASE, HUGE, false);
            m.write(BASE, 1);
            assertTrue(m.huge(BASE));
            m.map(BASE + 2 * HUGE, HUGE, false);
            assertEquals(0, m.cpu.madvise(BASE + 2 * HUGE, HUGE, MADV_NOHUGEPAGE));
            m.write(BASE + 2 * HUGE, 1);
            assertEquals(PageWalker.WALK_PTE, m.walk(BASE + 2 * HUGE));
            m.check();
        }
    }

    @Test
    void withNoOrderNineBlockFreeTheFaultFallsBackToFourKib()
    {
        try (Machine m = new Machine(ThpMode.ALWAYS))
        {
            m.map(BASE, HUGE, false);
            final List<Long> taken = new ArrayList<>();
            for (long pfn = m.memory.buddy().allocate(9); pfn != NO_FRAME; pfn = m.memory.buddy().allocate(9))
            {
                taken.add(pfn);
            }
            m.write(BASE + 8, 3);
            assertEquals(PageWalker.WALK_PTE, m.walk(BASE));
            assertEquals(1, m.cpu.stats.thpFaultFallback);
            assertEquals(3L, m.read(BASE + 8));
            for (final long pfn : taken)
            {
                m.memory.buddy().free(pfn, 9);
            }
            m.check();
            assertEquals(0, m.cpu.munmap(BASE, HUGE));
        }
    }

    /** Two huge pages at BASE with a word written in every subpage: (page index + 1). */
    private static void twoHugePagesWritten(final Machine m)
    {
        m.map(BASE, 2 * HUGE, true);
        for (long p = 0; p < 1024; p++)
        {
            m.write(BASE + p * 4096 + 16, p + 1);
        }
        assertTrue(m.huge(BASE));
        assertTrue(m.huge(BASE + HUGE));
        assertEquals(2, m.cpu.stats.thpFaultAlloc);
    }

    @Test
    void aPartialMunmapSplitsTheLeavesItCutsAndFreesOnlyTheUnmappedSubpages()
    {
        try (Machine m = new Machine(ThpMode.MADVISE))
        {
            twoHugePagesWritten(m);
            final long data = m.memory.dataFrames();
            assertEquals(0, m.cpu.munmap(BASE + HUGE / 2, HUGE));
            assertFalse(m.huge(BASE));
            assertFalse(m.huge(BASE + HUGE));
            assertEquals(512, data - m.memory.dataFrames());
            assertEquals(1L, m.read(BASE + 16));
            assertEquals(1024L, m.read(BASE + 1023 * 4096L + 16));
            assertEquals(Signal.SEGV_MAPERR, m.cpu.readLong(BASE + HUGE));
            m.check();
            assertEquals(0, m.cpu.munmap(BASE, 2 * HUGE));
            m.check();
        }
    }

    @Test
    void aWholeMunmapFreesEachLeafWhole()
    {
        try (Machine m = new Machine(ThpMode.MADVISE))
        {
            twoHugePagesWritten(m);
            final long data = m.memory.dataFrames();
            assertEquals(0, m.cpu.munmap(BASE, 2 * HUGE));
            assertEquals(1024, data - m.memory.dataFrames());
            assertEquals(PageWalker.WALK_HOLE, m.walk(BASE));
            m.check();
        }
    }

    @Test
    void aPartialMprotectSplitsAndAWholeOneKeepsTheLeaf()
    {
        try (Machine m = new Machine(ThpMode.MADVISE))
        {
            twoHugePagesWritten(m);
            assertEquals(0, m.cpu.mprotect(BASE, HUGE, PROT_READ));
            assertTrue(m.huge(BASE), "a whole leaf is re-protected in place");
            assertFalse(PageTableEntry.isWritable(m.cpu.walker.entry()));
            assertEquals(0, m.cpu.mprotect(BASE + HUGE, 4096, PROT_READ));
            assertFalse(m.huge(BASE + HUGE));
            assertEquals(Signal.SEGV_ACCERR, m.cpu.writeLong(BASE + HUGE, 9));
            m.write(BASE + HUGE + 4096, 9);
            assertEquals(Signal.SEGV_ACCERR, m.cpu.writeLong(BASE + 8, 9));
            assertEquals(1L, m.read(BASE + 16));
            m.check();
            // back to read-write: the read-only leaf's next write reuses the block whole
            assertEquals(0, m.cpu.mprotect(BASE, HUGE, RW));
            m.write(BASE + 8, 10);
            assertTrue(m.huge(BASE));
            m.check();
            assertEquals(0, m.cpu.munmap(BASE, 2 * HUGE));
        }
    }

    @Test
    void aDumpWithHugeLeavesReadsBackToTheSameViews(@TempDir final Path dir) throws Exception
    {
        try (Machine m = new Machine(ThpMode.MADVISE))
        {
            twoHugePagesWritten(m);
            m.map(BASE + 4 * HUGE, HUGE, true);
            assertEquals(0L, m.read(BASE + 4 * HUGE));
            final Inspection live = Inspection.of(m.mm, m.mm.thp());
            final Path file = dir.resolve("thp.dump");
            live.writeDump(file, true);
            try (Inspection dumped = Inspection.open(file))
            {
                assertEquals(live.maps(), dumped.maps());
                assertEquals(live.smaps(), dumped.smaps());
                assertEquals(live.ptdump(), dumped.ptdump());
                for (final long va : new long[] {BASE, BASE + 5 * 4096L, BASE + HUGE + 4096L, BASE + 4 * HUGE + 8192L})
                {
                    assertEquals(live.pagemap(va), dumped.pagemap(va), Long.toHexString(va));
                    assertEquals(live.walk(va), dumped.walk(va));
                }
            }
            assertEquals(0, m.cpu.munmap(BASE, 5 * HUGE));
        }
    }

    @Test
    void aVmaSplitInsideALeafSplitsTheLeaf()
    {
        try (Machine m = new Machine(ThpMode.MADVISE))
        {
            twoHugePagesWritten(m);
            // advice on half of the first huge page: two VMAs, no leaf across them (vma_adjust_trans_huge)
            assertEquals(0, m.cpu.madvise(BASE + HUGE / 2, HUGE / 2, MADV_NOHUGEPAGE));
            assertFalse(m.huge(BASE));
            assertTrue(m.huge(BASE + HUGE), "a leaf the new boundary does not cut stays");
            final String smaps = Inspection.of(m.mm, m.mm.thp()).smaps();
            assertTrue(smaps.contains("AnonHugePages:         0 kB"), smaps);
            assertTrue(smaps.contains("AnonHugePages:      2048 kB"), smaps);
            assertEquals(257L, m.read(BASE + 256 * 4096L + 16));
            m.check();
            assertEquals(0, m.cpu.munmap(BASE, 2 * HUGE));
        }
    }

    @Test
    void madvCollapseCopiesAFourKibBlockIntoOneLeafWhateverThePolicy()
    {
        try (Machine m = new Machine(ThpMode.NEVER))
        {
            m.map(BASE, 2 * HUGE, false);
            for (long p = 0; p < 512; p += 3)
            {
                m.write(BASE + p * 4096 + 24, p + 100);
            }
            assertEquals(0L, m.read(BASE + 4096 + 24), "a zero-page mapping in the block");
            final long data = m.memory.dataFrames();
            assertEquals(0, m.cpu.madvise(BASE, HUGE, MADV_COLLAPSE));
            assertTrue(m.huge(BASE));
            assertTrue(PageTableEntry.isWritable(m.cpu.walker.entry()) && PageTableEntry.isDirty(m.cpu.walker.entry()));
            assertEquals(512 - 171, m.memory.dataFrames() - data, "171 pages copied into 512 and freed");
            for (long p = 0; p < 512; p++)
            {
                assertEquals(p % 3 == 0 ? p + 100 : 0L, m.read(BASE + p * 4096 + 24));
            }
            m.check();
            // already a leaf: done; the second block has no PT page: EINVAL; a range holding no block: 0
            assertEquals(0, m.cpu.madvise(BASE, HUGE, MADV_COLLAPSE));
            assertEquals(-Errno.EINVAL, m.cpu.madvise(BASE, 2 * HUGE, MADV_COLLAPSE));
            assertEquals(0, m.cpu.madvise(BASE + HUGE, 8192, MADV_COLLAPSE));
            // a range inside one block, short of its end: EINVAL (the block count wraps)
            assertEquals(-Errno.EINVAL, m.cpu.madvise(BASE + HUGE + 4096, 8192, MADV_COLLAPSE));
            // a block of zero-page mappings only: collapsed all the same (6.18 has no SCAN_PAGE_RO)
            assertEquals(0L, m.read(BASE + HUGE + 8));
            assertEquals(0, m.cpu.madvise(BASE + HUGE, HUGE, MADV_COLLAPSE));
            assertTrue(m.huge(BASE + HUGE));
            assertEquals(0L, m.read(BASE + HUGE + 8));
            m.check();
            assertEquals(0, m.cpu.munmap(BASE, 2 * HUGE));
        }
    }

    @Test
    void madvCollapseRefusesIneligibleVmasAndReportsHoles()
    {
        try (Machine m = new Machine(ThpMode.ALWAYS))
        {
            m.map(BASE, HUGE, false);
            assertEquals(0, m.cpu.madvise(BASE, HUGE, MADV_NOHUGEPAGE));
            m.write(BASE, 1);
            assertEquals(-Errno.EINVAL, m.cpu.madvise(BASE, HUGE, MADV_COLLAPSE));
            assertEquals(BASE + 2 * HUGE, m.cpu.mmap(BASE + 2 * HUGE, HUGE, RW, Mman.MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
            m.write(BASE + 2 * HUGE, 1);
            assertEquals(-Errno.EINVAL, m.cpu.madvise(BASE + 2 * HUGE, HUGE, MADV_COLLAPSE), "shared memory");
            // a hole after a collapsed block: ENOMEM, the block collapsed all the same
            m.mm.thp(ThpMode.NEVER);
            m.map(BASE + 4 * HUGE, HUGE, false);
            m.write(BASE + 4 * HUGE, 1);
            assertFalse(m.huge(BASE + 4 * HUGE));
            assertEquals(-Errno.ENOMEM, m.cpu.madvise(BASE + 4 * HUGE, 2 * HUGE, MADV_COLLAPSE));
            assertTrue(m.huge(BASE + 4 * HUGE));
            m.check();
            assertEquals(0, m.cpu.munmap(BASE, 5 * HUGE));
        }
    }

    @Test
    void dontNeedSplitsWhatItCutsAndClearsWholeLeaves()
    {
        try (Machine m = new Machine(ThpMode.MADVISE))
        {
            twoHugePagesWritten(m);
            assertEquals(0, m.cpu.madvise(BASE + 4096, 4096, MADV_DONTNEED));
            assertFalse(m.huge(BASE));
            assertEquals(0L, m.read(BASE + 4096 + 16));
            assertEquals(3L, m.read(BASE + 2 * 4096 + 16));
            assertEquals(0, m.cpu.madvise(BASE + HUGE, HUGE, MADV_DONTNEED));
            assertEquals(PageWalker.WALK_HOLE, m.walk(BASE + HUGE), "the whole leaf cleared");
            m.write(BASE + HUGE + 8, 4);
            assertTrue(m.huge(BASE + HUGE), "faulted again as a huge page");
            m.check();
            assertEquals(0, m.cpu.munmap(BASE, 2 * HUGE));
        }
    }

    @Test
    void mremapMovesTheContentsOfHugePages()
    {
        try (Machine m = new Machine(ThpMode.MADVISE))
        {
            twoHugePagesWritten(m);
            final long to = BASE + 16 * HUGE;
            assertEquals(to, m.cpu.mremap(BASE, 2 * HUGE, 2 * HUGE, MREMAP_MAYMOVE | MREMAP_FIXED, to));
            assertTrue(m.huge(to) && m.huge(to + HUGE), "aligned: the leaves moved whole (move_huge_pmd)");
            for (long p = 0; p < 1024; p += 37)
            {
                assertEquals(p + 1, m.read(to + p * 4096 + 16));
            }
            // off the alignment: split, moved page by page
            final long off = BASE + 32 * HUGE + 4096;
            assertEquals(off, m.cpu.mremap(to, 2 * HUGE, 2 * HUGE, MREMAP_MAYMOVE | MREMAP_FIXED, off));
            assertFalse(m.huge(off + HUGE - 4096));
            assertEquals(1024L, m.read(off + 1023 * 4096 + 16));
            assertEquals(0, m.cpu.munmap(off, 2 * HUGE));
            m.check();
            assertEquals(to, m.cpu.mmap(to, 2 * HUGE, RW, ANON, -1, 0));
            assertEquals(Signal.SEGV_MAPERR, m.cpu.readLong(BASE));
            m.check();
            assertEquals(0, m.cpu.munmap(to, 2 * HUGE));
            m.check();
        }
    }
}
