package io.mmemu.vm;

import io.mmemu.inspect.Inspection;
import io.mmemu.pgtable.HugePmd;
import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.MemoryProbe.exclusive;
import static io.mmemu.vm.MemoryProbe.hugeLeaf;
import static io.mmemu.vm.MemoryProbe.pfn;
import static io.mmemu.vm.MemoryProbe.read;
import static io.mmemu.vm.MemoryProbe.write;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * fork of a process holding transparent huge pages (copy_huge_pmd, and do_huge_pmd_wp_page's
 * fallback to a split and the 4 KiB copy on write): each 2 MiB leaf is shared write-protected by
 * both processes, each side's writes stay its own, the untouched subpages stay shared, and every
 * frame comes back.
 */
final class ForkThpTest
{
    private static final long BASE = 0x300000000000L;
    private static final long HUGE = HugePmd.SIZE;
    private static final long PAGE = 4096;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

    private static String smaps(final AddressSpace mm)
    {
        return Inspection.of(mm, mm.thp()).smaps();
    }

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void hugeLeavesAreSharedWriteProtectedAndCopiedPerPageOnWrite(final LockingMode locking)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final long baseline = memory.framesInUse();
            final AddressSpace parent = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION).thp(ThpMode.ALWAYS);
            final Cpu p = parent.attachCpu();
            assertEquals(BASE, p.mmap(BASE, 2 * HUGE, RW, ANON, -1, 0));
            for (long block = BASE; block < BASE + 2 * HUGE; block += HUGE)
            {
                for (long va = block; va < block + HUGE; va += 64 * PAGE)
                {
                    write(p, va + 8, va);
                }
            }
            final long leaf = hugeLeaf(parent, BASE);
            assertTrue(leaf != 0 && hugeLeaf(parent, BASE + HUGE) != 0, "the parent holds two 2 MiB leaves");
            final long head = PageTableEntry.leafAddress(leaf, PageTableEntry.LEVEL_PMD) >>> 12;
            final long inUse = memory.framesInUse();

            final AddressSpace child = p.fork();
            assertNotNull(child, "fork failed");
            final Cpu c = child.attachCpu();
            AddressSpace.checkAll(true, parent, child).assertOk();
            // the child's tables and its two deposits, no data block
            assertTrue(memory.framesInUse() - inUse < 16, "fork copied no block: " + (memory.framesInUse() - inUse));
            for (long block = BASE; block < BASE + 2 * HUGE; block += HUGE)
            {
                final long pl = hugeLeaf(parent, block);
                final long cl = hugeLeaf(child, block);
                assertTrue(pl != 0 && cl != 0, "a leaf on both sides");
                assertEquals(PageTableEntry.leafAddress(pl, PageTableEntry.LEVEL_PMD),
                    PageTableEntry.leafAddress(cl, PageTableEntry.LEVEL_PMD), "the same block");
                assertFalse(PageTableEntry.isWritable(pl) || PageTableEntry.isWritable(cl), "write-protected on both sides");
            }
            for (long pfn = head; pfn < head + PhysicalMemory.HUGE_FRAMES; pfn++)
            {
                assertEquals(2, memory.mapcount(pfn));
                assertEquals(2, memory.refcount(pfn));
                assertFalse(memory.isAnonExclusive(pfn));
            }
            assertEquals(2 * PhysicalMemory.HUGE_FRAMES, parent.stats().forkSharedPages());
            assertTrue(smaps(parent).contains("AnonHugePages:      4096 kB"), smaps(parent));
            assertTrue(smaps(child).contains("AnonHugePages:      4096 kB"), smaps(child));
            assertEquals(BASE + 64 * PAGE, read(c, BASE + 64 * PAGE + 8), "the child sees the parent's data");

            // the parent's write: its leaf split, the one page copied
            write(p, BASE + 8, 0xAAAAL);
            assertEquals(0L, hugeLeaf(parent, BASE), "the shared leaf was split in the parent");
            assertTrue(hugeLeaf(child, BASE) != 0, "the child's leaf is untouched");
            assertEquals(0xAAAAL, read(p, BASE + 8));
            assertEquals(BASE, read(c, BASE + 8), "the parent's write does not reach the child");
            assertTrue(exclusive(parent, BASE) && pfn(parent, BASE) != head, "the parent's copy is its own");
            assertEquals(head + 300, pfn(parent, BASE + 300 * PAGE), "an untouched subpage is still the shared one");
            assertFalse(exclusive(parent, BASE + 300 * PAGE));
            assertEquals(2, memory.mapcount(head + 300));
            assertEquals(1, memory.mapcount(head), "the copied subpage is the child's alone");
            AddressSpace.checkAll(true, parent, child).assertOk();

            // the child's write to the other block
            write(c, BASE + HUGE + 16, 0xCCCCL);
            assertEquals(0xCCCCL, read(c, BASE + HUGE + 16));
            assertEquals(0L, read(p, BASE + HUGE + 16), "the child's write does not reach the parent");
            assertTrue(hugeLeaf(parent, BASE + HUGE) != 0, "the parent's second leaf is untouched");
            assertTrue(smaps(parent).contains("AnonHugePages:      2048 kB"), smaps(parent));
            AddressSpace.checkAll(true, parent, child).assertOk();

            c.close();
            child.close();
            parent.check(true).assertOk();
            // unshared again: the write reuses the whole leaf (no copy, no split)
            final long second = hugeLeaf(parent, BASE + HUGE);
            write(p, BASE + HUGE + 24, 0xDDDDL);
            final long reused = hugeLeaf(parent, BASE + HUGE);
            assertTrue(reused != 0 && PageTableEntry.isWritable(reused), "reused whole");
            assertEquals(PageTableEntry.leafAddress(second, PageTableEntry.LEVEL_PMD),
                PageTableEntry.leafAddress(reused, PageTableEntry.LEVEL_PMD));
            assertTrue(exclusive(parent, BASE + HUGE + 300 * PAGE));
            assertEquals(BASE + HUGE + 64 * PAGE, read(p, BASE + HUGE + 64 * PAGE + 8));
            parent.check(true).assertOk();
            p.close();
            parent.close();
            assertEquals(baseline, memory.framesInUse() - memory.hugeZeroPageFrames(), "every frame came back");
        }
    }

    /** The huge zero page is copied as it is: no counts; a write on either side splits its own leaf. */
    @Test
    void theHugeZeroPageIsCopiedAsIs()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final long baseline = memory.framesInUse();
            final AddressSpace parent = AddressSpace.create(memory).thp(ThpMode.ALWAYS);
            final Cpu p = parent.attachCpu();
            // a written block first: the VMA gets an anon_vma, so fork copies its entries (vma_needs_copy)
            assertEquals(BASE - HUGE, p.mmap(BASE - HUGE, 2 * HUGE, RW, ANON, -1, 0));
            write(p, BASE - HUGE, 1);
            assertEquals(0L, read(p, BASE + 8));
            final long zero = hugeLeaf(parent, BASE);
            assertTrue(zero != 0, "the huge zero page");
            final AddressSpace child = p.fork();
            assertNotNull(child, "fork failed");
            final Cpu c = child.attachCpu();
            assertEquals(zero & ~PageTableEntry.ACCESSED, hugeLeaf(child, BASE) & ~PageTableEntry.ACCESSED);
            assertEquals(PhysicalMemory.HUGE_FRAMES, parent.stats().forkSharedPages(), "only the written block counts");
            AddressSpace.checkAll(true, parent, child).assertOk();
            write(c, BASE + 8, 7);
            assertEquals(7L, read(c, BASE + 8));
            assertEquals(0L, read(p, BASE + 8));
            assertTrue(hugeLeaf(parent, BASE) != 0, "the parent still maps the huge zero page");
            AddressSpace.checkAll(true, parent, child).assertOk();
            c.close();
            child.close();
            p.close();
            parent.close();
            assertEquals(baseline, memory.framesInUse() - memory.hugeZeroPageFrames(), "every frame came back");
        }
    }
}
