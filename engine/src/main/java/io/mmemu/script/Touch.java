package io.mmemu.script;

import java.util.SplittableRandom;

import io.mmemu.vm.Cpu;
import io.mmemu.vm.Mman;
import io.mmemu.vm.Signal;

/**
 * Memory accesses as a program makes them, one byte at a time through a {@link Cpu}: {@code touch}
 * of replay scripts (one access per page, in order) and of programs (any stride, or random
 * positions; a chosen byte written, and checked when read). Stops at the first access that raises
 * a signal, or when {@link Stop} says so.
 * <p>
 * A read with a {@linkplain #check check value} compares every byte read with it; the first
 * mismatch is remembered ({@link #mismatches()}, {@link #mismatchAddress()}, {@link #mismatchSeen()})
 * and the touch goes on.
 */
public final class Touch
{
    /** What a write stores unless told otherwise: any non-zero byte shows the write in a dump. */
    public static final int DEFAULT_BYTE = 0x01;
    /** No value to check on reads. */
    public static final int NO_CHECK = -1;
    /** How many accesses go between two looks at {@link Stop}. */
    private static final int STOP_POLL_MASK = 0xff;

    /** Asked now and then during a long touch: whether to stop early (a deadline, Ctrl-C). */
    @FunctionalInterface
    public interface Stop
    {
        Stop NEVER = () -> false;

        boolean stopNow();
    }

    private final Cpu cpu;
    private final Stop stop;
    private long mismatches;
    private long mismatchAddress;
    private int mismatchSeen;
    private long accesses;

    public Touch(final Cpu cpu, final Stop stop)
    {
        this.cpu = cpu;
        this.stop = stop;
    }

    /**
     * One access at {@code addr}, {@code addr + stride}, ... while below {@code addr + length}
     * (unsigned; length 0: none), in order.
     *
     * @param access PROT_READ, PROT_WRITE, both (read, then write) or PROT_NONE (nothing)
     * @param value  the byte a write stores (0..255)
     * @param check  the byte every read must see, or {@link #NO_CHECK}
     */
    public Outcome sequential(final long addr, final long length, final int access, final long stride,
        final int value, final int check)
    {
        begin();
        if ((access & (Mman.PROT_READ | Mman.PROT_WRITE)) == 0)
        {
            return Outcome.returned(0);
        }
        for (long offset = 0; Long.compareUnsigned(offset, length) < 0; offset += stride)
        {
            final int signal = access(addr + offset, access, value, check);
            if (signal != Signal.NONE)
            {
                return Outcome.raised(signal, cpu.faultAddress());
            }
            if (offset + stride < offset || ((++accesses & STOP_POLL_MASK) == 0 && stop.stopNow()))
            {
                break; // the next offset would wrap past 2^64, or asked to stop
            }
        }
        return Outcome.returned(0);
    }

    /**
     * {@code count} accesses at positions drawn uniformly from {@code addr + k * stride} inside
     * {@code [addr, addr + length)}.
     */
    public Outcome random(final long addr, final long length, final int access, final long stride, final long count,
        final SplittableRandom random, final int value, final int check)
    {
        begin();
        if ((access & (Mman.PROT_READ | Mman.PROT_WRITE)) == 0 || length == 0)
        {
            return Outcome.returned(0);
        }
        // positions 0 .. (length - 1) / stride, unsigned; a full 2^64 range cannot occur (length < 2^64)
        final long positions = Long.divideUnsigned(length - 1, stride) + 1;
        for (long i = 0; Long.compareUnsigned(i, count) < 0; i++)
        {
            final long position = positions <= 0 ? random.nextLong() & Long.MAX_VALUE : random.nextLong(positions);
            final int signal = access(addr + position * stride, access, value, check);
            if (signal != Signal.NONE)
            {
                return Outcome.raised(signal, cpu.faultAddress());
            }
            if ((++accesses & STOP_POLL_MASK) == 0 && stop.stopNow())
            {
                break;
            }
        }
        return Outcome.returned(0);
    }

    private void begin()
    {
        mismatches = 0;
        mismatchAddress = 0;
        mismatchSeen = 0;
    }

    private int access(final long va, final int access, final int value, final int check)
    {
        if ((access & Mman.PROT_READ) != 0)
        {
            final int signal = cpu.readByte(va);
            if (signal != Signal.NONE)
            {
                return signal;
            }
            if (check != NO_CHECK && (access & Mman.PROT_WRITE) == 0 && cpu.value() != check)
            {
                if (mismatches++ == 0)
                {
                    mismatchAddress = va;
                    mismatchSeen = (int)cpu.value();
                }
            }
        }
        if ((access & Mman.PROT_WRITE) != 0)
        {
            return cpu.writeByte(va, value);
        }
        return Signal.NONE;
    }

    /** Reads of the last touch that saw another byte than the check value. */
    public long mismatches()
    {
        return mismatches;
    }

    /** The first such read's address. */
    public long mismatchAddress()
    {
        return mismatchAddress;
    }

    /** The byte the first such read saw. */
    public int mismatchSeen()
    {
        return mismatchSeen;
    }
}
