package io.mmemu.program;

/**
 * An error a running program makes that parsing cannot foresee (a division by zero in a value
 * known only at run time, a touch value outside 0..255): the run stops and reports it with the
 * statement's position.
 */
public final class ProgramError extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final int line;
    private final int column;

    public ProgramError(final int line, final int column, final String reason)
    {
        super(reason, null, false, false);
        this.line = line;
        this.column = column;
    }

    public int line()
    {
        return line;
    }

    public int column()
    {
        return column;
    }

    /** {@code NAME:LINE:COLUMN: reason}. */
    public String format(final String programName)
    {
        return programName + ":" + line + ":" + column + ": " + getMessage();
    }
}
