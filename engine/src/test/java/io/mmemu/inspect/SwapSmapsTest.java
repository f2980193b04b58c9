package io.mmemu.inspect;

import java.util.Map;

import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Signal;
import io.mmemu.vm.ThpMode;
import org.junit.jupiter.api.Test;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * smaps' Swap and SwapPss (smaps_pte_entry: a swap entry's page is Swap, and SwapPss its share by the
 * slot's swap count), before and after fork shares the slots.
 */
final class SwapSmapsTest
{
    private static final long BASE = 0x100000000000L;
    private static final long PAGE = 4096;

    @Test
    void swapAndSwapPssFollowTheSlotsCounts()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20).attachSwap(SwapArea.inMemory(8L << 20)))
        {
            final AddressSpace parent = AddressSpace.create(memory);
            final Cpu p = parent.attachCpu();
            assertEquals(BASE, p.mmap(BASE, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
            for (int i = 0; i < 16; i++)
            {
                assertEquals(Signal.NONE, p.writeByte(BASE + i * PAGE, 1));
            }
            assertEquals(0, p.madvise(BASE, 8 * PAGE, MADV_PAGEOUT));
            Map<String, String> f = SmapsFields.of(parent, BASE, ThpMode.NEVER);
            assertEquals("32 kB", f.get("Rss"));
            assertEquals("32 kB", f.get("Swap"));
            assertEquals("32 kB", f.get("SwapPss"));
            final AddressSpace child = p.fork();
            f = SmapsFields.of(child, BASE, ThpMode.NEVER);
            assertEquals("32 kB", f.get("Swap"), "fork copied the swap entries");
            assertEquals("16 kB", f.get("SwapPss"), "each slot named twice: half of it each");
            assertEquals("16 kB", SmapsFields.of(parent, BASE, ThpMode.NEVER).get("SwapPss"));
            try (Cpu c = child.attachCpu())
            {
                assertEquals(Signal.NONE, c.readByte(BASE));
                assertEquals(1, c.value());
            }
            // the child read its first page in: 7 slots still shared, the first one the parent's alone
            assertEquals("28 kB", SmapsFields.of(child, BASE, ThpMode.NEVER).get("Swap"));
            assertEquals("14 kB", SmapsFields.of(child, BASE, ThpMode.NEVER).get("SwapPss"));
            assertEquals("32 kB", SmapsFields.of(parent, BASE, ThpMode.NEVER).get("Swap"));
            assertEquals("18 kB", SmapsFields.of(parent, BASE, ThpMode.NEVER).get("SwapPss"));
            child.close();
            p.close();
            parent.close();
        }
    }
}
