package io.mmemu.script;

/**
 * One token of a script line: its kind, where it is ({@code start} inclusive, {@code end}
 * exclusive, 0-based offsets into the line) and, for a number, its 64-bit value (for a duration, nanoseconds) (numbers above
 * {@link Long#MAX_VALUE} are kept as their two's-complement bits, as C's unsigned long would).
 */
public record Token(Kind kind, int start, int end, long value)
{
    public enum Kind
    {
        NAME, NUMBER, OPEN, CLOSE, COMMA, BAR, SHIFT_LEFT, EQUALS, END,
        /** Program dialect only: a duration such as {@code 500ms}, its value in nanoseconds. */
        DURATION,
        /** Program dialect only: operators and braces. */
        PLUS, MINUS, STAR, SLASH, PERCENT, OPEN_BRACE, CLOSE_BRACE,
        /** Program dialect only: a string literal in double quotes (its text: {@link Lexer#string}). */
        STRING
    }

    /** 1-based, as editors count. */
    public int column()
    {
        return start + 1;
    }
}
