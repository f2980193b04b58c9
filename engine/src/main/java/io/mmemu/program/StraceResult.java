package io.mmemu.program;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.mmemu.script.LineException;
import io.mmemu.script.ResultFormat;
import io.mmemu.vm.Errno;
import io.mmemu.vm.Signal;

/**
 * A result as strace (and {@code mmemu replay}) prints it after {@code = }, read back as an
 * expectation, so a replay script is a program whose recorded results are checked:
 * <pre>
 * 0x7ffff7ff0000 | 0 | 42            → expect value N
 * -1 ENOMEM (Cannot allocate memory) → expect errno ENOMEM
 * SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x1000} → expect SIGSEGV SEGV_MAPERR at that address
 * ?                                  → nothing expected (strace could not tell)
 * &lt;outside window&gt;                   → expect ok (replay's placeholder for a host-placed address)
 * </pre>
 * strace's timing suffix ({@code <0.000012>}) and a {@code #} comment may follow.
 */
final class StraceResult
{
    private static final Pattern NUMBER = Pattern.compile("0x[0-9a-fA-F]+|-?[0-9]+");
    private static final Pattern ERROR = Pattern.compile("-1 (E[A-Z0-9]+)( \\(.*\\))?");
    private static final Pattern SIGNAL = Pattern.compile(
        "(SIGSEGV|SIGBUS) \\{si_code=([A-Z_]+), si_addr=(0x[0-9a-fA-F]+|NULL)}");
    /** strace -T's time spent in the call, after the result. */
    private static final String TIMING = "\\s*<[0-9.]+>$";

    private StraceResult()
    {
    }

    /**
     * The expectations of {@code text} (what followed {@code =}); {@code column} is text's first
     * column in the line, for errors.
     */
    static List<Expectation> parse(final String text, final int column) throws LineException
    {
        final int hash = text.indexOf('#');
        final String result = (hash < 0 ? text : text.substring(0, hash)).strip().replaceFirst(TIMING, "");
        final String reason = "cannot read the result '" + result + "': expected a number, -1 ERRNO (message), " +
            "SIGSEGV {si_code=..., si_addr=...}, ? or " + ResultFormat.OUTSIDE_WINDOW;
        if (result.equals("?"))
        {
            return List.of();
        }
        if (result.equals(ResultFormat.OUTSIDE_WINDOW))
        {
            return List.of(Expectation.ok());
        }
        Matcher m = ERROR.matcher(result);
        if (m.matches())
        {
            final int errno = Errno.valueOf(m.group(1));
            if (errno < 0)
            {
                throw new LineException(column + 3, "unknown errno '" + m.group(1) + "'");
            }
            return List.of(Expectation.errno(errno));
        }
        m = NUMBER.matcher(result);
        if (m.matches())
        {
            final String number = result;
            try
            {
                final long value = number.startsWith("0x") ? Long.parseUnsignedLong(number.substring(2), 16) :
                    number.startsWith("-") ? Long.parseLong(number) : Long.parseUnsignedLong(number);
                return List.of(Expectation.value(new Expr.Constant(value)));
            }
            catch (final NumberFormatException ex)
            {
                throw new LineException(column, "number out of range '" + number + "': it must fit in 64 bits");
            }
        }
        m = SIGNAL.matcher(result);
        if (m.matches())
        {
            final int code = signalCode(m.group(1), m.group(2));
            if (code == Signal.NONE)
            {
                throw new LineException(column, "si_code " + m.group(2) + " does not go with " + m.group(1));
            }
            final String address = m.group(3);
            try
            {
                return List.of(Expectation.signal(code, "NULL".equals(address) ? 0 :
                    Long.parseUnsignedLong(address.substring(2), 16)));
            }
            catch (final NumberFormatException ex)
            {
                throw new LineException(column, "si_addr out of range '" + address + "'");
            }
        }
        throw new LineException(column, reason);
    }

    /** The {@link Signal} code named {@code codeName} for {@code signal}, or {@link Signal#NONE}. */
    static int signalCode(final String signal, final String codeName)
    {
        final int[] codes = "SIGBUS".equals(signal) ? new int[] {Signal.BUS_ADRERR} :
            new int[] {Signal.SEGV_MAPERR, Signal.SEGV_ACCERR, Signal.SI_KERNEL};
        for (final int code : codes)
        {
            if (Signal.codeName(code).equals(codeName))
            {
                return code;
            }
        }
        return Signal.NONE;
    }
}
