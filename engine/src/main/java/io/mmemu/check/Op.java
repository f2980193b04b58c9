package io.mmemu.check;

import java.util.Arrays;

import io.mmemu.script.Call;
import io.mmemu.script.Interpreter;
import io.mmemu.script.Outcome;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Mman;
import io.mmemu.vm.Signal;

/**
 * One operation of a scenario thread: a memory syscall with its kernel arguments, or a touch that
 * is a single byte access (one store of {@link #value}, or one load), so that it is atomic and its
 * result — the signal, or the byte read — is one value a sequential order must reproduce.
 *
 * @param call      the syscall, or {@link Call#TOUCH}
 * @param arguments one value per {@link Call#parameters()} entry; a touch is {@code (addr, 1, PROT_READ or PROT_WRITE)}
 * @param value     the byte a write touch stores (1..255), 0 otherwise
 */
public record Op(Call call, long[] arguments, int value)
{
    public Op
    {
        if (arguments.length != call.parameters().size())
        {
            throw new IllegalArgumentException(call.callName() + " takes " + call.parameters().size() + " arguments");
        }
        if (call == Call.TOUCH && (arguments[1] != 1 || (arguments[2] != Mman.PROT_READ && arguments[2] != Mman.PROT_WRITE)))
        {
            throw new IllegalArgumentException("a checked touch is one read or one write of one byte");
        }
    }

    public static Op syscall(final Call call, final long... arguments)
    {
        return new Op(call, arguments, 0);
    }

    public static Op read(final long va)
    {
        return new Op(Call.TOUCH, new long[] {va, 1, Mman.PROT_READ}, 0);
    }

    public static Op write(final long va, final int value)
    {
        return new Op(Call.TOUCH, new long[] {va, 1, Mman.PROT_WRITE}, value);
    }

    public boolean isTouch()
    {
        return call == Call.TOUCH;
    }

    public boolean isRead()
    {
        return call == Call.TOUCH && arguments[2] == Mman.PROT_READ;
    }

    public long argument(final int i)
    {
        return arguments[i];
    }

    /** This op with argument {@code i} replaced (for shrinking). */
    public Op with(final int i, final long argument)
    {
        final long[] copy = arguments.clone();
        copy[i] = argument;
        return new Op(call, copy, value);
    }

    /**
     * Runs the op on {@code cpu} as its thread; syscalls go through {@code interpreter} (on the same
     * CPU). A read's outcome carries the byte read as its value.
     */
    public Outcome apply(final Cpu cpu, final Interpreter interpreter)
    {
        if (call != Call.TOUCH)
        {
            return interpreter.execute(call, arguments);
        }
        final long va = arguments[0];
        final int signal = isRead() ? cpu.readByte(va) : cpu.writeByte(va, value);
        if (signal != Signal.NONE)
        {
            return Outcome.raised(signal, cpu.faultAddress());
        }
        return Outcome.returned(isRead() ? cpu.value() : 0);
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof Op op && op.call == call && op.value == value && Arrays.equals(op.arguments, arguments);
    }

    @Override
    public int hashCode()
    {
        return (call.hashCode() * 31 + Arrays.hashCode(arguments)) * 31 + value;
    }

    @Override
    public String toString()
    {
        return ProgramText.op(this);
    }
}
