package io.mmemu.script;

import io.mmemu.vm.Signal;

/**
 * What one statement did: a syscall's return value in the kernel's convention (a value, or
 * {@code -errno}), or the {@link Signal} an access raised and its address.
 */
public record Outcome(long value, int signal, long faultAddress)
{
    /** Linux's IS_ERR_VALUE: the last 4095 values of the address space are error numbers. */
    private static final long MAX_ERRNO = 4095;

    public static Outcome returned(final long value)
    {
        return new Outcome(value, Signal.NONE, 0);
    }

    public static Outcome raised(final int signal, final long faultAddress)
    {
        return new Outcome(0, signal, faultAddress);
    }

    /** The errno of a failed syscall, or 0. */
    public int errno()
    {
        return Long.compareUnsigned(value, -MAX_ERRNO) >= 0 ? (int)-value : 0;
    }
}
