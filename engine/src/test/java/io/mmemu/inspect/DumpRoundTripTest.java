package io.mmemu.inspect;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.phys.Backing;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.ThpMode;
import io.mmemu.vm.VmaInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** dump → inspect → every view equals the live one. */
class DumpRoundTripTest
{
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void everyViewOfTheDumpEqualsTheLiveView(final boolean withData) throws IOException
    {
        try (Scenario s = new Scenario(KernelConfig.MAINLINE))
        {
            // a low mapping too, under the first PML4 entry
            s.cpu.mmap(0x100000, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            s.cpu.writeByte(0x100000, 7);
            final Inspection live = Inspection.of(s.space, ThpMode.MADVISE);
            final Path file = dir.resolve("a.dump");
            final DumpWriter.Summary summary = live.writeDump(file, withData);
            try (Inspection dumped = Inspection.open(file))
            {
                assertEquals(summary.bytes(), dumped.dump().bytes());
                assertEquals(summary.tables(), dumped.dump().tables());
                assertEquals(withData ? summary.dataFrames() : 0, dumped.dump().dataFrames());
                assertEquals(live.maps(), dumped.maps());
                assertEquals(live.smaps(), dumped.smaps());
                assertEquals(live.ptdump(), dumped.ptdump());
                assertArrayEquals(pagemap(live, 0, 0x400000), pagemap(dumped, 0, 0x400000));
                assertArrayEquals(pagemap(live, Scenario.BASE, Scenario.END), pagemap(dumped, Scenario.BASE, Scenario.END));
                assertEquals(live.html("t"), dumped.html("t"));
                final List<Long> tables = tables(live);
                assertEquals(summary.tables(), tables.size());
                for (final long pa : tables)
                {
                    assertEquals(live.table(pa), dumped.table(pa));
                    assertEquals(live.hexdump(pa, 4096), dumped.hexdump(pa, 4096));
                }
                for (final VmaInfo vma : live.snapshot().vmas())
                {
                    for (final long va : new long[] {vma.start(), vma.start() + 4096, vma.end() - 1, vma.end()})
                    {
                        assertEquals(live.walk(va), dumped.walk(va));
                        final long pa = live.snapshot().vmaAt(va) == null ? -1 : translate(live, va) & ~0xFFFL;
                        if (pa > 0 && pa != live.snapshot().memory().zeroPagePfn() << 12)
                        {
                            if (withData)
                            {
                                assertEquals(live.hexdump(pa, 64), dumped.hexdump(pa, 64));
                            }
                            else
                            {
                                assertThrows(IllegalArgumentException.class, () -> dumped.hexdump(pa, 64));
                            }
                        }
                    }
                }
                final Snapshot a = live.snapshot();
                final Snapshot b = dumped.snapshot();
                assertEquals(a.stats().faults(), b.stats().faults());
                assertEquals(a.stats().faultLatency().getTotalCount(), b.stats().faultLatency().getTotalCount());
                assertEquals(a.stats().faultLatency().getValueAtPercentile(99), b.stats().faultLatency().getValueAtPercentile(99));
                assertEquals(a.kernel(), b.kernel());
                assertEquals(a.thp(), b.thp());
            }
        }
    }

    /**
     * Without shared memory: on a tables-only machine its page cache double-frees phantom frames
     * (they have no refcount), an engine limitation reported separately.
     */
    @Test
    void aTablesOnlyMachineDumpsItsPhantomFramesAsMappedWithoutBytes() throws IOException
    {
        try (Scenario s = new Scenario(new KernelConfig(false, false), Backing.TABLES_ONLY, false))
        {
            final Inspection live = Inspection.of(s.space, ThpMode.NEVER);
            final Path file = dir.resolve("t.dump");
            final DumpWriter.Summary summary = live.writeDump(file, true);
            assertEquals(0, summary.dataWritten(), "phantom frames have no bytes to write");
            assertTrue(summary.dataFrames() > 20);
            try (Inspection dumped = Inspection.open(file))
            {
                assertEquals(live.smaps(), dumped.smaps());
                assertEquals(live.ptdump(), dumped.ptdump());
                assertArrayEquals(pagemap(live, Scenario.BASE, Scenario.BASE + 0x1000000),
                    pagemap(dumped, Scenario.BASE, Scenario.BASE + 0x1000000));
                assertEquals(live.walk(Scenario.BASE), dumped.walk(Scenario.BASE));
            }
        }
    }

    private static long translate(final Inspection inspection, final long va)
    {
        final String walk = inspection.walk(va);
        final int at = walk.indexOf("physical 0x");
        return at < 0 ? -1 : Long.parseUnsignedLong(walk.substring(at + 11, at + 27), 16);
    }

    private static byte[] pagemap(final Inspection inspection, final long start, final long end) throws IOException
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        inspection.writePagemap(start, end, out);
        return out.toByteArray();
    }

    /** Every table reachable from CR3, found by walking the live tables independently of the views. */
    private static List<Long> tables(final Inspection inspection)
    {
        final List<Long> out = new ArrayList<>();
        final Snapshot s = inspection.snapshot();
        out.add(s.cr3());
        TableWalk.walk(s.memory(), s.cr3(), 0, Ptdump.USER_END, new TableWalk.Visitor()
        {
            @Override
            public void entry(final long va, final long entry, final int level)
            {
                if (PageTableEntry.isPresent(entry) && !PageTableEntry.isLeaf(entry, level))
                {
                    out.add(PageTableEntry.address(entry));
                }
            }
        });
        return out;
    }
}
