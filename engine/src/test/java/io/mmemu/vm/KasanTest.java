package io.mmemu.vm;

import java.lang.foreign.ValueLayout;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.Kasan;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The use-after-free checking mode ({@link Kasan}), on in every test run: a frame freed behind a
 * live translation (a deliberately broken path no syscall takes) is poisoned, and the next TLB hit
 * and the next fill that reach it are reported, and the invariant checker fails on the reports.
 */
final class KasanTest
{
    private static final long BASE = 0x500000000000L;
    private static final long POISON_WORD = 0x6b6b6b6b6b6b6b6bL;

    @Test
    void theModeIsOnInTests()
    {
        assertTrue(Kasan.ENABLED, "surefire runs every test with -Dmmemu.kasan=true");
    }

    @Test
    void aFrameFreedBehindALiveTranslationIsReportedOnTheNextHitAndFill()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20);
             AddressSpace mm = AddressSpace.create(memory))
        {
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
                assertEquals(Signal.NONE, cpu.writeLong(BASE + 8, 42));
                assertEquals(Signal.NONE, cpu.readLong(BASE + 8));
                assertEquals(0, memory.useAfterFrees(), "a live page is owned");

                final PageWalker walker = new PageWalker(memory, cpu.cache);
                assertEquals(PageWalker.WALK_PTE, walker.walk(mm.cr3(), BASE));
                final long pfn = PageTableEntry.pfn(walker.entry());
                // the broken path: the only reference dropped while the entry and the TLB still map it
                memory.releaseData(cpu.cache, pfn, false);
                assertEquals(POISON_WORD, memory.frames().get(ValueLayout.JAVA_LONG, (pfn << 12) + 8), "freed frames are poisoned");

                assertEquals(Signal.NONE, cpu.readLong(BASE + 8));
                assertEquals(POISON_WORD, cpu.value());
                assertEquals(1, memory.useAfterFrees(), "the TLB hit is reported");
                final String first = memory.firstUseAfterFree();
                assertTrue(first.contains("TLB hit") && first.contains(Long.toHexString(BASE + 8)) &&
                    first.contains("PFN " + pfn) && first.contains("CPU " + cpu.id()), first);

                cpu.tlb.flushAll();
                assertEquals(Signal.NONE, cpu.readByte(BASE));
                assertEquals(2, memory.useAfterFrees(), "the fill is reported");
                assertEquals(first, memory.firstUseAfterFree(), "the first report is kept");

                final var result = mm.check(false);
                assertFalse(result.ok());
                assertTrue(result.violations().stream().anyMatch(v -> v.contains("use-after-free")), result.violations()::toString);

                // put the tables back in order for close: the entry goes, and its mapping with it
                cpu.tlb.flushAll();
                assertTrue(cpu.editor.setLeaf(walker.tablePfn(), walker.slot(), PageWalker.read(memory.frames(), walker.slot()), 0));
                memory.unmapData(pfn);
            }
        }
    }

    @Test
    void ordinaryFaultsZapsAndReuseReportNothing()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20);
             AddressSpace mm = AddressSpace.create(memory);
             Cpu cpu = mm.attachCpu())
        {
            for (int round = 0; round < 20; round++)
            {
                assertEquals(BASE, cpu.mmap(BASE, 64 * 4096L, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
                for (int p = 0; p < 64; p++)
                {
                    assertEquals(Signal.NONE, cpu.readLong(BASE + p * 4096L));
                    assertEquals(0, cpu.value(), "a reused frame reads zero, not poison");
                    assertEquals(Signal.NONE, cpu.writeLong(BASE + p * 4096L + 8, p));
                }
                assertEquals(0, cpu.munmap(BASE, 64 * 4096L));
            }
            assertEquals(0, memory.useAfterFrees(), memory::firstUseAfterFree);
            mm.check(true).assertOk();
        }
    }
}
