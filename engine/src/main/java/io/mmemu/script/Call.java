package io.mmemu.script;

import java.util.List;
import java.util.StringJoiner;

import static io.mmemu.script.ArgumentKind.ACCESS;
import static io.mmemu.script.ArgumentKind.ADVICE;
import static io.mmemu.script.ArgumentKind.FD;
import static io.mmemu.script.ArgumentKind.MAP;
import static io.mmemu.script.ArgumentKind.NUMBER;
import static io.mmemu.script.ArgumentKind.PROT;

/**
 * The calls a script may make: the memory syscalls with their kernel argument lists (names as in
 * the man pages), and {@code touch}, which accesses memory as a program would.
 */
public enum Call
{
    MMAP("mmap", Result.ADDRESS, 6,
        new Parameter("addr", NUMBER), new Parameter("length", NUMBER), new Parameter("prot", PROT),
        new Parameter("flags", MAP), new Parameter("fd", FD), new Parameter("offset", NUMBER)),
    MUNMAP("munmap", Result.STATUS, 2,
        new Parameter("addr", NUMBER), new Parameter("length", NUMBER)),
    MPROTECT("mprotect", Result.STATUS, 3,
        new Parameter("addr", NUMBER), new Parameter("length", NUMBER), new Parameter("prot", PROT)),
    /** {@code new_address} is optional, as strace prints it only with MREMAP_FIXED; absent means 0. */
    MREMAP("mremap", Result.ADDRESS, 4,
        new Parameter("old_address", NUMBER), new Parameter("old_size", NUMBER), new Parameter("new_size", NUMBER),
        new Parameter("flags", ArgumentKind.MREMAP), new Parameter("new_address", NUMBER)),
    MADVISE("madvise", Result.STATUS, 3,
        new Parameter("addr", NUMBER), new Parameter("length", NUMBER), new Parameter("advice", ADVICE)),
    /** The program break: returns the new break, or the old one when refused (never an errno). */
    BRK("brk", Result.ADDRESS, 1, new Parameter("addr", NUMBER)),
    /** mprotect with a protection key; mmemu has keys of no kind, so only pkey -1 (none) is mprotect. */
    PKEY_MPROTECT("pkey_mprotect", Result.STATUS, 4,
        new Parameter("addr", NUMBER), new Parameter("length", NUMBER), new Parameter("prot", PROT),
        new Parameter("pkey", FD)),
    /** Accesses one byte per page of [addr, addr + length), stopping at the first signal. */
    TOUCH("touch", Result.SIGNAL, 3,
        new Parameter("addr", NUMBER), new Parameter("length", NUMBER), new Parameter("access", ACCESS));

    /** How a call's outcome prints after {@code = }. */
    public enum Result
    {
        /** A mapping's address in hex, or an error. */
        ADDRESS,
        /** 0, or an error. */
        STATUS,
        /** 0, or the signal the access raised. */
        SIGNAL
    }

    /** One formal argument: its man-page name and what it may be written as. */
    public record Parameter(String name, ArgumentKind kind)
    {
    }

    private static final Call[] CALLS = values();

    private final String callName;
    private final Result result;
    private final int required;
    private final List<Parameter> parameters;

    Call(final String callName, final Result result, final int required, final Parameter... parameters)
    {
        this.callName = callName;
        this.result = result;
        this.required = required;
        this.parameters = List.of(parameters);
    }

    /** The call as written in scripts: {@code mmap}. */
    public String callName()
    {
        return callName;
    }

    public Result result()
    {
        return result;
    }

    /** Arguments that must be given; the rest of {@link #parameters()} are optional and default to 0. */
    public int required()
    {
        return required;
    }

    public List<Parameter> parameters()
    {
        return parameters;
    }

    /** The call named {@code name}, or null. */
    public static Call named(final String name)
    {
        for (final Call call : CALLS)
        {
            if (call.callName.equals(name))
            {
                return call;
            }
        }
        return null;
    }

    /** {@code "mmap, munmap, ... or touch"}, for messages. */
    static String allNames()
    {
        final StringJoiner joiner = new StringJoiner(", ");
        for (int i = 0; i < CALLS.length - 1; i++)
        {
            joiner.add(CALLS[i].callName);
        }
        return joiner + " or " + CALLS[CALLS.length - 1].callName;
    }

    /** The signature as documentation shows it: {@code mremap(old_address, old_size, new_size, flags[, new_address])}. */
    public String signature()
    {
        final StringBuilder sb = new StringBuilder(callName).append('(');
        for (int i = 0; i < parameters.size(); i++)
        {
            final boolean optional = i >= required;
            sb.append(optional ? "[" : "").append(i > 0 ? ", " : "").append(parameters.get(i).name());
        }
        sb.append("]".repeat(parameters.size() - required)).append(')');
        return sb.toString();
    }
}
