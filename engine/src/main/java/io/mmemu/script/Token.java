package io.mmemu.script;

/**
 * One token of a script line: its kind, where it is ({@code start} inclusive, {@code end}
 * exclusive, 0-based offsets into the line) and, for a number, its 64-bit value (numbers above
 * {@link Long#MAX_VALUE} are kept as their two's-complement bits, as C's unsigned long would).
 */
record Token(Kind kind, int start, int end, long value)
{
    enum Kind
    {
        NAME, NUMBER, OPEN, CLOSE, COMMA, BAR, SHIFT_LEFT, EQUALS, END
    }

    /** 1-based, as editors count. */
    int column()
    {
        return start + 1;
    }
}
