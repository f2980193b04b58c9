package io.mmemu.bench;

import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;

import static io.mmemu.vm.Mman.MADV_DONTNEED;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_POPULATE;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;

/**
 * One address space with one emulated CPU, for benchmarks of the engine's public paths (TLB hit,
 * faults, munmap). Made and used by the benchmark thread; errors are thrown at set-up, never from
 * the measured calls' checks on the hot path.
 */
public final class EmulatorFixture implements AutoCloseable
{
    public static final long PAGE = 4096;

    private final PhysicalMemory memory;
    private final AddressSpace mm;
    private final Cpu cpu;

    public EmulatorFixture(final long physicalBytes, final Backing backing)
    {
        this.memory = PhysicalMemory.create(physicalBytes, backing);
        this.mm = AddressSpace.create(memory);
        this.cpu = mm.attachCpu();
    }

    public Cpu cpu()
    {
        return cpu;
    }

    public AddressSpace addressSpace()
    {
        return mm;
    }

    /** A private anonymous read-write mapping ({@code addr} 0: anywhere; else MAP_FIXED), optionally populated. */
    public long map(final long addr, final long length, final boolean populate)
    {
        final int flags = MAP_PRIVATE | MAP_ANONYMOUS | (addr != 0 ? MAP_FIXED : 0) | (populate ? MAP_POPULATE : 0);
        final long r = cpu.mmap(addr, length, PROT_READ | PROT_WRITE, flags, -1, 0);
        if (r < 0)
        {
            throw new IllegalStateException("mmap of " + length + " bytes failed: " + r);
        }
        return r;
    }

    public void unmap(final long addr, final long length)
    {
        final long r = cpu.munmap(addr, length);
        if (r != 0)
        {
            throw new IllegalStateException("munmap failed: " + r);
        }
    }

    /** {@code MADV_DONTNEED}: the range's entries emptied and its pages freed, the mapping kept. */
    public void dontNeed(final long addr, final long length)
    {
        final long r = cpu.madvise(addr, length, MADV_DONTNEED);
        if (r != 0)
        {
            throw new IllegalStateException("madvise(MADV_DONTNEED) failed: " + r);
        }
    }

    @Override
    public void close()
    {
        cpu.close();
        mm.close();
        memory.close();
    }
}
