package io.mmemu.script;

/**
 * Splits one script line into {@link Token}s on demand. Whitespace and C comments ({@code /* ... *}{@code /},
 * which strace puts after numbers it cannot name, as in {@code 0x10 /* PROT_??? *}{@code /}) separate
 * tokens and are otherwise ignored.
 * <p>
 * Tokens are produced one at a time, so that whatever follows a call's {@code =} (strace's recorded
 * result, which may be anything) is never lexed.
 */
final class Lexer
{
    private final String line;
    private int position;
    private Token peeked;

    Lexer(final String line)
    {
        this.line = line;
    }

    String text(final Token token)
    {
        return line.substring(token.start(), token.end());
    }

    /** The rest of the line after {@code token}, for the recorded result after {@code =}. */
    String rest(final Token token)
    {
        return line.substring(token.end());
    }

    Token peek() throws LineException
    {
        if (peeked == null)
        {
            peeked = scan();
        }
        return peeked;
    }

    Token next() throws LineException
    {
        final Token token = peek();
        peeked = null;
        return token;
    }

    private Token scan() throws LineException
    {
        skipSpaceAndComments();
        final int start = position;
        if (position == line.length())
        {
            return new Token(Token.Kind.END, start, start, 0);
        }
        final char c = line.charAt(position);
        if (isNameStart(c))
        {
            while (position < line.length() && isNamePart(line.charAt(position)))
            {
                position++;
            }
            return new Token(Token.Kind.NAME, start, position, 0);
        }
        if (isDigit(c) || c == '-')
        {
            return number();
        }
        position++;
        return switch (c)
        {
            case '(' -> new Token(Token.Kind.OPEN, start, position, 0);
            case ')' -> new Token(Token.Kind.CLOSE, start, position, 0);
            case ',' -> new Token(Token.Kind.COMMA, start, position, 0);
            case '|' -> new Token(Token.Kind.BAR, start, position, 0);
            case '=' -> new Token(Token.Kind.EQUALS, start, position, 0);
            case '<' ->
            {
                if (position < line.length() && line.charAt(position) == '<')
                {
                    position++;
                    yield new Token(Token.Kind.SHIFT_LEFT, start, position, 0);
                }
                throw new LineException(start + 1, "unexpected '<'");
            }
            default -> throw new LineException(start + 1, "unexpected character '" + printable(c) + "'");
        };
    }

    private void skipSpaceAndComments() throws LineException
    {
        while (position < line.length())
        {
            final char c = line.charAt(position);
            if (Character.isWhitespace(c))
            {
                position++;
            }
            else if (line.startsWith("/*", position))
            {
                final int close = line.indexOf("*/", position + 2);
                if (close < 0)
                {
                    throw new LineException(position + 1, "unterminated comment: '/*' without '*/'");
                }
                position = close + 2;
            }
            else
            {
                return;
            }
        }
    }

    /** Decimal, 0x-hex, or negative decimal; no octal (strace never prints it for these calls). */
    private Token number() throws LineException
    {
        final int start = position;
        final boolean negative = line.charAt(position) == '-';
        if (negative)
        {
            position++;
            if (position == line.length() || !isDigit(line.charAt(position)))
            {
                throw new LineException(start + 1, "'-' must be followed by a decimal number");
            }
        }
        final boolean hex = line.startsWith("0x", position) || line.startsWith("0X", position);
        final int digitsStart = hex ? position + 2 : position;
        position = digitsStart;
        while (position < line.length() && (hex ? isHexDigit(line.charAt(position)) : isDigit(line.charAt(position))))
        {
            position++;
        }
        final int digitsEnd = position;
        while (position < line.length() && isNamePart(line.charAt(position)))
        {
            position++;
        }
        final String text = line.substring(start, position);
        if (digitsEnd != position || digitsEnd == digitsStart)
        {
            throw new LineException(start + 1, "bad number '" + text + "'");
        }
        if (negative && hex)
        {
            throw new LineException(start + 1, "bad number '" + text + "': negative numbers are decimal");
        }
        final String digits = line.substring(digitsStart, digitsEnd);
        if (!hex && digits.length() > 1 && digits.charAt(0) == '0')
        {
            throw new LineException(start + 1, "bad number '" + text + "': a leading 0 would be octal, which is not supported");
        }
        try
        {
            final long value = hex ? Long.parseUnsignedLong(digits, 16) :
                negative ? Long.parseLong("-" + digits) : Long.parseUnsignedLong(digits);
            return new Token(Token.Kind.NUMBER, start, position, value);
        }
        catch (final NumberFormatException ex)
        {
            throw new LineException(start + 1, "number out of range '" + text + "': it must fit in 64 bits");
        }
    }

    private static boolean isNameStart(final char c)
    {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    }

    private static boolean isNamePart(final char c)
    {
        return isNameStart(c) || isDigit(c);
    }

    private static boolean isDigit(final char c)
    {
        return c >= '0' && c <= '9';
    }

    private static boolean isHexDigit(final char c)
    {
        return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    private static String printable(final char c)
    {
        return c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int)c);
    }
}
