package io.mmemu.script;

import io.mmemu.vm.Errno;
import io.mmemu.vm.Signal;

/** How a replay prints: results as strace does, pagemap words as the replay format defines. */
public final class ResultFormat
{
    /** Printed for a mapping address outside the {@link Window}. */
    public static final String OUTSIDE_WINDOW = "<outside window>";

    private ResultFormat()
    {
    }

    /** The statement's line of output: its text as written, {@code " = "}, its result. */
    public static String line(final Statement statement, final Outcome outcome, final Window window)
    {
        return statement.text() + " = " + result(statement.call(), outcome, window);
    }

    /**
     * A result as strace prints it after {@code = }: {@code 0x7ffff7fff000}, {@code 0},
     * {@code -1 ENOMEM (Cannot allocate memory)}, {@code SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x1000}}.
     */
    public static String result(final Call call, final Outcome outcome, final Window window)
    {
        if (outcome.signal() != Signal.NONE)
        {
            return Signal.describe(outcome.signal(), outcome.faultAddress());
        }
        final int errno = outcome.errno();
        if (errno != 0)
        {
            return Errno.straceError(errno);
        }
        if (call.result() == Call.Result.ADDRESS)
        {
            // strace prints addresses with %#lx: 0 is plain "0" (a brk with no heap)
            if (outcome.value() == 0)
            {
                return "0";
            }
            return window.shows(outcome.value()) ? "0x" + Long.toHexString(outcome.value()) : OUTSIDE_WINDOW;
        }
        return Long.toString(outcome.value());
    }

    /** {@code 0x<va> 0x<16 hex digits>}: a page and its pagemap word. */
    public static String pagemapLine(final long va, final long word)
    {
        return String.format("0x%x 0x%016x", va, word);
    }
}
