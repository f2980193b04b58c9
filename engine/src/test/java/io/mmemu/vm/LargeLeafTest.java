package io.mmemu.vm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.FrameDescriptor;
import io.mmemu.phys.FrameFlags;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;

import static io.mmemu.pgtable.PageTableEntry.LEVEL_PGD;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PMD;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PUD;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A 2 MiB or 1 GiB leaf (PS in a PMD or PUD entry), built by hand as a fixture: the MMU translates
 * through it to the frame plus the offset inside it. A write it refuses is do_huge_pmd_wp_page's
 * for a 2 MiB leaf over anonymous memory held by this mapping alone (the leaf becomes writable);
 * for a 1 GiB leaf, which the fault handler cannot change, a signal rather than a walk retried
 * forever.
 */
final class LargeLeafTest
{
    private static final long BASE = 0x40000000L;

    @Test
    void readsThroughAPmdLeafReachTheFramePlusTheOffsetAndARefusedWriteEndsInSigbus()
    {
        largeLeaf(64L << 20, LEVEL_PMD);
    }

    @Test
    void readsThroughAPudLeafReachTheFramePlusTheOffsetAndARefusedWriteEndsInSigbus()
    {
        // 3 GiB, lazily backed: a whole 1 GiB-aligned gigabyte of frames for the leaf
        largeLeaf(3L << 30, LEVEL_PUD);
    }

    private static void largeLeaf(final long bytes, final int level)
    {
        final long size = PageTableEntry.coverage(level);
        try (PhysicalMemory memory = PhysicalMemory.create(bytes);
             AddressSpace mm = AddressSpace.create(memory))
        {
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
                final Fixture fixture = new Fixture(cpu, memory, level);
                try
                {
                    // words that say where they are, in the first, the fourth and the last subpage
                    final long last = size / 4096 - 1;
                    fixture.frames.set(ValueLayout.JAVA_LONG, (fixture.head << 12) + 8, 0x1111L);
                    fixture.frames.set(ValueLayout.JAVA_LONG, ((fixture.head + 3) << 12) + 16, 0x3333L);
                    fixture.frames.set(ValueLayout.JAVA_LONG, ((fixture.head + last) << 12) + 24, 0x7777L);
                    fixture.install(PageTableEntry.PRESENT | PageTableEntry.USER | PageTableEntry.NO_EXECUTE);

                    assertEquals(Signal.NONE, cpu.readLong(BASE + 8));
                    assertEquals(0x1111L, cpu.value());
                    assertEquals(Signal.NONE, cpu.readLong(BASE + 3 * 4096L + 16));
                    assertEquals(0x3333L, cpu.value());
                    assertEquals(Signal.NONE, cpu.readLong(BASE + last * 4096L + 24));
                    assertEquals(0x7777L, cpu.value());
                    assertEquals(Signal.NONE, cpu.readByte(BASE + size - 1));
                    assertEquals(0, cpu.value());
                    assertTrue(PageTableEntry.isAccessed(PageWalker.read(fixture.frames, fixture.slot)),
                        "the walk sets A on the large leaf");

                    // the VMA allows the write, the read-only leaf does not
                    final int signal = assertTimeoutPreemptively(Duration.ofSeconds(10),
                        () -> cpu.writeLong(BASE + 4096, 7));
                    if (level == LEVEL_PMD)
                    {
                        // an exclusively held huge page: reused, writable and dirty whole
                        assertEquals(Signal.NONE, signal);
                        final long leaf = PageWalker.read(fixture.frames, fixture.slot);
                        assertTrue(PageTableEntry.isWritable(leaf) && PageTableEntry.isDirty(leaf));
                        assertEquals(Signal.NONE, cpu.readLong(BASE + 4096));
                        assertEquals(7L, cpu.value());
                    }
                    else
                    {
                        // the fault handler cannot change a 1 GiB leaf: a defined signal, not an
                        // access retried forever
                        assertEquals(Signal.BUS_ADRERR, signal);
                        assertEquals(BASE + 4096, cpu.faultAddress());
                    }
                }
                finally
                {
                    fixture.restore();
                }
            }
            mm.check(true).assertOk();
        }
    }

    /** A large frame block mapped by a PS entry at {@code level} in place of the table it pointed at, and put back. */
    private static final class Fixture
    {
        /** Blocks the buddy allocator hands out at most: 4 MiB. */
        private static final int BLOCK_ORDER = 10;

        final MemorySegment frames;
        final MemorySegment metadata;
        final PhysicalMemory memory;
        final Cpu cpu;
        final int level;
        final long frameCount;
        final long head;
        final long slot;
        final long table;
        final long original;

        Fixture(final Cpu cpu, final PhysicalMemory memory, final int level)
        {
            this.cpu = cpu;
            this.memory = memory;
            this.level = level;
            this.frames = memory.frames();
            this.metadata = memory.metadata();
            this.frameCount = PageTableEntry.coverage(level) >>> 12;
            // the tables down to the PT, then the entry at the leaf's level
            assertEquals(PageWalker.WALK_PTE, cpu.walker.walkAlloc(cpu.mm.cr3(), BASE));
            long t = cpu.mm.cr3() & PageTableEntry.PHYS_MASK;
            for (int l = LEVEL_PGD; l > level; l--)
            {
                t = PageTableEntry.address(PageWalker.read(frames, t + ((long)PageTableEntry.index(BASE, l) << 3)));
            }
            this.table = t >>> 12;
            this.slot = t + ((long)PageTableEntry.index(BASE, level) << 3);
            this.original = PageWalker.read(frames, slot);
            this.head = claimAligned();
            for (long pfn = head; pfn < head + frameCount; pfn++)
            {
                // data pages mapped once, as a THP's subpages are
                FrameDescriptor.FLAGS.set(metadata, FrameDescriptor.offset(pfn), FrameFlags.DATA);
                FrameDescriptor.REFCOUNT.set(metadata, FrameDescriptor.offset(pfn), 1);
                FrameDescriptor.MAPCOUNT.set(metadata, FrameDescriptor.offset(pfn), 1);
            }
        }

        /** Takes buddy blocks until a size-aligned run of them is ours; gives back the rest. */
        private long claimAligned()
        {
            final int order = Math.min(BLOCK_ORDER, Long.numberOfTrailingZeros(frameCount));
            final long blocks = frameCount >>> order;
            final Set<Long> taken = new HashSet<>();
            long found = 0;
            while (found == 0)
            {
                final long pfn = memory.buddy().allocate(order);
                if (pfn == 0)
                {
                    break;
                }
                taken.add(pfn);
                final long aligned = pfn & -frameCount;
                boolean all = true;
                for (long b = 0; b < blocks && all; b++)
                {
                    all = taken.contains(aligned + (b << order));
                }
                found = all ? aligned : 0;
            }
            final long run = found;
            assertTrue(run != 0, "a " + frameCount + "-frame aligned run");
            for (final long pfn : taken)
            {
                if (pfn < run || pfn >= run + frameCount)
                {
                    memory.buddy().free(pfn, order);
                }
            }
            return run;
        }

        /** Writes the PS entry as a leaf is written: under the table's PT lock, by the leaf-write rule. */
        void install(final long flags)
        {
            final long leaf = level == LEVEL_PUD ?
                (head << 12) | PageTableEntry.PAGE_SIZE | flags : PageTableEntry.largeLeaf(head << 12, flags);
            assertTrue(cpu.editor.setLeaf(table, slot, original, leaf));
        }

        void restore()
        {
            assertTrue(cpu.editor.setLeaf(table, slot, PageWalker.read(frames, slot), original));
            cpu.tlb.flushAll();
            final int order = Math.min(BLOCK_ORDER, Long.numberOfTrailingZeros(frameCount));
            for (long pfn = head; pfn < head + frameCount; pfn++)
            {
                FrameDescriptor.FLAGS.set(metadata, FrameDescriptor.offset(pfn), 0);
                FrameDescriptor.REFCOUNT.set(metadata, FrameDescriptor.offset(pfn), 0);
                FrameDescriptor.MAPCOUNT.set(metadata, FrameDescriptor.offset(pfn), 0);
            }
            for (long pfn = head; pfn < head + frameCount; pfn += 1L << order)
            {
                memory.buddy().free(pfn, order);
            }
        }
    }
}
