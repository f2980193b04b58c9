package io.mmemu.vm;

import java.util.SplittableRandom;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Overcommit as mm/util.c's __vm_enough_memory decides it, and Committed_AS as VM_ACCOUNT charges
 * and uncharges it (mm/vma.c's mmap_region, mm/mprotect.c, mm/mremap.c, brk, munmap, shmem). The
 * machine has 256 MiB (65536 pages) and no swap, so: the heuristic refuses one request above 65536
 * pages; strict mode with ratio 50 allows 32768 pages less the admin reserve (min(free/32, 8 MiB) =
 * 2048 pages) and min(total_vm/32, user reserve of 2048 pages), and refuses once Committed_AS
 * (this request included) is not below that.
 */
class OvercommitTest
{
    private static final long BASE = 0x100000000000L;
    private static final long PAGE = 4096;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS;
    private static final long RAM = 256L << 20;
    private static final long RAM_PAGES = RAM / PAGE;
    /** Strict, ratio 50, nothing mapped yet: 32768 - 2048 (admin reserve) - 0. */
    private static final long STRICT_ALLOWED = RAM_PAGES / 2 - 2048;

    private PhysicalMemory memory;
    private AddressSpace mm;
    private Cpu cpu;

    private void machine(final Overcommit policy, final LockingMode locking)
    {
        memory = PhysicalMemory.create(RAM);
        mm = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, new Machine(memory, policy));
        cpu = mm.attachCpu();
    }

    private void machine(final Overcommit policy)
    {
        machine(policy, LockingMode.PER_VMA);
    }

    @AfterEach
    void tearDown()
    {
        if (cpu != null)
        {
            cpu.close();
            mm.check(true).assertOk();
            mm.close();
            assertEquals(0, mm.commitment().committedPages(), "closing the address space uncommits everything");
            assertEquals(1, memory.framesInUse(), "every frame but the zero page returns after close");
            memory.close();
        }
    }

    private long committed()
    {
        return mm.commitment().committedPages();
    }

    private void assertCommitted(final long pages)
    {
        assertEquals(pages, committed(), "Committed_AS");
        assertEquals(pages, mm.accountedPages(), "the address space's VM_ACCOUNT pages");
        mm.check(false).assertOk();
    }

    // ---------------------------------------------------------------- mode 0: the heuristic

    @Test
    void heuristicRefusesOnlyASingleRequestAboveRamPlusSwap()
    {
        machine(Overcommit.DEFAULT);
        assertEquals(-Errno.ENOMEM, cpu.mmap(0, 1L << 30, RW, ANON, -1, 0), "1 GiB private writable on 256 MiB");
        assertEquals(-Errno.ENOMEM, cpu.mmap(0, RAM + PAGE, RW, ANON, -1, 0), "one page more than RAM");
        assertCommitted(0);
        final long a = cpu.mmap(0, RAM, RW, ANON, -1, 0);
        assertTrue(a > 0, "exactly RAM: pages > totalram is false");
        final long b = cpu.mmap(0, RAM, RW, ANON, -1, 0);
        assertTrue(b > 0, "the heuristic looks at one request, not the sum");
        assertCommitted(2 * RAM_PAGES);
        assertEquals(0, cpu.munmap(a, RAM));
        assertEquals(0, cpu.munmap(b, RAM));
        assertCommitted(0);
    }

    @Test
    void heuristicLetsUnaccountedMappingsThroughAndChargesMprotect()
    {
        machine(Overcommit.DEFAULT);
        final long noreserve = cpu.mmap(0, 1L << 30, RW, ANON | MAP_NORESERVE, -1, 0);
        assertTrue(noreserve > 0, "MAP_NORESERVE commits nothing");
        final long readOnly = cpu.mmap(0, 1L << 30, PROT_READ, ANON, -1, 0);
        assertTrue(readOnly > 0, "a read-only private mapping commits nothing");
        final long sharedNoreserve = cpu.mmap(0, 1L << 30, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        assertTrue(sharedNoreserve > 0);
        assertCommitted(0);
        assertEquals(-Errno.ENOMEM, cpu.mprotect(readOnly, 1L << 30, RW), "making 1 GiB writable commits it");
        assertEquals(-Errno.ENOMEM, cpu.mmap(0, 1L << 30, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
            "shmem commits its size (shmem_acct_size)");
        assertEquals(0, cpu.mprotect(readOnly, RAM, RW));
        assertCommitted(RAM_PAGES);
        assertEquals(0, cpu.munmap(noreserve, 1L << 30));
        assertEquals(0, cpu.munmap(readOnly, 1L << 30));
        assertEquals(0, cpu.munmap(sharedNoreserve, 1L << 30));
        assertCommitted(0);
    }

    @Test
    void heuristicChargesMremapGrowthAndBrk()
    {
        machine(Overcommit.DEFAULT);
        final long a = cpu.mmap(0, PAGE, RW, ANON, -1, 0);
        assertEquals(-Errno.ENOMEM, cpu.mremap(a, PAGE, RAM + 2 * PAGE, MREMAP_MAYMOVE, 0),
            "the growth alone is more than RAM");
        final long grown = cpu.mremap(a, PAGE, RAM + PAGE, MREMAP_MAYMOVE, 0);
        assertTrue(grown > 0, "a growth of exactly RAM");
        assertCommitted(RAM_PAGES + 1);
        assertEquals(0, cpu.munmap(grown, RAM + PAGE));

        final long heap = 0x555555554000L;
        mm.setBrk(heap, heap);
        assertEquals(heap, cpu.brk(heap + RAM + PAGE), "brk beyond RAM keeps the old break");
        assertEquals(heap + RAM, cpu.brk(heap + RAM));
        assertCommitted(RAM_PAGES);
        assertEquals(heap + PAGE, cpu.brk(heap + PAGE), "shrinking uncommits");
        assertCommitted(1);
        assertEquals(heap, cpu.brk(heap));
        assertCommitted(0);
    }

    @Test
    void swapCountsInBothTheHeuristicAndTheLimit()
    {
        final Commitment commitment = new Commitment(RAM_PAGES, Overcommit.DEFAULT);
        assertTrue(!commitment.enoughMemory(0, RAM_PAGES + 1));
        commitment.setSwapPages(RAM_PAGES);
        assertTrue(commitment.enoughMemory(0, 2 * RAM_PAGES), "totalram + total_swap_pages");
        assertEquals(RAM_PAGES / 2 + RAM_PAGES, commitment.commitLimitPages());
        assertEquals(2 * RAM_PAGES, commitment.committedPages());
        assertEquals(2 * RAM_PAGES, commitment.committedPeakPages());
    }

    // ---------------------------------------------------------------- mode 1: always

    @Test
    void alwaysRefusesNothingAndStillCounts()
    {
        machine(new Overcommit(Overcommit.ALWAYS, 50, 0));
        final long a = cpu.mmap(0, 64L << 30, RW, ANON, -1, 0);
        assertTrue(a > 0);
        final long s = cpu.mmap(0, 1L << 30, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        assertTrue(s > 0);
        assertEquals((64L << 30) / PAGE + (1L << 30) / PAGE, committed(), "the mapping and the shmem object");
        assertEquals((64L << 30) / PAGE, mm.accountedPages());
        assertEquals(0, cpu.munmap(s, 1L << 30));
        assertEquals(0, cpu.munmap(a, 64L << 30));
        assertCommitted(0);
    }

    // ---------------------------------------------------------------- mode 2: strict

    @Test
    void strictAllowsUpToTheLimitLessTheReserves()
    {
        machine(new Overcommit(Overcommit.NEVER, 50, 0));
        assertEquals(RAM_PAGES / 2, mm.commitment().commitLimitPages());
        assertEquals(-Errno.ENOMEM, cpu.mmap(0, STRICT_ALLOWED * PAGE, RW, ANON, -1, 0), "Committed_AS must stay below");
        final long a = cpu.mmap(0, (STRICT_ALLOWED - 1) * PAGE, RW, ANON, -1, 0);
        assertTrue(a > 0);
        assertCommitted(STRICT_ALLOWED - 1);
        // now total_vm/32 of the user reserve counts too: nothing more fits, not even one page
        assertEquals(-Errno.ENOMEM, cpu.mmap(0, PAGE, RW, ANON, -1, 0));
        assertEquals(-Errno.ENOMEM, cpu.mmap(0, PAGE, RW, ANON | MAP_NORESERVE, -1, 0), "strict mode ignores MAP_NORESERVE");
        assertEquals(-Errno.ENOMEM, cpu.mmap(0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0), "shmem is charged too");
        assertTrue(cpu.mmap(0, PAGE, PROT_READ, ANON, -1, 0) > 0, "an unaccounted mapping needs no commit");
        // MAP_FIXED over accounted pages charges only the difference: none
        assertEquals(a, cpu.mmap(a, 16 * PAGE, RW, ANON | MAP_FIXED, -1, 0));
        assertCommitted(STRICT_ALLOWED - 1);
        // a partial munmap uncommits its part
        assertEquals(0, cpu.munmap(a + 16 * PAGE, 1000 * PAGE));
        assertCommitted(STRICT_ALLOWED - 1001);
        assertEquals(0, cpu.munmap(a, (STRICT_ALLOWED - 1) * PAGE));
        assertCommitted(0);
    }

    @Test
    void strictRefusesPureMovesAtTheLimitButNotShrinks()
    {
        machine(new Overcommit(Overcommit.NEVER, 50, 0));
        final long a = cpu.mmap(0, (STRICT_ALLOWED - 1) * PAGE, RW, ANON, -1, 0);
        assertTrue(a > 0);
        // vrm_calc_charge checks even a charge of 0 pages: the limit is reached
        assertEquals(-Errno.ENOMEM, cpu.mremap(a, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, BASE));
        assertEquals(a, cpu.mremap(a, 2 * PAGE, PAGE, 0, 0), "shrinking charges nothing");
        assertCommitted(STRICT_ALLOWED - 2);
        assertEquals(0, cpu.munmap(a, (STRICT_ALLOWED - 1) * PAGE));
        assertCommitted(0);
    }

    @Test
    void strictWithKbytesUsesThemInsteadOfTheRatio()
    {
        machine(Overcommit.parse("2,kbytes=65536"));
        final long limit = 65536 / 4;
        assertEquals(limit, mm.commitment().commitLimitPages());
        assertEquals(-Errno.ENOMEM, cpu.mmap(0, (limit - 2048) * PAGE, RW, ANON, -1, 0));
        final long a = cpu.mmap(0, (limit - 2049) * PAGE, RW, ANON, -1, 0);
        assertTrue(a > 0);
        assertEquals(0, cpu.munmap(a, (limit - 2049) * PAGE));
        assertCommitted(0);
    }

    @Test
    void strictRefusesStackGrowthAndBrkAtTheLimit()
    {
        machine(new Overcommit(Overcommit.NEVER, 50, 0));
        final long stack = BASE + (1L << 30);
        assertEquals(stack, cpu.mmap(stack, PAGE, RW, ANON | MAP_FIXED | MAP_GROWSDOWN, -1, 0));
        assertEquals(Signal.NONE, cpu.writeByte(stack - PAGE, 1), "a page of growth fits");
        assertCommitted(2);
        final long heap = 0x555555554000L;
        mm.setBrk(heap, heap);
        assertEquals(heap + 16 * PAGE, cpu.brk(heap + 16 * PAGE));
        assertCommitted(18);
        // fill up to the limit (less total_vm/32 of what is mapped then)
        final long filler = cpu.mmap(0, (STRICT_ALLOWED - 18 - 1 - 1) * PAGE, RW, ANON, -1, 0);
        assertTrue(filler > 0);
        assertEquals(Signal.SEGV_MAPERR, cpu.writeByte(stack - 2 * PAGE, 1), "acct_stack_growth refuses: SIGSEGV");
        assertEquals(heap + 16 * PAGE, cpu.brk(heap + 17 * PAGE), "brk refuses: the old break");
        assertEquals(0, cpu.munmap(filler, (STRICT_ALLOWED - 20) * PAGE));
        assertEquals(Signal.NONE, cpu.writeByte(stack - 2 * PAGE, 1), "room again");
        assertEquals(heap + 17 * PAGE, cpu.brk(heap + 17 * PAGE));
        assertCommitted(20);
    }

    /**
     * Threads map in strict mode until refused: the check adds first, so whatever the interleaving,
     * Committed_AS never reaches the limit and equals exactly what the successes mapped.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void concurrentStrictChargesNeverPassTheLimitTogether(final LockingMode locking) throws Exception
    {
        machine(new Overcommit(Overcommit.NEVER, 50, 0), locking);
        final long chunk = 97;
        final java.util.concurrent.atomic.AtomicLong mapped = new java.util.concurrent.atomic.AtomicLong();
        CpuThreads.run(mm, 4, (t, mine) ->
        {
            while (true)
            {
                final long a = mine.mmap(0, chunk * PAGE, RW, ANON, -1, 0);
                if (a == -Errno.ENOMEM)
                {
                    return;
                }
                assertTrue(a > 0, Long.toString(a));
                mapped.addAndGet(chunk);
            }
        });
        assertCommitted(mapped.get());
        // allowed only shrinks as total_vm grows: every success stayed below the limit of its check (at
        // most STRICT_ALLOWED), and every refusal saw Committed_AS + chunk reach a limit no lower than the last
        final long allowedAtTheEnd = STRICT_ALLOWED - Math.min(mm.totalVm() / 32, 2048);
        assertTrue(committed() < STRICT_ALLOWED, committed() + " committed");
        assertTrue(committed() + chunk >= allowedAtTheEnd, committed() + " committed, " + allowedAtTheEnd + " allowed");
        long rest = mapped.get();
        for (final VmaInfo vma : mm.vmas())
        {
            assertEquals(0, cpu.munmap(vma.start(), vma.end() - vma.start()));
            rest -= (vma.end() - vma.start()) / PAGE;
        }
        assertEquals(0, rest);
        assertCommitted(0);
    }

    // ---------------------------------------------------------------- charges and uncharges

    @Test
    void mprotectDropsTheCommitOnlyWhileNoPageWasInstantiated()
    {
        machine(Overcommit.DEFAULT);
        final long a = cpu.mmap(BASE, 8 * PAGE, RW, ANON | MAP_FIXED, -1, 0);
        assertCommitted(8);
        assertEquals(0, cpu.mprotect(a, 4 * PAGE, PROT_READ), "no anon_vma yet: VM_ACCOUNT goes");
        assertCommitted(4);
        assertEquals(0, cpu.mprotect(a, 4 * PAGE, RW), "writable again: charged again");
        assertCommitted(8);
        assertEquals(Signal.NONE, cpu.writeByte(a, 1));
        assertEquals(0, cpu.mprotect(a, 8 * PAGE, PROT_READ), "an anonymous page exists: the commit stays");
        assertCommitted(8);
        assertEquals(0, cpu.mprotect(a, 8 * PAGE, RW), "already accounted: no new charge");
        assertCommitted(8);
        assertEquals(0, cpu.munmap(a + 2 * PAGE, 3 * PAGE));
        assertCommitted(5);
    }

    @Test
    void mremapMovesCarryTheirCommitAndDontunmapCommitsTheNewLength()
    {
        machine(Overcommit.DEFAULT);
        final long a = cpu.mmap(BASE, 4 * PAGE, RW, ANON | MAP_FIXED, -1, 0);
        assertEquals(BASE + (1L << 30), cpu.mremap(a, 4 * PAGE, 6 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + (1L << 30)));
        assertCommitted(6);
        assertEquals(BASE, cpu.mremap(BASE + (1L << 30), 6 * PAGE, 6 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, BASE));
        assertCommitted(12);
        assertEquals(0, cpu.munmap(BASE, 6 * PAGE));
        assertEquals(0, cpu.munmap(BASE + (1L << 30), 6 * PAGE));
        assertCommitted(0);
    }

    @Test
    void shmemKeepsItsCommitUntilItsLastMappingGoes()
    {
        machine(Overcommit.DEFAULT);
        final long s = cpu.mmap(0, 16 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        assertEquals(16, committed());
        assertEquals(0, cpu.munmap(s + 4 * PAGE, 4 * PAGE), "the object keeps its size");
        assertEquals(16, committed());
        assertEquals(0, cpu.munmap(s, 16 * PAGE));
        assertEquals(0, committed());
    }

    @Test
    void policyTextRoundTripsAndRefusesNonsense()
    {
        assertEquals(new Overcommit(2, 80, 0), Overcommit.parse("2,ratio=80"));
        assertEquals(new Overcommit(2, 0, 1024), Overcommit.parse("never,kbytes=1024"));
        assertEquals(new Overcommit(1, 50, 0), Overcommit.parse("always"));
        assertEquals("2,ratio=80", Overcommit.parse("2,ratio=80").toString());
        assertEquals("0", Overcommit.DEFAULT.toString());
        assertThrows(IllegalArgumentException.class, () -> Overcommit.parse("3"));
        assertThrows(IllegalArgumentException.class, () -> Overcommit.parse("2,ratio=80,kbytes=4"));
        assertThrows(IllegalArgumentException.class, () -> Overcommit.parse("2,size=4"));
        assertThrows(IllegalArgumentException.class, () -> Overcommit.parse("2,ratio=-1"));
    }

    // ---------------------------------------------------------------- concurrency

    /**
     * Threads map, partly unmap, mprotect, mremap and unmap at random in their own windows; at the
     * end Committed_AS is exactly the VM_ACCOUNT pages of the tree, and zero once all is unmapped.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void concurrentEditsKeepCommittedAsExact(final LockingMode locking) throws Exception
    {
        machine(Overcommit.DEFAULT, locking);
        final int iterations = 400;
        CpuThreads.run(mm, 4, (t, mine) ->
        {
            final long window = BASE + t * (1L << 32);
            final SplittableRandom random = new SplittableRandom(t);
            for (int i = 0; i < iterations; i++)
            {
                final long at = window + random.nextLong(64) * PAGE;
                final long len = (1 + random.nextLong(16)) * PAGE;
                switch (random.nextInt(6))
                {
                    case 0 -> mine.mmap(at, len, RW, ANON | MAP_FIXED | (random.nextBoolean() ? MAP_NORESERVE : 0), -1, 0);
                    case 1 -> mine.munmap(at, len);
                    case 2 -> mine.mprotect(at, len, random.nextBoolean() ? PROT_READ : RW);
                    case 3 -> mine.mremap(at, len, len + PAGE * random.nextLong(4), MREMAP_MAYMOVE | MREMAP_FIXED,
                        window + (1L << 31) + random.nextLong(64) * PAGE);
                    case 4 -> mine.writeByte(at, 1);
                    default -> mine.mmap(at, len, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
                }
            }
        });
        // frame accounting waits for the unmap: live shmem objects hold cached pages no table maps
        mm.check(false).assertOk();
        assertTrue(committed() >= mm.accountedPages(), "the shmem objects alive commit the rest");
        assertEquals(0, cpu.munmap(BASE, 16L << 32));
        assertCommitted(0);
    }
}
