package io.mmemu.script;

import io.mmemu.vm.Cpu;
import io.mmemu.vm.Mman;
import io.mmemu.vm.Signal;

import static io.mmemu.phys.PhysicalMemory.PAGE_SIZE;

/** Runs statements on one emulated {@link Cpu}, as the calling thread. */
public final class Interpreter
{
    /** What {@code touch} writes: any non-zero byte shows the write in a dump. */
    static final int TOUCH_BYTE = 0x01;

    private final Cpu cpu;

    public Interpreter(final Cpu cpu)
    {
        this.cpu = cpu;
    }

    public Outcome execute(final Statement s)
    {
        return switch (s.call())
        {
            case MMAP -> Outcome.returned(cpu.mmap(s.argument(0), s.argument(1), (int)s.argument(2), (int)s.argument(3),
                (int)s.argument(4), s.argument(5)));
            case MUNMAP -> Outcome.returned(cpu.munmap(s.argument(0), s.argument(1)));
            case MPROTECT -> Outcome.returned(cpu.mprotect(s.argument(0), s.argument(1), (int)s.argument(2)));
            case MREMAP -> Outcome.returned(cpu.mremap(s.argument(0), s.argument(1), s.argument(2), (int)s.argument(3),
                s.argument(4)));
            case MADVISE -> Outcome.returned(cpu.madvise(s.argument(0), s.argument(1), (int)s.argument(2)));
            case TOUCH -> touch(s.argument(0), s.argument(1), (int)s.argument(2));
        };
    }

    /**
     * One access per page start from {@code addr} (addr, addr + 4096, ... below addr + length), in
     * order, stopping at the first signal: a read, a write of {@link #TOUCH_BYTE}, or a read then a
     * write, as {@code access} says.
     */
    private Outcome touch(final long addr, final long length, final int access)
    {
        final boolean read = (access & Mman.PROT_READ) != 0;
        final boolean write = (access & Mman.PROT_WRITE) != 0;
        if (!read && !write)
        {
            return Outcome.returned(0);
        }
        for (long offset = 0; Long.compareUnsigned(offset, length) < 0; offset += PAGE_SIZE)
        {
            final long va = addr + offset;
            if (read)
            {
                final int signal = cpu.readByte(va);
                if (signal != Signal.NONE)
                {
                    return Outcome.raised(signal, cpu.faultAddress());
                }
            }
            if (write)
            {
                final int signal = cpu.writeByte(va, TOUCH_BYTE);
                if (signal != Signal.NONE)
                {
                    return Outcome.raised(signal, cpu.faultAddress());
                }
            }
            if (offset + PAGE_SIZE < offset)
            {
                break; // a length within a page of 2^64: the next offset would wrap
            }
        }
        return Outcome.returned(0);
    }
}
