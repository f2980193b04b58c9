package io.mmemu.cli;

import io.mmemu.script.Lexer;
import io.mmemu.script.LineException;
import io.mmemu.script.Token;

/** Durations as programs write them ({@code 500ms}, {@code 10s}, {@code 2min}), for options. */
final class Durations
{
    private Durations()
    {
    }

    /** Nanoseconds; throws IllegalArgumentException naming the option. */
    static long parse(final String option, final String text)
    {
        final Lexer lexer = new Lexer(text, Lexer.Dialect.PROGRAM);
        try
        {
            final Token token = lexer.next();
            if (token.kind() == Token.Kind.DURATION && token.value() > 0 && lexer.next().kind() == Token.Kind.END)
            {
                return token.value();
            }
        }
        catch (final LineException ex)
        {
            // reported below, as any other malformed duration
        }
        throw new IllegalArgumentException(option + " takes a positive duration such as 500ms, 10s or 2min, not '" + text + "'");
    }
}
