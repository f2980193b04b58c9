package io.mmemu.vm;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What a test reads off a process: accesses that must succeed (a signal fails the test, naming
 * the address), and the page-table state behind an address, read by a walk of its tables.
 */
final class MemoryProbe
{
    private MemoryProbe()
    {
    }

    /** The long at {@code va}, read through {@code cpu}; any signal fails the test. */
    static long read(final Cpu cpu, final long va)
    {
        assertEquals(Signal.NONE, cpu.readLong(va), () -> String.format("read of 0x%x", va));
        return cpu.value();
    }

    /** Writes {@code value} at {@code va} through {@code cpu}; any signal fails the test. */
    static void write(final Cpu cpu, final long va, final long value)
    {
        assertEquals(Signal.NONE, cpu.writeLong(va, value), () -> String.format("write of 0x%x", va));
    }

    /** The frame a 4 KiB entry maps at {@code va}; fails the test when no PTE maps it. */
    static long pfn(final AddressSpace mm, final long va)
    {
        final PageWalker walker = new PageWalker(mm.memory(), null);
        assertEquals(PageWalker.WALK_PTE, walker.walk(mm.cr3(), va), () -> String.format("a PTE maps 0x%x", va));
        return PageTableEntry.pfn(walker.entry());
    }

    /** The 2 MiB leaf mapping {@code va}, 0 when no PMD leaf maps it. */
    static long hugeLeaf(final AddressSpace mm, final long va)
    {
        final PageWalker walker = new PageWalker(mm.memory(), null);
        return walker.walk(mm.cr3(), va) == PageWalker.WALK_LARGE && walker.level() == PageTableEntry.LEVEL_PMD ?
            walker.entry() : 0L;
    }

    /** Whether a 2 MiB leaf maps {@code va}. */
    static boolean isHuge(final AddressSpace mm, final long va)
    {
        return hugeLeaf(mm, va) != 0L;
    }

    /** Whether pagemap calls the page at {@code va} exclusively mapped (bit 56). */
    static boolean exclusive(final AddressSpace mm, final long va)
    {
        return (mm.pagemap(va) & Pagemap.EXCLUSIVE) != 0;
    }
}
