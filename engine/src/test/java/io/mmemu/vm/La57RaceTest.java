package io.mmemu.vm;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

import io.mmemu.pgtable.PagingMode;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Five-level paging under concurrency: threads fault and munmap above 2^47 — in a shared range that
 * one thread keeps unmapping and replacing (MAP_FIXED), and in ranges of their own that they map,
 * fill and unmap again (P4D, PUD, PMD and PT tables installed by CAS and freed by free_pgd_range
 * meanwhile) — in both locking modes. A read sees the thread's own word, zero (the page was
 * replaced since) or SEGV_MAPERR (unmapped at that moment), never anything else; afterwards the
 * invariant checker passes and every frame comes back.
 */
final class La57RaceTest
{
    private static final long PAGE = 4096;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    /** The shared range: above 2^48, its own PML5 entry. */
    private static final long SHARED = 0x0012_3400_0000_0000L;
    private static final int SHARED_PAGES = 64;
    /** Each thread's own ranges: 512 GiB apart (a P4D entry each), in another PML5 entry. */
    private static final long OWN = 0x00f0_0000_0000_0000L;
    private static final int FAULTERS = 3;
    private static final int REPLACEMENTS = 300;

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void faultsAndUnmapsAboveTheWindowRaceSafely(final LockingMode locking) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(128L << 20))
        {
            final long baseline = memory.framesInUse();
            final KernelConfig la57 = KernelConfig.MAINLINE.withPaging(PagingMode.FIVE_LEVEL);
            try (AddressSpace mm = AddressSpace.create(memory, locking, 64 * PAGE, la57))
            {
                try (Cpu main = mm.attachCpu())
                {
                    assertEquals(SHARED, main.mmap(SHARED, SHARED_PAGES * PAGE, RW, ANON, -1, 0));
                }
                final AtomicBoolean done = new AtomicBoolean();
                final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
                CpuThreads.run(mm, FAULTERS + 1, (index, cpu) ->
                {
                    if (index == FAULTERS)
                    {
                        replace(cpu, failures);
                        done.set(true);
                        return;
                    }
                    long pass = 0;
                    final long own = OWN + index * (1L << 39);
                    while (!done.get())
                    {
                        pass++;
                        faultShared(cpu, index, pass, failures);
                        ownRange(cpu, own, index, pass, failures);
                    }
                });
                assertTrue(failures.isEmpty(), () -> String.join("\n", failures));
                mm.check(true).assertOk();
            }
            assertEquals(baseline, memory.framesInUse(), "every frame came back");
        }
    }

    /** munmap and MAP_FIXED of the shared range, over and over, in sections (64 pages: one section). */
    private static void replace(final Cpu cpu, final ConcurrentLinkedQueue<String> failures)
    {
        for (int i = 0; i < REPLACEMENTS; i++)
        {
            if ((i & 1) == 0 && cpu.munmap(SHARED, SHARED_PAGES * PAGE) != 0)
            {
                failures.add("munmap of the shared range failed");
            }
            if (cpu.mmap(SHARED, SHARED_PAGES * PAGE, RW, ANON, -1, 0) != SHARED)
            {
                failures.add("MAP_FIXED of the shared range failed");
            }
        }
    }

    private static void faultShared(final Cpu cpu, final int index, final long pass, final ConcurrentLinkedQueue<String> failures)
    {
        for (int p = 0; p < SHARED_PAGES; p++)
        {
            final long va = SHARED + p * PAGE + index * 8L;
            final long word = ((long)(index + 1) << 48) | ((long)p << 32) | pass;
            final int wrote = cpu.writeLong(va, word);
            if (wrote == Signal.SEGV_MAPERR)
            {
                continue;
            }
            final int read = cpu.readLong(va);
            if (wrote != Signal.NONE || (read != Signal.NONE && read != Signal.SEGV_MAPERR))
            {
                failures.add(String.format("signals %d/%d at 0x%x", wrote, read, va));
            }
            else if (read == Signal.NONE && cpu.value() != word && cpu.value() != 0)
            {
                failures.add(String.format("0x%x read 0x%x after writing 0x%x", va, cpu.value(), word));
            }
        }
    }

    /** Maps, fills, checks and unmaps a range only this thread uses: every word must read back. */
    private static void ownRange(final Cpu cpu, final long own, final int index, final long pass,
        final ConcurrentLinkedQueue<String> failures)
    {
        final int pages = 8;
        // a PMD apart each pass, so tables come and go at every level below the PML5
        final long at = own + (pass & 63) * (2L << 20);
        if (cpu.mmap(at, pages * PAGE, RW, ANON, -1, 0) != at)
        {
            failures.add("own mmap failed");
            return;
        }
        for (int p = 0; p < pages; p++)
        {
            if (cpu.writeLong(at + p * PAGE, pass * 31 + p + index) != Signal.NONE)
            {
                failures.add("own write failed");
            }
        }
        for (int p = 0; p < pages; p++)
        {
            if (cpu.readLong(at + p * PAGE) != Signal.NONE || cpu.value() != pass * 31 + p + index)
            {
                failures.add(String.format("own page 0x%x lost its word", at + p * PAGE));
            }
        }
        if (cpu.munmap(at, pages * PAGE) != 0)
        {
            failures.add("own munmap failed");
        }
    }
}
