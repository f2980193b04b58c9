package io.mmemu.script;

/**
 * A malformed script line.
 *
 * @param line   1-based line number
 * @param column 1-based column of the offending text
 * @param reason one line, saying what is wrong (and, where it helps, what was expected)
 */
public record ParseError(int line, int column, String reason)
{
    /** As a compiler prints it: {@code NAME:LINE: reason (column COLUMN)}. */
    public String format(final String scriptName)
    {
        return scriptName + ":" + line + ": " + reason + " (column " + column + ")";
    }

    /** As programs report it: {@code NAME:LINE:COLUMN: reason}. */
    public String formatWithColumn(final String name)
    {
        return name + ":" + line + ":" + column + ": " + reason;
    }
}
