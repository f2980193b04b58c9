package io.mmemu.vm;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.pgtable.PagingMode;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MREMAP_FIXED;
import static io.mmemu.vm.Mman.MREMAP_MAYMOVE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Five-level paging (LA57): TASK_SIZE 2^56 - 4 KiB, mappings above 2^47 only on request (a hint
 * above the default window, or MAP_FIXED), the fifth level in every walk, and four-level paging's
 * refusals of the same calls. The expected addresses follow arch/x86/kernel/sys_x86_64.c.
 */
final class La57Test
{
    private static final long PAGE = 4096;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS;
    /** Above 2^47 and above 2^48 (a PML5 index of its own): 0x0080_0000_0000_0000 - 2^52. */
    private static final long HIGH = 0x007f_f000_0000_0000L;
    private static final KernelConfig LA57 = KernelConfig.MAINLINE.withPaging(PagingMode.FIVE_LEVEL);

    /** An address space (and its CPU) with {@code paging} levels in fresh memory; closing checks every frame came back. */
    private static final class Process implements AutoCloseable
    {
        final PhysicalMemory memory = PhysicalMemory.create(64L << 20);
        final long baseline = memory.framesInUse();
        final AddressSpace mm;
        final Cpu cpu;

        Process(final int paging, final LockingMode locking)
        {
            mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE.withPaging(paging));
            cpu = mm.attachCpu();
        }

        Process(final int paging)
        {
            this(paging, LockingMode.PER_VMA);
        }

        @Override
        public void close()
        {
            try
            {
                cpu.close();
                mm.close();
                assertEquals(baseline, memory.framesInUse(), "every frame came back (the P4D tables too)");
            }
            finally
            {
                memory.close();
            }
        }
    }

    private static void write(final Cpu cpu, final long va, final long value)
    {
        assertEquals(Signal.NONE, cpu.writeLong(va, value), () -> String.format("write of 0x%x", va));
    }

    private static long read(final Cpu cpu, final long va)
    {
        assertEquals(Signal.NONE, cpu.readLong(va), () -> String.format("read of 0x%x", va));
        return cpu.value();
    }

    @Test
    void taskSizeAndRootFollowThePagingMode()
    {
        try (Process four = new Process(4); Process five = new Process(5))
        {
            assertEquals(0x7ffffffff000L, four.mm.taskSize());
            assertEquals(0x00fffffffffff000L, five.mm.taskSize());
            assertEquals(4, PagingMode.levels(four.mm.cr3()));
            assertEquals(5, PagingMode.levels(five.mm.cr3()));
            assertEquals(PageTableEntry.LEVEL_PML5, five.memory.tableLevel(five.mm.cr3() >>> 12));
        }
    }

    /** Without a hint, or with one below 2^47, LA57 places mappings where four levels would: below mmap_base. */
    @Test
    void mappingsStayBelowTheDefaultWindowWithoutAHighHint()
    {
        try (Process four = new Process(4); Process five = new Process(5))
        {
            for (final Process p : new Process[] {four, five})
            {
                assertEquals(AddressSpace.MMAP_BASE - 4 * PAGE, p.cpu.mmap(0, 4 * PAGE, RW, ANON, -1, 0));
                // a free hint below the window is taken as it is
                assertEquals(0x100000000L, p.cpu.mmap(0x100000000L, PAGE, RW, ANON, -1, 0));
                // a hint that straddles the window's end is not valid: top-down below mmap_base
                assertEquals(AddressSpace.MMAP_BASE - 6 * PAGE,
                    p.cpu.mmap(AddressSpace.DEFAULT_MAP_WINDOW - PAGE, 2 * PAGE, RW, ANON, -1, 0));
            }
        }
    }

    /** A hint above 2^47 is taken when free; when not, the search runs up to mmap_base + (TASK_SIZE - window). */
    @Test
    void aHighHintOpensTheWholeAddressSpaceOnlyWithFiveLevels()
    {
        try (Process four = new Process(4); Process five = new Process(5))
        {
            assertEquals(HIGH, five.cpu.mmap(HIGH, 2 * PAGE, RW, ANON, -1, 0));
            final long highTop = AddressSpace.MMAP_BASE + (AddressSpace.TASK_SIZE_LA57 - AddressSpace.DEFAULT_MAP_WINDOW);
            assertEquals(highTop - PAGE, five.cpu.mmap(HIGH + PAGE, PAGE, RW, ANON, -1, 0), "occupied high hint");
            assertEquals(AddressSpace.MMAP_BASE - PAGE, five.cpu.mmap(0, PAGE, RW, ANON, -1, 0), "no hint: still low");
            write(five.cpu, HIGH, 42);
            write(five.cpu, highTop - PAGE, 43);
            assertEquals(42, read(five.cpu, HIGH));
            assertEquals(43, read(five.cpu, highTop - PAGE));
            // a hint beyond TASK_SIZE is not taken, but being above the window it still opens the high range
            assertEquals(highTop - 3 * PAGE, five.cpu.mmap(1L << 58, 2 * PAGE, RW, ANON, -1, 0));
            // four levels: the same hint is beyond TASK_SIZE, so it is no hint at all
            assertEquals(AddressSpace.MMAP_BASE - 2 * PAGE, four.cpu.mmap(HIGH, 2 * PAGE, RW, ANON, -1, 0));
            five.mm.check(true).assertOk();
        }
    }

    @Test
    void mapFixedAboveTheWindowWorksWithFiveLevelsAndIsEnomemWithFour()
    {
        try (Process four = new Process(4); Process five = new Process(5))
        {
            final long top = AddressSpace.TASK_SIZE_LA57 - 4 * PAGE;
            assertEquals(top, five.cpu.mmap(top, 4 * PAGE, RW, ANON | MAP_FIXED, -1, 0));
            assertEquals(-Errno.ENOMEM, five.cpu.mmap(AddressSpace.TASK_SIZE_LA57, PAGE, RW, ANON | MAP_FIXED, -1, 0));
            assertEquals(-Errno.ENOMEM, four.cpu.mmap(HIGH, PAGE, RW, ANON | MAP_FIXED, -1, 0));
            assertEquals(-Errno.ENOMEM, four.cpu.mmap(1L << 47, PAGE, RW, ANON | MAP_FIXED, -1, 0));
            // a fixed mapping across 2^47 (mmap_address_hint_valid's comment: no restriction with MAP_FIXED)
            final long across = (1L << 47) - 2 * PAGE;
            assertEquals(across, five.cpu.mmap(across, 4 * PAGE, RW, ANON | MAP_FIXED, -1, 0));
            assertEquals(-Errno.ENOMEM, four.cpu.mmap(across, 4 * PAGE, RW, ANON | MAP_FIXED, -1, 0));
            write(five.cpu, across + 3 * PAGE, 8);
            write(five.cpu, top + 3 * PAGE, 7);
            assertEquals(7, read(five.cpu, top + 3 * PAGE));
            five.mm.check(true).assertOk();
        }
    }

    /** munmap, mprotect and mremap take their EINVAL/ENOMEM bounds from the larger TASK_SIZE. */
    @Test
    void unmapProtectAndRemapAboveTheWindow()
    {
        try (Process four = new Process(4); Process five = new Process(5))
        {
            final Cpu cpu = five.cpu;
            assertEquals(HIGH, cpu.mmap(HIGH, 8 * PAGE, RW, ANON | MAP_FIXED, -1, 0));
            for (int i = 0; i < 8; i++)
            {
                write(cpu, HIGH + i * PAGE, i + 1);
            }
            assertEquals(0, cpu.mprotect(HIGH, 2 * PAGE, PROT_READ));
            assertEquals(Signal.SEGV_ACCERR, cpu.writeLong(HIGH, 1));
            assertEquals(1, read(cpu, HIGH));
            assertEquals(-Errno.ENOMEM, cpu.mprotect(HIGH + 8 * PAGE, PAGE, PROT_READ), "nothing mapped there");
            assertEquals(0, cpu.munmap(HIGH + 2 * PAGE, 2 * PAGE));
            assertEquals(Signal.SEGV_MAPERR, cpu.readLong(HIGH + 2 * PAGE));
            assertEquals(0, cpu.munmap(1L << 50, PAGE), "nothing there, inside TASK_SIZE");
            assertEquals(-Errno.EINVAL, cpu.munmap(AddressSpace.TASK_SIZE_LA57, PAGE));
            assertEquals(-Errno.EINVAL, cpu.munmap(1L << 56, PAGE));
            final long target = HIGH + (1L << 40);
            assertEquals(target, cpu.mremap(HIGH + 4 * PAGE, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target));
            assertEquals(5, read(cpu, target));
            assertEquals(8, read(cpu, target + 3 * PAGE));
            assertEquals(-Errno.EINVAL, cpu.mremap(target, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, 1L << 56));
            five.mm.check(true).assertOk();

            assertEquals(-Errno.EINVAL, four.cpu.munmap(HIGH, PAGE));
            assertEquals(-Errno.EINVAL, four.cpu.munmap(1L << 47, PAGE));
            assertEquals(AddressSpace.MMAP_BASE - PAGE, four.cpu.mmap(0, PAGE, RW, ANON, -1, 0));
            assertEquals(-Errno.EINVAL, four.cpu.mremap(AddressSpace.MMAP_BASE - PAGE, PAGE, PAGE,
                MREMAP_MAYMOVE | MREMAP_FIXED, HIGH));
        }
    }

    /** Canonical is 57 bits with LA57: 2^47..2^56 is unmapped user space, not #GP; 2^56 and up is #GP. */
    @Test
    void canonicalAddressesFollowTheLevels()
    {
        try (Process four = new Process(4); Process five = new Process(5))
        {
            assertEquals(Signal.SI_KERNEL, four.cpu.readLong(HIGH));
            assertEquals(Signal.SEGV_MAPERR, five.cpu.readLong(HIGH));
            assertEquals(Signal.SI_KERNEL, five.cpu.readLong(1L << 57));
            assertEquals(Signal.SI_KERNEL, five.cpu.readLong(1L << 56));
            assertEquals(Signal.SEGV_MAPERR, five.cpu.readLong(AddressSpace.TASK_SIZE_LA57), "the guard page above TASK_SIZE");
        }
    }

    /**
     * The walk takes five steps: PML5, P4D, PUD, PMD, PT — one table each for one page; two
     * addresses 2^48 apart share every index below the PML5 and still translate apart (walk and TLB).
     */
    @Test
    void theWalkAndTheTlbUseTheFifthLevel()
    {
        try (Process five = new Process(5))
        {
            final Cpu cpu = five.cpu;
            final long low = 0x12345000L;
            final long high = low + (1L << 48);
            assertEquals(low, cpu.mmap(low, PAGE, RW, ANON | MAP_FIXED, -1, 0));
            assertEquals(high, cpu.mmap(high, PAGE, RW, ANON | MAP_FIXED, -1, 0));
            write(cpu, low, 1);
            write(cpu, high, 2);
            assertEquals(1, read(cpu, low));
            assertEquals(2, read(cpu, high));
            final PageWalker walker = new PageWalker(five.memory, null);
            assertEquals(PageWalker.WALK_PTE, walker.walk(five.mm.cr3(), high));
            final long highPfn = PageTableEntry.pfn(walker.entry());
            assertEquals(PageWalker.WALK_PTE, walker.walk(five.mm.cr3(), low));
            assertNotEquals(highPfn, PageTableEntry.pfn(walker.entry()));
            assertEquals(highPfn << 12 | 0x10, walker.translate(five.mm.cr3(), high + 0x10));
            // one PML5, two P4Ds, two PUDs, two PMDs, two PTs
            assertEquals(9, five.mm.check(true).assertOk().tables());
            assertEquals(0, cpu.munmap(high, PAGE));
            assertEquals(Signal.SEGV_MAPERR, cpu.readLong(high));
            assertEquals(1, read(cpu, low));
            // the whole upper branch went with the last mapping under it (free_pgd_range)
            assertEquals(5, five.mm.check(true).assertOk().tables());
        }
    }

    /** A transparent huge page above 2^48: a PMD leaf under the PML5, split by a partial munmap, all frames back. */
    @Test
    void hugePagesAboveTheWindow()
    {
        try (Process five = new Process(5))
        {
            five.mm.thp(ThpMode.ALWAYS);
            final long huge = HIGH + (4L << 20);
            assertEquals(huge, five.cpu.mmap(huge, 4L << 20, RW, ANON | MAP_FIXED, -1, 0));
            write(five.cpu, huge + 0x1238, 5);
            final PageWalker walker = new PageWalker(five.memory, null);
            assertEquals(PageWalker.WALK_LARGE, walker.walk(five.mm.cr3(), huge + 0x1238));
            assertEquals(PageTableEntry.LEVEL_PMD, walker.level());
            assertEquals(0, five.cpu.munmap(huge + (1L << 20), 4096));
            assertEquals(5, read(five.cpu, huge + 0x1238));
            assertEquals(PageWalker.WALK_PTE, walker.walk(five.mm.cr3(), huge + 0x1238), "split by the munmap");
            five.mm.check(true).assertOk();
        }
    }

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void forkCopiesMemoryAboveTheWindow(final LockingMode locking)
    {
        try (Process parent = new Process(5, locking))
        {
            final Cpu p = parent.cpu;
            assertEquals(HIGH, p.mmap(HIGH, 4 * PAGE, RW, ANON | MAP_FIXED, -1, 0));
            for (int i = 0; i < 4; i++)
            {
                write(p, HIGH + i * PAGE, 10 + i);
            }
            final AddressSpace child = p.fork();
            assertNotNull(child);
            try (Cpu c = child.attachCpu())
            {
                assertEquals(5, child.paging());
                assertEquals(AddressSpace.TASK_SIZE_LA57, child.taskSize());
                assertEquals(10, read(c, HIGH));
                write(c, HIGH, 99);
                write(p, HIGH + PAGE, 77);
                assertEquals(10, read(p, HIGH));
                assertEquals(99, read(c, HIGH));
                assertEquals(11, read(c, HIGH + PAGE));
                assertEquals(77, read(p, HIGH + PAGE));
                AddressSpace.checkAll(true, parent.mm, child).assertOk();
                // the child still maps above the window on request
                assertEquals(HIGH + (1L << 44), c.mmap(HIGH + (1L << 44), PAGE, RW, ANON, -1, 0));
            }
            finally
            {
                child.close();
            }
            parent.mm.check(true).assertOk();
            assertTrue(parent.mm.taskSize() > AddressSpace.TASK_SIZE);
        }
    }
}
