package io.mmemu.script;

import io.mmemu.vm.Cpu;

import static io.mmemu.phys.PhysicalMemory.PAGE_SIZE;

/** Runs statements on one emulated {@link Cpu}, as the calling thread. */
public final class Interpreter
{
    private final Cpu cpu;
    private final Touch touch;

    public Interpreter(final Cpu cpu)
    {
        this.cpu = cpu;
        this.touch = new Touch(cpu, Touch.Stop.NEVER);
    }

    public Outcome execute(final Statement s)
    {
        final long[] arguments = new long[s.call().parameters().size()];
        for (int i = 0; i < arguments.length; i++)
        {
            arguments[i] = s.argument(i);
        }
        return execute(s.call(), arguments);
    }

    /** Makes {@code call} with one value per {@link Call#parameters()} entry; touch as replay defines it. */
    public Outcome execute(final Call call, final long[] a)
    {
        return switch (call)
        {
            case MMAP -> Outcome.returned(cpu.mmap(a[0], a[1], (int)a[2], (int)a[3], (int)a[4], a[5]));
            case MUNMAP -> Outcome.returned(cpu.munmap(a[0], a[1]));
            case MPROTECT -> Outcome.returned(cpu.mprotect(a[0], a[1], (int)a[2]));
            case MREMAP -> Outcome.returned(cpu.mremap(a[0], a[1], a[2], (int)a[3], a[4]));
            case MADVISE -> Outcome.returned(cpu.madvise(a[0], a[1], (int)a[2]));
            case BRK -> Outcome.returned(cpu.brk(a[0]));
            // no protection key is ever allocated here: pkey_mprotect checks it before anything else
            case PKEY_MPROTECT -> Outcome.returned((int)a[3] == -1 ? cpu.mprotect(a[0], a[1], (int)a[2]) : -io.mmemu.vm.Errno.EINVAL);
            case TOUCH -> touch.sequential(a[0], a[1], (int)a[2], PAGE_SIZE, Touch.DEFAULT_BYTE, Touch.NO_CHECK);
        };
    }
}
