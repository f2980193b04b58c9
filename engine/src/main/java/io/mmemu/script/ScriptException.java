package io.mmemu.script;

import java.util.List;

/** A script with malformed lines: every error found, in line order. Nothing of it may run. */
public final class ScriptException extends Exception
{
    private static final long serialVersionUID = 1L;

    private final transient List<ParseError> errors;

    public ScriptException(final List<ParseError> errors)
    {
        super(errors.size() + " malformed line" + (errors.size() == 1 ? "" : "s") + ", first: line " +
            errors.get(0).line() + ": " + errors.get(0).reason());
        this.errors = List.copyOf(errors);
    }

    public List<ParseError> errors()
    {
        return errors;
    }

    /** Prints every error as {@code NAME:LINE: reason (column N)}, one a line. */
    public void report(final String name, final java.io.PrintStream err)
    {
        for (final ParseError error : errors)
        {
            err.println(error.format(name));
        }
    }
}
