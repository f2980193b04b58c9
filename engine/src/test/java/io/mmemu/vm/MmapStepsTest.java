package io.mmemu.vm;

import java.util.List;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A populating mmap's two steps one at a time ({@link MmapSteps}): together they are the mmap, and
 * a call between them acts on the mapping before it is populated, as on Linux, where
 * vm_mmap_pgoff lets go of the mmap lock before mm_populate.
 */
final class MmapStepsTest
{
    private static final long PAGE = 4096;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    private static final long A = 0x7f0000000000L;

    /** The mapping alone populates nothing; the populate step then does what the whole mmap does. */
    @ParameterizedTest
    @ValueSource(ints = {MAP_POPULATE, MAP_LOCKED, MAP_POPULATE | MAP_NONBLOCK, 0})
    void theTwoStepsAreTheWholeMmap(final int populating)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final int flags = ANON | populating;
            final byte[] whole = new byte[4];
            final List<VmaInfo> wholeVmas;
            final AddressSpace one = AddressSpace.create(memory);
            try (Cpu cpu = one.attachCpu())
            {
                assertEquals(A, cpu.mmap(A, 4 * PAGE - 100, RW, flags, -1, 0));
                assertEquals(0, cpu.mincore(A, 4 * PAGE, whole));
                wholeVmas = one.vmas();
            }
            one.close();
            final AddressSpace two = AddressSpace.create(memory);
            try (Cpu cpu = two.attachCpu())
            {
                final long result = MmapSteps.map(cpu, A, 4 * PAGE - 100, RW, flags, 0);
                assertEquals(A, result);
                final byte[] mapped = new byte[4];
                assertEquals(0, cpu.mincore(A, 4 * PAGE, mapped));
                assertArrayEquals(new byte[4], mapped, "the mapping alone faults nothing in");
                MmapSteps.populate(cpu, result, 4 * PAGE - 100, flags);
                final byte[] populated = new byte[4];
                assertEquals(0, cpu.mincore(A, 4 * PAGE, populated));
                assertArrayEquals(whole, populated);
                assertEquals(wholeVmas, two.vmas());
                final boolean populates = (populating & MAP_NONBLOCK) == 0 && populating != 0;
                assertEquals(populates, MmapSteps.populates(flags, result));
                assertEquals(populates ? 1 : 0, populated[3], "the last, partial page too");
            }
            two.close();
        }
    }

    /**
     * The history the linearizability checker found (check/found/mremap-after-populate-merge.mm):
     * a MAP_FIXED|MAP_POPULATE page cut from a MADV_HUGEPAGE mapping that has an anon_vma, an
     * MADV_NOHUGEPAGE of it and the next page, an mremap of both. With the madvise between the
     * steps it merges the unfaulted page with the next (one anon_vma between them), and the
     * mremap finds one VMA; after the whole mmap the page has an anon_vma of its own, and no
     * merge happens: EFAULT.
     */
    @Test
    void anMadviseBetweenTheStepsMergesTheUnfaultedVma()
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            for (final boolean between : new boolean[] {true, false})
            {
                final AddressSpace mm = AddressSpace.create(memory);
                try (Cpu cpu = mm.attachCpu())
                {
                    assertEquals(A, cpu.mmap(A, 16 * PAGE, RW, ANON, -1, 0));
                    assertEquals(0, cpu.madvise(A, 16 * PAGE, MADV_HUGEPAGE));
                    assertEquals(0, cpu.writeByte(A, 1));
                    final long page = A + 4 * PAGE;
                    final int flags = ANON | MAP_POPULATE;
                    if (between)
                    {
                        final long result = MmapSteps.map(cpu, page, PAGE, RW, flags, 0);
                        assertEquals(0, cpu.madvise(page, 2 * PAGE, MADV_NOHUGEPAGE));
                        MmapSteps.populate(cpu, result, PAGE, flags);
                    }
                    else
                    {
                        assertEquals(page, cpu.mmap(page, PAGE, RW, flags, -1, 0));
                        assertEquals(0, cpu.madvise(page, 2 * PAGE, MADV_NOHUGEPAGE));
                    }
                    final long target = A + 64 * PAGE;
                    assertEquals(between ? target : -Errno.EFAULT,
                        cpu.mremap(page, 3 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target));
                }
                mm.close();
            }
        }
    }
}
