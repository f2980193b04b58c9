package io.mmemu.program;

import io.mmemu.script.Outcome;
import io.mmemu.vm.Errno;
import io.mmemu.vm.Signal;

/**
 * One acceptable outcome of a statement ({@code expect ok}, {@code expect errno ENOMEM},
 * {@code expect SIGSEGV SEGV_MAPERR}, {@code expect value 0x1000}, or strace's {@code = RESULT}).
 * A statement's expectations are alternatives: it meets them when it meets any one.
 *
 * @param kind    what is compared
 * @param number  the errno (ERRNO), the signal code or {@link #ANY_SEGV} (SIGNAL)
 * @param address the signal's address, or {@link #ANY_ADDRESS}
 * @param value   the expected value (VALUE)
 */
record Expectation(Kind kind, int number, long address, Expr value)
{
    /** SIGSEGV with any si_code. */
    static final int ANY_SEGV = -1;
    /** A signal at any address. */
    static final long ANY_ADDRESS = -1;

    enum Kind
    {
        /** Returned without a signal or an errno (any value). */
        OK,
        /** Returned this errno. */
        ERRNO,
        /** Raised this signal. */
        SIGNAL,
        /** Returned without a signal and with this value (for a call, its return value). */
        VALUE
    }

    static Expectation ok()
    {
        return new Expectation(Kind.OK, 0, ANY_ADDRESS, null);
    }

    static Expectation errno(final int errno)
    {
        return new Expectation(Kind.ERRNO, errno, ANY_ADDRESS, null);
    }

    static Expectation signal(final int code, final long address)
    {
        return new Expectation(Kind.SIGNAL, code, address, null);
    }

    static Expectation value(final Expr value)
    {
        return new Expectation(Kind.VALUE, 0, ANY_ADDRESS, value);
    }

    boolean metBy(final Outcome outcome, final long[] frame)
    {
        return switch (kind)
        {
            case OK -> outcome.signal() == Signal.NONE && outcome.errno() == 0;
            case ERRNO -> outcome.signal() == Signal.NONE && outcome.errno() == number;
            case SIGNAL -> outcome.signal() != Signal.NONE &&
                (number == ANY_SEGV ? outcome.signal() != Signal.BUS_ADRERR : outcome.signal() == number) &&
                (address == ANY_ADDRESS || outcome.faultAddress() == address);
            case VALUE -> outcome.signal() == Signal.NONE && outcome.value() == value.evaluate(frame);
        };
    }

    /** As the program would write it, for messages. */
    String describe(final long[] frame)
    {
        return describe(kind == Kind.VALUE ? value.evaluate(frame) : 0);
    }

    /** As {@link #describe(long[])}, given the value a VALUE expectation's expression had. */
    String describe(final long expectedValue)
    {
        return switch (kind)
        {
            case OK -> "ok";
            case ERRNO -> "errno " + Errno.name(number);
            case SIGNAL -> (number == ANY_SEGV ? "SIGSEGV" : Signal.signalName(number) + " " + Signal.codeName(number)) +
                (address == ANY_ADDRESS ? "" : " at 0x" + Long.toHexString(address));
            case VALUE -> "value 0x" + Long.toHexString(expectedValue);
        };
    }
}
