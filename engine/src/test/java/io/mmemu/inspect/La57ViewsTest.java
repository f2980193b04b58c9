package io.mmemu.inspect;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PagingMode;
import io.mmemu.phys.Backing;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.LockingMode;
import io.mmemu.vm.ThpMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The views and dump files with five-level paging: the paging header, ptdump's p4d level and
 * LA57 guard hole (arch/x86/mm/dump_pagetables.c), the walk's five steps, dump format version 2
 * round trips (1 GiB PUD leaves included), and version 1 files still read as four-level.
 */
class La57ViewsTest
{
    private static final KernelConfig LA57 = KernelConfig.MAINLINE.withPaging(PagingMode.FIVE_LEVEL);
    private static final long HIGH = 1L << 48;

    @TempDir
    Path dir;

    /** One private page at 2^48 (PML5 entry 1) in a fresh 5-level address space. */
    private static final class OnePage implements AutoCloseable
    {
        final PhysicalMemory memory = PhysicalMemory.create(16L << 20);
        final AddressSpace space = AddressSpace.create(memory, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, LA57);
        final Cpu cpu = space.attachCpu();

        OnePage()
        {
            assertEquals(HIGH, cpu.mmap(HIGH, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
            assertEquals(0, cpu.writeByte(HIGH, 1));
        }

        @Override
        public void close()
        {
            cpu.close();
            space.close();
            memory.close();
        }
    }

    @Test
    void ptdumpPrintsTheP4dLevelAndEndsAtTheLa57GuardHole()
    {
        try (OnePage p = new OnePage())
        {
            assertEquals("""
                paging: 5-level (LA57)
                ---[ User Space ]---
                0x0000000000000000-0x0001000000000000         256T                               pgd
                0x0001000000000000-0x0001000000001000           4K USR RW                     NX pte
                0x0001000000001000-0x0001000000200000        2044K                               pte
                0x0001000000200000-0x0001000040000000        1022M                               pmd
                0x0001000040000000-0x0001008000000000         511G                               pud
                0x0001008000000000-0x0002000000000000      261632G                               p4d
                0x0002000000000000-0xff10000000000000    16715264T                               pgd
                """, Inspection.of(p.space, ThpMode.NEVER).ptdump());
        }
    }

    @Test
    void theWalkNamesFiveLevelsAndTheTableViewItsLevel()
    {
        try (OnePage p = new OnePage())
        {
            final Inspection inspection = Inspection.of(p.space, ThpMode.NEVER);
            final String[] walk = inspection.walk(HIGH + 0x10).split("\n");
            assertEquals("paging: 5-level (LA57)", walk[0]);
            assertEquals("walk 0x0001000000000010: PGD index 1, P4D index 0, PUD index 0, PMD index 0, PTE index 0, offset 0x010",
                walk[1]);
            assertTrue(walk[4].startsWith("PGD[  1] @"), walk[4]);
            assertTrue(walk[5].startsWith("P4D[  0] @"), walk[5]);
            assertTrue(walk[6].startsWith("PUD[  0] @"), walk[6]);
            assertTrue(walk[7].startsWith("PMD[  0] @"), walk[7]);
            assertTrue(walk[8].startsWith("PTE[  0] @") && walk[8].contains("page "), walk[8]);
            assertTrue(walk[9].startsWith("physical 0x"), walk[9]);
            // the P4D table: what the root's entry 1 points at
            final long root = p.space.cr3() & PageTableEntry.PHYS_MASK;
            final long p4d = PageTableEntry.address(p.memory.frames().get(ValueLayout.JAVA_LONG, root + 8));
            final String table = inspection.table(p4d);
            assertTrue(table.startsWith("paging: 5-level (LA57)\ntable at physical 0x" + String.format("%016x", p4d) +
                ": level 4 (P4D), maps 0x0001000000000000-0x0002000000000000, 1 of 512 entries in use\n"), table);
            assertTrue(inspection.walk(1L << 56).endsWith("is not canonical (bits 63..56 differ): the MMU raises #GP, no walk\n"));
            assertTrue(inspection.html("t").contains("<p>paging: 5-level (LA57)</p>"));
        }
    }

    /** A version-2 dump of a 5-level address space (low and high mappings) gives back every view. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aFiveLevelDumpRoundTrips(final boolean withData) throws IOException
    {
        try (Scenario s = new Scenario(LA57))
        {
            final long high = 0x00ab_0000_0000_0000L;
            assertEquals(high, s.cpu.mmap(high, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
            for (int i = 0; i < 8; i += 2)
            {
                assertEquals(0, s.cpu.writeByte(high + i * 4096L, 0x30 + i));
            }
            final Inspection live = Inspection.of(s.space, ThpMode.MADVISE);
            final Path file = dir.resolve("la57.dump");
            final DumpWriter.Summary summary = live.writeDump(file, withData);
            try (Inspection dumped = Inspection.open(file))
            {
                assertEquals(DumpFormat.VERSION, dumped.dump().version());
                assertEquals(5, dumped.snapshot().paging());
                assertEquals(live.snapshot().cr3(), dumped.snapshot().cr3());
                assertEquals(live.snapshot().kernel(), dumped.snapshot().kernel());
                assertEquals(summary.tables(), dumped.dump().tables());
                assertEquals(live.maps(), dumped.maps());
                assertEquals(live.smaps(), dumped.smaps());
                assertEquals(live.ptdump(), dumped.ptdump());
                assertTrue(dumped.ptdump().contains(" p4d\n"));
                assertArrayEquals(pagemap(live, high, high + 16 * 4096), pagemap(dumped, high, high + 16 * 4096));
                // the high mapping's own figures: four written pages, present in pagemap every other page
                final String highSmaps = dumped.smaps(dumped.snapshot().vmaAt(high));
                assertTrue(highSmaps.contains("\nRss:                  16 kB\n"), highSmaps);
                assertTrue(dumped.pagemap(high) < 0, "bit 63: present");
                assertEquals(1L << 55, dumped.pagemap(high + 4096), "never touched: soft-dirty only (a VM_SOFTDIRTY VMA)");
                assertEquals(live.pagemap(high + 6 * 4096), s.space.pagemap(high + 6 * 4096), "the views' walk and the live walker agree");
                assertArrayEquals(pagemap(live, Scenario.BASE, Scenario.END), pagemap(dumped, Scenario.BASE, Scenario.END));
                assertEquals(live.walk(high + 2 * 4096), dumped.walk(high + 2 * 4096));
                assertEquals(live.html("t"), dumped.html("t"));
                final long root = live.snapshot().cr3() & PageTableEntry.PHYS_MASK;
                assertEquals(live.table(root), dumped.table(root));
            }
        }
    }

    /**
     * A 1 GiB PUD leaf (as hugetlb maps one) is written and read back: on a tables-only machine
     * over phantom frames, which need no descriptors; in both paging modes.
     */
    @ParameterizedTest
    @ValueSource(ints = {4, 5})
    void aPudLeafRoundTrips(final int paging) throws IOException
    {
        try (PhysicalMemory memory = PhysicalMemory.create(4L << 30, Backing.TABLES_ONLY, 16L << 20);
             AddressSpace space = AddressSpace.create(memory, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION,
                 KernelConfig.MAINLINE.withPaging(paging)))
        {
            final FrameCache cache = memory.newCache();
            final MemorySegment frames = memory.frames();
            final long va = 0x0000_4000_0000_0000L;
            // the tables above the PUD: the root's entry, and with five levels a P4D in between
            long table = space.cr3() & PageTableEntry.PHYS_MASK;
            final long[] made = new long[2];
            int n = 0;
            for (int level = paging; level > PageTableEntry.LEVEL_PUD; level--)
            {
                final long child = memory.allocateTable(cache, level - 1);
                made[n++] = child;
                frames.set(ValueLayout.JAVA_LONG, table + 8L * PageTableEntry.index(va, level), PageTableEntry.table(child));
                table = child << 12;
            }
            final long slot = table + 8L * PageTableEntry.index(va, PageTableEntry.LEVEL_PUD);
            final long leaf = PageTableEntry.largeLeaf(2L << 30, PageTableEntry.PRESENT | PageTableEntry.WRITABLE |
                PageTableEntry.USER | PageTableEntry.ACCESSED | PageTableEntry.DIRTY | PageTableEntry.NO_EXECUTE);
            frames.set(ValueLayout.JAVA_LONG, slot, leaf);
            try
            {
                final Inspection live = Inspection.of(space, ThpMode.NEVER);
                assertTrue(live.ptdump().contains(String.format("0x%016x-0x%016x           1G USR RW         PSE         NX pud%n",
                    va, va + (1L << 30))), live.ptdump());
                final Path file = dir.resolve("pud.dump");
                live.writeDump(file, true);
                try (Inspection dumped = Inspection.open(file))
                {
                    assertEquals(paging, dumped.snapshot().paging());
                    assertEquals(live.ptdump(), dumped.ptdump());
                    assertEquals(live.walk(va + 0x12345000L), dumped.walk(va + 0x12345000L));
                    assertTrue(dumped.walk(va + 0x12345000L).contains("physical 0x0000000092345000"));
                }
            }
            finally
            {
                // the leaf is no VMA's: take it and the tables out by hand before the address space goes
                frames.set(ValueLayout.JAVA_LONG, slot, 0L);
                frames.set(ValueLayout.JAVA_LONG, (space.cr3() & PageTableEntry.PHYS_MASK) + 8L * PageTableEntry.index(va, paging), 0L);
                for (int i = 0; i < n; i++)
                {
                    memory.freeTable(cache, made[i]);
                }
                memory.retireCache(cache);
            }
        }
    }

    /** A version-1 file written by mmemu 22e259c (before LA57): read as four-level, its views unchanged. */
    @Test
    void aVersionOneDumpIsStillReadAsFourLevel() throws IOException, URISyntaxException
    {
        final Path file = Path.of(getClass().getResource("/inspect/version1.dump").toURI());
        final String expected = Files.readString(Path.of(getClass().getResource("/inspect/version1.expected").toURI()));
        try (Inspection dumped = Inspection.open(file))
        {
            assertEquals(1, dumped.dump().version());
            assertEquals(4, dumped.snapshot().paging());
            assertEquals(4, PagingMode.levels(dumped.snapshot().cr3()));
            final String ptdump = dumped.ptdump();
            assertTrue(ptdump.startsWith("paging: 4-level\n"), ptdump);
            // what 22e259c's `mmemu inspect --maps --ptdump` printed for it
            assertEquals(expected, dumped.maps() + ptdump.substring("paging: 4-level\n".length()));
        }
    }

    private static byte[] pagemap(final Inspection inspection, final long start, final long end) throws IOException
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        inspection.writePagemap(start, end, out);
        return out.toByteArray();
    }
}
