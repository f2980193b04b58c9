package io.mmemu.vm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.FrameDescriptor;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;

import static io.mmemu.pgtable.PageTableEntry.LEVEL_PGD;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PMD;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A 2 MiB leaf (PS in a PMD entry), built by hand as a fixture — nothing in the emulator creates
 * one yet: the MMU translates through it to the frame plus the offset inside it, and an access it
 * refuses ends in a signal rather than a walk retried forever.
 */
final class LargeLeafTest
{
    private static final long BASE = 0x40000000L;
    private static final long LARGE = 2L << 20;
    private static final int ORDER_2M = 9;

    @Test
    void readsThroughAPmdLeafReachTheFramePlusTheOffsetAndARefusedWriteEndsInSigbus()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20);
             AddressSpace mm = AddressSpace.create(memory))
        {
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, LARGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
                final Fixture fixture = new Fixture(cpu, memory);
                try
                {
                    // subpages 0 and 3 of the 2 MiB frame hold words that say where they are
                    fixture.frames.set(ValueLayout.JAVA_LONG, (fixture.head << 12) + 8, 0x1111L);
                    fixture.frames.set(ValueLayout.JAVA_LONG, ((fixture.head + 3) << 12) + 16, 0x3333L);
                    fixture.install(PageTableEntry.PRESENT | PageTableEntry.USER | PageTableEntry.NO_EXECUTE);

                    assertEquals(Signal.NONE, cpu.readLong(BASE + 8));
                    assertEquals(0x1111L, cpu.value());
                    assertEquals(Signal.NONE, cpu.readLong(BASE + 3 * 4096L + 16));
                    assertEquals(0x3333L, cpu.value());
                    assertEquals(Signal.NONE, cpu.readByte(BASE + LARGE - 1));
                    assertEquals(0, cpu.value());
                    assertTrue(PageTableEntry.isAccessed(PageWalker.read(fixture.frames, fixture.pmdSlot)),
                        "the walk sets A on the large leaf");

                    // the VMA allows the write, the read-only leaf does not, and the fault handler
                    // cannot change a large leaf: a defined signal, not an access retried forever
                    final int signal = assertTimeoutPreemptively(Duration.ofSeconds(10),
                        () -> cpu.writeLong(BASE + 4096, 7));
                    assertEquals(Signal.BUS_ADRERR, signal);
                    assertEquals(BASE + 4096, cpu.faultAddress());
                }
                finally
                {
                    fixture.restore();
                }
            }
            mm.check(true).assertOk();
        }
    }

    /** A 2 MiB frame block mapped by a PS entry in place of the PMD entry's page table, and put back. */
    private static final class Fixture
    {
        final MemorySegment frames;
        final MemorySegment metadata;
        final PhysicalMemory memory;
        final Cpu cpu;
        final long head;
        final long pmdSlot;
        final long pmdTable;
        final long original;

        Fixture(final Cpu cpu, final PhysicalMemory memory)
        {
            this.cpu = cpu;
            this.memory = memory;
            this.frames = memory.frames();
            this.metadata = memory.metadata();
            // the tables down to the PT, then the PMD entry that points at it
            assertEquals(PageWalker.WALK_PTE, cpu.walker.walkAlloc(cpu.mm.cr3(), BASE));
            long table = cpu.mm.cr3() & PageTableEntry.PHYS_MASK;
            for (int level = LEVEL_PGD; level > LEVEL_PMD; level--)
            {
                table = PageTableEntry.address(PageWalker.read(frames, table + ((long)PageTableEntry.index(BASE, level) << 3)));
            }
            this.pmdTable = table >>> 12;
            this.pmdSlot = table + ((long)PageTableEntry.index(BASE, LEVEL_PMD) << 3);
            this.original = PageWalker.read(frames, pmdSlot);
            this.head = memory.buddy().allocate(ORDER_2M);
            assertTrue(head != 0 && (head & 511) == 0, "a 2 MiB-aligned block: " + head);
            for (long pfn = head; pfn < head + 512; pfn++)
            {
                // data pages someone holds, as a page cache or a THP would
                FrameDescriptor.FLAGS.set(metadata, FrameDescriptor.offset(pfn), io.mmemu.phys.FrameFlags.DATA);
                FrameDescriptor.REFCOUNT.set(metadata, FrameDescriptor.offset(pfn), 1);
            }
        }

        /** Writes the PS entry as a leaf is written: under the table's PT lock, with a release store. */
        void install(final long flags)
        {
            assertTrue(cpu.editor.setLeaf(pmdTable, pmdSlot, original, PageTableEntry.largeLeaf(head << 12, flags)));
        }

        void restore()
        {
            final long now = PageWalker.read(frames, pmdSlot);
            assertTrue(cpu.editor.setLeaf(pmdTable, pmdSlot, now, original));
            cpu.tlb.flushAll();
            for (long pfn = head; pfn < head + 512; pfn++)
            {
                FrameDescriptor.FLAGS.set(metadata, FrameDescriptor.offset(pfn), 0);
                FrameDescriptor.REFCOUNT.set(metadata, FrameDescriptor.offset(pfn), 0);
            }
            memory.buddy().free(head, ORDER_2M);
        }
    }
}
