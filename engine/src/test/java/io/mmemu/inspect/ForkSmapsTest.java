package io.mmemu.inspect;

import java.util.Map;

import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Signal;
import io.mmemu.vm.ThpMode;
import org.junit.jupiter.api.Test;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * smaps and pagemap after fork, from the real mapcounts (fs/proc/task_mmu.c's smaps_account):
 * a page fork shares is Shared_* in both processes with half its size in each one's Pss; the copy a
 * write makes, and the page it leaves behind, are Private_* again; pagemap's bit 56 follows.
 */
final class ForkSmapsTest
{
    private static final long BASE = 0x100000000000L;
    private static final long PAGE = 4096;

    private static void assertUsage(final Map<String, String> f, final String rss, final String pss,
        final String sharedDirty, final String privateDirty, final String referenced)
    {
        assertEquals(rss, f.get("Rss"), "Rss " + f);
        assertEquals(pss, f.get("Pss"), "Pss " + f);
        assertEquals(sharedDirty, f.get("Shared_Dirty"), "Shared_Dirty " + f);
        assertEquals(privateDirty, f.get("Private_Dirty"), "Private_Dirty " + f);
        assertEquals("0 kB", f.get("Shared_Clean"));
        assertEquals("0 kB", f.get("Private_Clean"));
        assertEquals(referenced, f.get("Referenced"), "Referenced " + f);
    }

    @Test
    void sharedThenPrivateAgain()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final AddressSpace parent = AddressSpace.create(memory);
            final Cpu p = parent.attachCpu();
            assertEquals(BASE, p.mmap(BASE, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
            for (int i = 0; i < 4; i++)
            {
                assertEquals(Signal.NONE, p.writeByte(BASE + i * PAGE, 1));
            }
            assertUsage(SmapsFields.of(parent, BASE, ThpMode.NEVER), "16 kB", "16 kB", "0 kB", "16 kB", "16 kB");
            final AddressSpace child = p.fork();
            final Cpu c = child.attachCpu();
            // shared by two: Pss is half; the child's entries are old (pte_mkold) and keep D
            assertUsage(SmapsFields.of(parent, BASE, ThpMode.NEVER), "16 kB", "8 kB", "16 kB", "0 kB", "16 kB");
            assertUsage(SmapsFields.of(child, BASE, ThpMode.NEVER), "16 kB", "8 kB", "16 kB", "0 kB", "0 kB");
            final Snapshot before = Snapshot.of(child, ThpMode.NEVER);
            assertEquals(0x8000000000000000L, PagemapView.word(before, BASE) & 0xc100000000000000L,
                "present, not exclusive");

            // the parent's write copies page 0: each side now has page 0 to itself
            assertEquals(Signal.NONE, p.writeByte(BASE, 2));
            assertUsage(SmapsFields.of(parent, BASE, ThpMode.NEVER), "16 kB", "10 kB", "12 kB", "4 kB", "16 kB");
            assertUsage(SmapsFields.of(child, BASE, ThpMode.NEVER), "16 kB", "10 kB", "12 kB", "4 kB", "0 kB");
            final Snapshot after = Snapshot.of(child, ThpMode.NEVER);
            assertEquals(0x8100000000000000L, PagemapView.word(after, BASE) & 0xc100000000000000L, "exclusive again");
            assertEquals(0x8000000000000000L, PagemapView.word(after, BASE + PAGE) & 0xc100000000000000L);

            // a third process: the three-way pages' Pss is a third each (4096/3 bytes, 1 kB rounded down)
            c.offline();
            final AddressSpace grandchild = p.fork();
            final Map<String, String> f = SmapsFields.of(grandchild, BASE, ThpMode.NEVER);
            assertEquals("16 kB", f.get("Rss"));
            // page 0: the parent's copy, shared by two; pages 1-3: shared by three; in 1/4096 bytes as
            // smaps sums them (PSS_SHIFT), truncated once when printed: 6143.99 bytes are 5 kB
            final long pss = (PAGE << 12) / 2 + 3 * ((PAGE << 12) / 3);
            assertEquals((pss >> 12 >> 10) + " kB", f.get("Pss"));
            assertEquals("5 kB", f.get("Pss"));
            assertEquals("16 kB", f.get("Shared_Dirty"));
            p.close();
            c.close();
            grandchild.close();
            child.close();
            parent.close();
        }
    }
}
