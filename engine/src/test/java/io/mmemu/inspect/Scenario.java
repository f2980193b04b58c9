package io.mmemu.inspect;

import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.LockingMode;

import static io.mmemu.vm.Mman.*;

/**
 * A small address space touching every case the views distinguish: private pages written and
 * read (zero page or not), a dropped page, a read-only split, shared memory mapped twice, PROT_NONE
 * over present pages, a locked VMA, a huge-page-advised VMA, a moved VMA, pages in several
 * PT/PMD/PUD tables. Close it to free everything.
 */
final class Scenario implements AutoCloseable
{
    static final long BASE = 0x200000000000L;
    static final long END = BASE + (1L << 31) + (1L << 30);
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int PRIVATE = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    private static final int SHARED = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;

    final PhysicalMemory memory;
    final AddressSpace space;
    final Cpu cpu;

    Scenario(final KernelConfig kernel)
    {
        this(kernel, Backing.FULL, true);
    }

    /** @param shared whether to map shared memory (C and its second mapping D) */
    Scenario(final KernelConfig kernel, final Backing backing, final boolean shared)
    {
        memory = PhysicalMemory.create(64L << 20, backing, 16L << 20);
        space = AddressSpace.create(memory, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, kernel);
        cpu = space.attachCpu();
        check(cpu.mmap(BASE, 16 * 4096, RW, PRIVATE, -1, 0));
        touch(BASE, 4, true);
        touch(BASE + 4 * 4096, 2, false);
        check(cpu.madvise(BASE + 2 * 4096, 4096, MADV_DONTNEED));
        final long b = BASE + 0x100000;
        check(cpu.mmap(b, 8 * 4096, RW, PRIVATE, -1, 0));
        touch(b, 8, true);
        check(cpu.mprotect(b + 4 * 4096, 4 * 4096, PROT_READ));
        check(cpu.mprotect(b + 6 * 4096, 2 * 4096, PROT_NONE));
        if (shared)
        {
            final long c = BASE + 0x200000;
            final long d = BASE + 0x300000;
            check(cpu.mmap(c, 4 * 4096, RW, SHARED, -1, 0));
            touch(c, 1, true);
            touch(c + 4096, 1, false);
            check(cpu.mremap(c, 0, 4 * 4096, MREMAP_MAYMOVE | MREMAP_FIXED, d));
            touch(d, 2, false);
            touch(d + 2 * 4096, 1, true);
        }
        check(cpu.mmap(BASE + 0x500000, 4 * 4096, RW, PRIVATE | MAP_LOCKED, -1, 0));
        check(cpu.mmap(BASE + 0x800000, 0x400000, RW, PRIVATE, -1, 0));
        check(cpu.madvise(BASE + 0x800000, 0x400000, MADV_HUGEPAGE));
        touch(BASE + 0x800000, 3, true);
        // a VMA in another PUD entry, moved there from a third
        check(cpu.mmap(BASE + (1L << 31), 3 * 4096, RW, PRIVATE, -1, 0));
        touch(BASE + (1L << 31), 3, true);
        check(cpu.mremap(BASE + (1L << 31), 3 * 4096, 3 * 4096, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + (1L << 30)));
        check(cpu.mmap(BASE + (1L << 31) + 0x1000, 4096, PROT_READ | PROT_EXEC, PRIVATE, -1, 0));
        touch(BASE + (1L << 31) + 0x1000, 1, false);
    }

    private void touch(final long va, final int pages, final boolean write)
    {
        for (int i = 0; i < pages; i++)
        {
            final int signal = write ? cpu.writeByte(va + i * 4096L, 0x41 + i) : cpu.readByte(va + i * 4096L);
            if (signal != 0)
            {
                throw new AssertionError("touch of 0x" + Long.toHexString(va + i * 4096L) + " raised signal " + signal);
            }
        }
    }

    private static void check(final long result)
    {
        if (result < 0 && result > -4096)
        {
            throw new AssertionError("call failed: " + result);
        }
    }

    @Override
    public void close()
    {
        cpu.close();
        space.close();
        memory.close();
    }
}
