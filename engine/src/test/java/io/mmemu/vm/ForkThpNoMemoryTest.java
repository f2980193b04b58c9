package io.mmemu.vm;

import org.agrona.collections.LongArrayList;

import io.mmemu.pgtable.HugePmd;
import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * fork's copy_huge_pmd when the child's PT page for the deposit cannot be allocated: with every
 * frame taken but the two tables the child's walk to the PMD entry needs, the fork fails (ENOMEM),
 * the child's tables come back, nothing leaks, and the parent's leaf is as it was (writable,
 * exclusive, its bytes intact).
 */
final class ForkThpNoMemoryTest
{
    private static final long BASE = 0x300000000000L;
    private static final long HUGE = HugePmd.SIZE;

    @Test
    void noPtPageForTheChildsDepositFailsTheForkAndLeavesTheParentUnchanged()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final long baseline = memory.framesInUse();
            final AddressSpace parent = AddressSpace.create(memory).thp(ThpMode.ALWAYS);
            final Cpu p = parent.attachCpu();
            assertEquals(BASE, p.mmap(BASE, HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
            assertEquals(Signal.NONE, p.writeLong(BASE + 64, 0x77L));
            final PageWalker walker = new PageWalker(memory, null);
            assertEquals(PageWalker.WALK_LARGE, walker.walk(parent.cr3(), BASE));
            final long leaf = walker.entry();
            assertTrue(PageTableEntry.isWritable(leaf), "a writable 2 MiB leaf");
            final AddressSpace child = AddressSpace.create(memory);
            // every frame the forking CPU can get, its cache's and the buddy allocator's; then back
            // the two the child's walk to its PMD entry takes (a PUD and a PMD table), so the
            // deposit's allocation is the first to fail
            final LongArrayList hog = new LongArrayList();
            for (long pfn; (pfn = memory.allocateTable(p.cache, PageTableEntry.LEVEL_PTE)) != NO_FRAME; )
            {
                hog.addLong(pfn);
            }
            assertTrue(hog.size() > 1000, "memory was taken: " + hog.size());
            memory.freeTable(p.cache, hog.removeAt(hog.size() - 1));
            memory.freeTable(p.cache, hog.removeAt(hog.size() - 1));
            final long inUse = memory.framesInUse();

            assertFalse(Fork.dupMmap(p, child), "no PT page for the child's deposit: ENOMEM");

            assertEquals(0, child.mapCount(), "the half-built child is empty again");
            assertEquals(inUse, memory.framesInUse(), "the child's tables came back");
            assertEquals(PageWalker.WALK_LARGE, walker.walk(parent.cr3(), BASE));
            assertEquals(leaf, walker.entry() & ~(PageTableEntry.ACCESSED | PageTableEntry.DIRTY) |
                (leaf & (PageTableEntry.ACCESSED | PageTableEntry.DIRTY)), "the parent's leaf is unchanged");
            assertTrue(PageTableEntry.isWritable(walker.entry()), "still writable: fork write-protected nothing");
            final long head = PageTableEntry.leafAddress(walker.entry(), PageTableEntry.LEVEL_PMD) >>> 12;
            assertTrue(memory.isAnonExclusive(head) && memory.mapcount(head) == 1 && memory.refcount(head) == 1,
                "the block is the parent's alone");
            assertEquals(Signal.NONE, p.readLong(BASE + 64));
            assertEquals(0x77L, p.value());
            assertEquals(Signal.NONE, p.writeLong(BASE + 64, 0x78L), "written without a fault's copy");
            // the control: one frame more, and the same fork goes through (so the deposit was what failed)
            memory.freeTable(p.cache, hog.removeAt(hog.size() - 1));
            assertTrue(Fork.dupMmap(p, child), "three frames: two tables and the deposit");
            for (int i = 0; i < hog.size(); i++)
            {
                memory.freeTable(p.cache, hog.getLong(i));
            }
            AddressSpace.checkAll(true, parent, child).assertOk();
            child.close();
            p.close();
            parent.close();
            assertEquals(baseline, memory.framesInUse() - memory.hugeZeroPageFrames(), "every frame came back");
        }
    }
}
