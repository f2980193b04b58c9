package io.mmemu.inspect;

import java.io.IOException;
import java.nio.file.Path;

import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Signal;
import io.mmemu.vm.ThpMode;
import io.mmemu.vm.VmaInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_HUGETLB;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MAP_SHARED;
import static io.mmemu.vm.Mman.PROT_NONE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The views of hugetlb mappings: smaps' KernelPageSize, MMUPageSize, Private_Hugetlb and
 * Shared_Hugetlb (after fork), ptdump's {@code pud} line with PSE for a 1 GiB page, pagemap's words
 * for the subpages, and a dump holding a PUD leaf and a PROT_NONE hugetlb leaf that reads back with
 * every view equal to the live one.
 */
final class HugetlbViewsTest
{
    private static final long G1 = 1L << 30;
    private static final long M2 = 2L << 20;
    private static final long GIGA = 0x7f00_0000_0000L;
    private static final long SHARED = GIGA + G1;
    private static final long NONE = SHARED + M2;
    private static final int RW = PROT_READ | PROT_WRITE;

    @TempDir
    Path dir;

    @Test
    void smapsPtdumpPagemapAndDumpsShowHugetlbLeavesOfBothSizes() throws IOException
    {
        try (PhysicalMemory memory = PhysicalMemory.create(3L << 30))
        {
            memory.hugetlbPool(PhysicalMemory.GIGANTIC_ORDER).resize(1);
            memory.hugetlbPool(PhysicalMemory.HUGE_ORDER).resize(4);
            final AddressSpace mm = AddressSpace.create(memory);
            final Cpu cpu = mm.attachCpu();
            assertEquals(GIGA, cpu.mmap(GIGA, G1, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED | (30 << 26), -1, 0));
            assertEquals(SHARED, cpu.mmap(SHARED, M2, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED, -1, 0));
            assertEquals(NONE, cpu.mmap(NONE, M2, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED, -1, 0));
            assertEquals(Signal.NONE, cpu.writeLong(GIGA + 4096, 1));
            assertEquals(Signal.NONE, cpu.writeLong(SHARED, 2));
            assertEquals(Signal.NONE, cpu.writeLong(NONE, 3));
            assertEquals(0, cpu.mprotect(NONE, M2, PROT_NONE));
            final Inspection live = Inspection.of(mm, ThpMode.NEVER);
            final String smaps = live.smaps();
            assertTrue(smaps.contains("KernelPageSize:  1048576 kB\nMMUPageSize:     1048576 kB\n"), smaps);
            assertTrue(smaps.contains("Private_Hugetlb: 1048576 kB"), smaps);
            assertTrue(smaps.contains("KernelPageSize:     2048 kB"), smaps);
            assertTrue(smaps.contains("/anon_hugepage (deleted)"), smaps);
            final String ptdump = live.ptdump();
            assertTrue(ptdump.contains("0x00007f0000000000-0x00007f0040000000           1G USR RW         PSE         NX pud"), ptdump);
            assertTrue(ptdump.contains("0x00007f0040000000-0x00007f0040200000           2M USR RW         PSE         NX pmd"), ptdump);
            final long word = PagemapView.word(live.snapshot(), GIGA + 77 * 4096L);
            assertEquals(0x81L << 56, word & (0xE1L << 56), "present, exclusive, anonymous: " + Long.toHexString(word));
            assertEquals(0xA1L << 56, PagemapView.word(live.snapshot(), SHARED + 4096) & (0xE1L << 56), "a shared page is a file page");

            final Path file = dir.resolve("h.dump");
            live.writeDump(file, false);
            try (Inspection dumped = Inspection.open(file))
            {
                assertEquals(live.maps(), dumped.maps());
                assertEquals(smaps, dumped.smaps());
                assertEquals(ptdump, dumped.ptdump());
                assertEquals(live.html("h"), dumped.html("h"));
                for (final VmaInfo vma : live.snapshot().vmas())
                {
                    assertEquals(live.walk(vma.start() + 4096), dumped.walk(vma.start() + 4096));
                    assertEquals(PagemapView.word(live.snapshot(), vma.start()), PagemapView.word(dumped.snapshot(), vma.start()));
                }
            }

            final AddressSpace child = cpu.fork();
            final Cpu c = child.attachCpu();
            assertEquals(Signal.NONE, c.readLong(SHARED));
            assertEquals(2L, c.value());
            final String parentSmaps = Inspection.of(mm, ThpMode.NEVER).smaps();
            assertTrue(parentSmaps.contains("Shared_Hugetlb:  1048576 kB"), "fork shares the private page until a write: " + parentSmaps);
            assertTrue(parentSmaps.contains("Shared_Hugetlb:     2048 kB"), "the child mapped the shared page: " + parentSmaps);
            AddressSpace.checkAll(true, mm, child).assertOk();
            c.close();
            child.close();
            cpu.close();
            mm.close();
        }
    }
}
