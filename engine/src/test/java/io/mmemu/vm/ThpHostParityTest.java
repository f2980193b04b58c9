package io.mmemu.vm;

import io.mmemu.pgtable.HugePmd;
import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.MADV_COLLAPSE;
import static io.mmemu.vm.Mman.MADV_DONTNEED;
import static io.mmemu.vm.Mman.MADV_HUGEPAGE;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MREMAP_DONTUNMAP;
import static io.mmemu.vm.Mman.MREMAP_FIXED;
import static io.mmemu.vm.Mman.MREMAP_MAYMOVE;
import static io.mmemu.vm.Mman.PROT_NONE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where a THP fault finds a PT page, and what a huge-zero-page fault leaves behind, as the host
 * kernel (6.18) showed the differential harness's THP scripts (io.mmemu.diff.DifferentialTest's
 * THP seeds; each case here is a minimised script the harness found, checked on the host): one
 * regression test per engine difference it found, in both locking modes.
 */
final class ThpHostParityTest
{
    private static final long BASE = 0x4000_0000L;
    private static final long HUGE = HugePmd.SIZE;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

    /** One machine, one address space under the madvise policy (the host's), one CPU. */
    private static final class Machine implements AutoCloseable
    {
        final PhysicalMemory memory = PhysicalMemory.create(64L << 20);
        final AddressSpace mm;
        final Cpu cpu;

        Machine(final LockingMode locking)
        {
            mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION).thp(ThpMode.MADVISE);
            cpu = mm.attachCpu();
        }

        void map(final long addr, final long length)
        {
            assertEquals(addr, cpu.mmap(addr, length, RW, ANON, -1, 0));
        }

        void advise(final long addr, final long length)
        {
            assertEquals(0, cpu.madvise(addr, length, MADV_HUGEPAGE));
        }

        void write(final long va)
        {
            assertEquals(Signal.NONE, cpu.writeLong(va, va));
        }

        boolean huge(final long va)
        {
            return cpu.walker.walk(mm.cr3(), va) == PageWalker.WALK_LARGE && cpu.walker.level() == PageTableEntry.LEVEL_PMD;
        }

        boolean pte(final long va)
        {
            return cpu.walker.walk(mm.cr3(), va) == PageWalker.WALK_PTE;
        }

        @Override
        public void close()
        {
            mm.check(true).assertOk();
            cpu.close();
            mm.close();
            memory.close();
        }
    }

    /** do_huge_pmd_anonymous_page prepares the anon_vma before it looks at the access: a read that maps the huge zero page too. */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void aHugeZeroPageReadGivesTheVmaItsAnonVma(final LockingMode locking)
    {
        try (Machine m = new Machine(locking))
        {
            m.map(BASE, HUGE);
            m.advise(BASE, HUGE);
            assertEquals(Signal.NONE, m.cpu.readLong(BASE + 8));
            assertTrue(m.huge(BASE));
            assertTrue(m.memory.isHugeZeroPage(PageTableEntry.leafAddress(m.cpu.walker.entry(), PageTableEntry.LEVEL_PMD) >>> 12));
            assertNotNull(m.mm.tree().find(BASE).anonVma());
        }
    }

    /** vms_clear_ptes frees the replaced range's tables: the new VMA's first fault finds an empty PMD entry. */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void mapFixedOverFaultedMemoryFreesItsPageTables(final LockingMode locking)
    {
        try (Machine m = new Machine(locking))
        {
            m.map(BASE, 3 * HUGE);
            m.write(BASE + 7 * 4096L);
            m.map(BASE, 3 * HUGE);
            m.advise(BASE, 3 * HUGE);
            m.write(BASE + 9 * 4096L);
            assertTrue(m.huge(BASE), "a huge page where the replaced VMA had a PT page");
        }
    }

    /** CONFIG_PT_RECLAIM: MADV_DONTNEED of a whole 2 MiB block frees its PT page; of part of one, keeps it. */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void dontNeedFreesThePtPagesOfTheBlocksItEmptiesWhole(final LockingMode locking)
    {
        try (Machine m = new Machine(locking))
        {
            m.map(BASE, 2 * HUGE);
            m.write(BASE + 5 * 4096L);
            m.write(BASE + HUGE + 5 * 4096L);
            assertEquals(0, m.cpu.madvise(BASE, HUGE + 16 * 4096L, MADV_DONTNEED));
            m.advise(BASE, 2 * HUGE);
            m.write(BASE + 3 * 4096L);
            assertTrue(m.huge(BASE), "the block emptied whole lost its PT page");
            m.write(BASE + HUGE + 3 * 4096L);
            assertTrue(m.pte(BASE + HUGE), "the block emptied in part kept its PT page");
        }
    }

    /** do_munmap of an MREMAP_FIXED target frees its tables before the move. */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void mremapFreesItsTargetsPageTables(final LockingMode locking)
    {
        try (Machine m = new Machine(locking))
        {
            final long source = BASE + 8 * HUGE;
            m.map(BASE, HUGE);
            m.write(BASE + 4096L);
            m.map(source, HUGE);
            m.advise(source, HUGE);
            assertEquals(BASE, m.cpu.mremap(source, HUGE, HUGE, MREMAP_MAYMOVE | MREMAP_FIXED, BASE));
            m.write(BASE + 2 * 4096L);
            assertTrue(m.huge(BASE), "a huge page where the target's old VMA had a PT page");
        }
    }

    /** move_page_tables allocates a destination PT page wherever the source has one, whatever its entries. */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void mremapGivesTheDestinationAPtPageWhereTheSourceHadOne(final LockingMode locking)
    {
        try (Machine m = new Machine(locking))
        {
            final long target = BASE + 8 * HUGE;
            m.map(BASE, 2 * HUGE);
            m.write(BASE + 4096L);
            m.advise(BASE, 2 * HUGE);
            // the first half of the moved range comes from the PT page of block 0, all of it empty
            assertEquals(target, m.cpu.mremap(BASE + HUGE / 2, HUGE, HUGE, MREMAP_MAYMOVE | MREMAP_FIXED, target));
            m.write(target + HUGE - 4096L);
            assertTrue(m.pte(target), "4 KiB pages: the destination block has a PT page");
            assertFalse(m.huge(target));
        }
    }

    /** The PMD leaf at {@code va}, 0 when none is there. */
    private static long leaf(final Machine m, final long va)
    {
        return m.huge(va) ? m.cpu.walker.entry() : 0L;
    }

    /**
     * change_huge_pmd: mprotect(PROT_NONE) of a whole huge page keeps its leaf, non-present with
     * PROTNONE and its page (pagemap still says present and exclusive); an access is SEGV_ACCERR;
     * mprotect back gives the same page back, its data intact.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void protNoneKeepsAWholeHugePage(final LockingMode locking)
    {
        try (Machine m = new Machine(locking))
        {
            m.map(BASE, 2 * HUGE);
            m.advise(BASE, 2 * HUGE);
            m.write(BASE + 8);
            m.write(BASE + HUGE + 8);
            final long head = PageTableEntry.leafAddress(leaf(m, BASE), PageTableEntry.LEVEL_PMD);
            assertEquals(0, m.cpu.mprotect(BASE, HUGE, PROT_NONE));
            final long none = leaf(m, BASE);
            assertTrue(PageTableEntry.isProtNone(none), "a PROT_NONE PMD leaf, not a split");
            assertEquals(head, PageTableEntry.leafAddress(none, PageTableEntry.LEVEL_PMD));
            assertEquals(Pagemap.PRESENT | Pagemap.EXCLUSIVE, m.mm.pagemap(BASE + 5 * 4096L) & (Pagemap.PRESENT | Pagemap.EXCLUSIVE));
            m.mm.check(true).assertOk();
            assertEquals(Signal.SEGV_ACCERR, m.cpu.readLong(BASE + 8));
            assertEquals(Signal.SEGV_ACCERR, m.cpu.writeLong(BASE + 4096L, 1));
            assertTrue(PageTableEntry.isProtNone(leaf(m, BASE)));
            assertEquals(0, m.cpu.mprotect(BASE, HUGE, RW));
            assertTrue(PageTableEntry.isPresent(leaf(m, BASE)));
            assertEquals(Signal.NONE, m.cpu.readLong(BASE + 8));
            assertEquals(BASE + 8, m.cpu.value());
            m.write(BASE + 16);
            assertEquals(head, PageTableEntry.leafAddress(leaf(m, BASE), PageTableEntry.LEVEL_PMD), "the same page, reused");
        }
    }

    /**
     * A PROT_NONE huge leaf is a leaf to every range operation: moved whole by mremap
     * (move_huge_pmd), copied whole by fork, split where a munmap cuts it (its subpages stay
     * PROT_NONE), and freed whole by munmap (the checker's accounting at close says so).
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void aProtNoneHugeLeafMovesForksSplitsAndUnmaps(final LockingMode locking)
    {
        try (Machine m = new Machine(locking))
        {
            final long target = BASE + 8 * HUGE;
            m.map(BASE, 2 * HUGE);
            m.advise(BASE, 2 * HUGE);
            m.write(BASE + 8);
            m.write(BASE + HUGE + 8);
            assertEquals(0, m.cpu.mprotect(BASE, 2 * HUGE, PROT_NONE));
            assertEquals(target, m.cpu.mremap(BASE, HUGE, HUGE, MREMAP_MAYMOVE | MREMAP_FIXED, target));
            assertTrue(PageTableEntry.isProtNone(leaf(m, target)), "moved whole");
            final AddressSpace child = m.cpu.fork();
            assertNotNull(child);
            try
            {
                final PageWalker walker = new PageWalker(m.memory, null);
                assertEquals(PageWalker.WALK_LARGE, walker.walk(child.cr3(), target));
                assertTrue(PageTableEntry.isProtNone(walker.entry()), "fork copies it whole");
                AddressSpace.checkAll(true, m.mm, child).assertOk();
            }
            finally
            {
                child.close();
            }
            assertEquals(0, m.cpu.munmap(BASE + HUGE, 4096L));
            assertTrue(m.pte(BASE + HUGE + 4096L), "split where the munmap cut it");
            assertTrue(PageTableEntry.isProtNone(m.cpu.walker.entry()));
            assertEquals(0, m.cpu.mprotect(BASE + HUGE + 4096L, HUGE - 4096L, RW));
            assertEquals(Signal.NONE, m.cpu.readLong(BASE + HUGE + 4096L));
            assertEquals(0, m.cpu.munmap(target, HUGE));
            assertFalse(m.huge(target));
        }
    }

    /**
     * copy_vma merges the copy with its neighbours, its own MREMAP_DONTUNMAP source included: an
     * unfaulted anonymous VMA's copy gets pgoff = its address, which lines up with the source's on
     * either side. A faulted source (an anon_vma, pgoff carried over) meets its copy unmerged.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void dontUnmapMergesTheCopyWithItsUnfaultedSource(final LockingMode locking)
    {
        try (Machine m = new Machine(locking))
        {
            final int flags = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
            m.map(BASE, 2 * HUGE);
            assertEquals(BASE + 2 * HUGE, m.cpu.mremap(BASE + HUGE, HUGE, HUGE, flags, BASE + 2 * HUGE));
            final Vma after = m.mm.tree().find(BASE);
            assertEquals(BASE, after.start);
            assertEquals(BASE + 3 * HUGE, after.end, "merged after its source");
            final long other = BASE + 8 * HUGE;
            m.map(other, HUGE);
            assertEquals(other - HUGE, m.cpu.mremap(other, HUGE, HUGE, flags, other - HUGE));
            assertEquals(other - HUGE, m.mm.tree().find(other).start, "merged before its source");
            assertEquals(other + HUGE, m.mm.tree().find(other).end);
            final long faulted = BASE + 16 * HUGE;
            m.map(faulted, HUGE);
            m.write(faulted);
            assertEquals(faulted + HUGE, m.cpu.mremap(faulted, HUGE, HUGE, flags, faulted + HUGE));
            assertEquals(faulted + HUGE, m.mm.tree().find(faulted).end, "a faulted source stays apart");
            assertEquals(faulted + HUGE, m.mm.tree().find(faulted + HUGE).start);
            m.advise(BASE, 3 * HUGE);
            m.write(BASE + 2 * HUGE + 8);
            assertTrue(m.huge(BASE + 2 * HUGE), "the merged VMA faults in huge pages");
        }
    }

    /**
     * move_normal_pmd: a whole PT page bound for an aligned destination moves itself, so the
     * source's PMD entry is left empty; an MREMAP_DONTUNMAP source then faults in a huge page
     * there. A PT page moved to an unaligned destination is emptied entry by entry and stays.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void aWholePtPageMovesItselfAndLeavesTheSourcePmdEmpty(final LockingMode locking)
    {
        try (Machine m = new Machine(locking))
        {
            final int flags = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
            final long target = BASE + 8 * HUGE;
            m.map(BASE, 2 * HUGE);
            m.write(BASE + 4096L);
            m.write(BASE + HUGE + 4096L);
            assertEquals(target, m.cpu.mremap(BASE, HUGE, HUGE, flags, target));
            assertTrue(m.pte(target + 4096L), "the PT page arrived");
            assertEquals(Signal.NONE, m.cpu.readLong(target + 4096L));
            assertEquals(BASE + 4096L, m.cpu.value());
            final long unaligned = BASE + 16 * HUGE + 4096L;
            assertEquals(unaligned, m.cpu.mremap(BASE + HUGE, HUGE, HUGE, flags, unaligned));
            m.advise(BASE, 2 * HUGE);
            m.write(BASE + 8);
            assertTrue(m.huge(BASE), "the source's PMD entry was left empty");
            m.write(BASE + HUGE + 8);
            assertTrue(m.pte(BASE + HUGE), "a source whose entries moved one by one keeps its PT page");
        }
    }

    /**
     * madvise_collapse's rules as the 6.18 host gives them: EINVAL for a VMA without an anon_vma
     * or without room for an aligned block, whatever the range; 0 for a range that rounds to no
     * block at a block's start, EINVAL inside one; an empty PMD entry ends the scan (SCAN_PMD_NONE:
     * a later block stays uncollapsed); read-only and zero-page blocks collapse (no SCAN_PAGE_RO).
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void collapseFollowsTheHostsRules(final LockingMode locking)
    {
        try (Machine m = new Machine(locking))
        {
            m.map(BASE, 4 * HUGE);
            assertEquals(-Errno.EINVAL, m.cpu.madvise(BASE, 4096, MADV_COLLAPSE), "no anon_vma yet");
            m.write(BASE + HUGE + 4096L);
            assertEquals(0, m.cpu.madvise(BASE, 4096, MADV_COLLAPSE), "no block, at a block's start");
            assertEquals(-Errno.EINVAL, m.cpu.madvise(BASE + 4096, 4096, MADV_COLLAPSE), "no block, inside one");
            assertEquals(-Errno.EINVAL, m.cpu.madvise(BASE, 2 * HUGE, MADV_COLLAPSE), "block 0 has no PT page");
            assertFalse(m.huge(BASE + HUGE), "the scan stopped at block 0");
            assertEquals(0, m.cpu.madvise(BASE + HUGE, HUGE, MADV_COLLAPSE));
            assertTrue(m.huge(BASE + HUGE));
            assertEquals(Signal.NONE, m.cpu.readLong(BASE + 2 * HUGE + 8));
            assertEquals(0, m.cpu.madvise(BASE + 2 * HUGE, HUGE, MADV_COLLAPSE), "zero pages only");
            assertTrue(m.huge(BASE + 2 * HUGE));
            final long small = BASE + 16 * HUGE;
            m.map(small, HUGE / 2);
            m.write(small);
            assertEquals(-Errno.EINVAL, m.cpu.madvise(small, HUGE / 2, MADV_COLLAPSE), "no room for a block");
        }
    }

    /**
     * pagemap_pmd_range: a PMD-mapped huge page is exclusive only while no other process maps any
     * of it — after fork and a child's partial copy on write, the parent's every page is shared.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void aHugePageIsExclusiveInPagemapOnlyWhenNoneOfItIsShared(final LockingMode locking)
    {
        try (Machine m = new Machine(locking))
        {
            m.map(BASE, HUGE);
            m.advise(BASE, HUGE);
            m.write(BASE);
            assertTrue(m.huge(BASE));
            assertEquals(Pagemap.EXCLUSIVE, m.mm.pagemap(BASE + 0x78000) & Pagemap.EXCLUSIVE);
            final AddressSpace child = m.cpu.fork();
            assertNotNull(child);
            final Cpu childCpu = child.attachCpu();
            try
            {
                assertEquals(Signal.NONE, childCpu.writeLong(BASE + 0x78000, 1));
                assertEquals(0, m.mm.pagemap(BASE + 0x78000) & Pagemap.EXCLUSIVE, "the rest of the folio is shared");
                assertEquals(Pagemap.EXCLUSIVE, child.pagemap(BASE + 0x78000) & Pagemap.EXCLUSIVE, "the child's copy");
            }
            finally
            {
                childCpu.close();
                child.close();
            }
            assertEquals(Pagemap.EXCLUSIVE, m.mm.pagemap(BASE + 0x78000) & Pagemap.EXCLUSIVE, "alone again");
        }
    }
}
