package io.mmemu.script;

/**
 * The first thing wrong in one line, thrown inside the parser and turned into a {@link ParseError}
 * for that line, so that parsing goes on with the next line.
 */
public final class LineException extends Exception
{
    private static final long serialVersionUID = 1L;

    public final int column;

    public LineException(final int column, final String reason)
    {
        super(reason, null, false, false);
        this.column = column;
    }
}
