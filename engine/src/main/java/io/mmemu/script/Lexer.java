package io.mmemu.script;

/**
 * Splits one script line into {@link Token}s on demand. Whitespace and C comments ({@code /* ... *}{@code /},
 * which strace puts after numbers it cannot name, as in {@code 0x10 /* PROT_??? *}{@code /}) separate
 * tokens and are otherwise ignored.
 * <p>
 * Tokens are produced one at a time, so that whatever follows a call's {@code =} (strace's recorded
 * result, which may be anything) is never lexed.
 * <p>
 * Two dialects share this one lexer. {@link Dialect#STRACE} is exactly what strace prints (replay
 * scripts). {@link Dialect#PROGRAM} (mmemu programs, a superset) adds sizes ({@code 64G}),
 * durations ({@code 500ms}), the operators {@code + - * / %}, braces, string literals
 * ({@code "views/mid.dump"}, with the escapes {@code \\ \" \n \t}) and {@code #} comments after
 * a statement. A {@code -} right after an operand (a name, a number, a duration or {@code )}) is
 * the minus operator; elsewhere it starts a negative number, so {@code -1} lexes as in strace.
 */
public final class Lexer
{
    /** Which syntax to accept. */
    public enum Dialect
    {
        /** strace's call syntax, for {@code mmemu replay}. */
        STRACE,
        /** The mmemu program language ({@code mmemu run}): STRACE plus sizes, durations, operators, braces, strings, {@code #}. */
        PROGRAM
    }

    /** Size suffixes of the program dialect: binary multiples, as the command line's sizes. */
    private static final String SIZE_SUFFIXES = "KMGTP";
    private static final String[] DURATION_SUFFIXES = {"ns", "us", "ms", "s", "min", "h"};
    private static final long[] DURATION_NANOS = {1L, 1_000L, 1_000_000L, 1_000_000_000L, 60_000_000_000L, 3_600_000_000_000L};

    private final String line;
    private final Dialect dialect;
    private int position;
    private Token peeked;
    /** The kind of the last token scanned, to tell a binary minus from a negative number. */
    private Token.Kind last = Token.Kind.END;

    /** A lexer of strace's syntax. */
    Lexer(final String line)
    {
        this(line, Dialect.STRACE);
    }

    public Lexer(final String line, final Dialect dialect)
    {
        this.line = line;
        this.dialect = dialect;
    }

    public String line()
    {
        return line;
    }

    public String text(final Token token)
    {
        return line.substring(token.start(), token.end());
    }

    /** The rest of the line after {@code token}, for the recorded result after {@code =}. */
    public String rest(final Token token)
    {
        return line.substring(token.end());
    }

    /** The text of a {@link Token.Kind#STRING} token, its escapes decoded. */
    public String string(final Token token)
    {
        final StringBuilder text = new StringBuilder(token.end() - token.start());
        try
        {
            stringEnd(token.start(), text);
        }
        catch (final LineException ex)
        {
            throw new IllegalArgumentException("not a string token: " + token, ex);
        }
        return text.toString();
    }

    public Token peek() throws LineException
    {
        if (peeked == null)
        {
            peeked = scan();
            last = peeked.kind();
        }
        return peeked;
    }

    public Token next() throws LineException
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
        final boolean program = dialect == Dialect.PROGRAM;
        if (program && c == '-' && isOperand(last))
        {
            position++;
            return new Token(Token.Kind.MINUS, start, position, 0);
        }
        if (isDigit(c) || c == '-')
        {
            return number();
        }
        if (program && c == '"')
        {
            position = stringEnd(start, null);
            return new Token(Token.Kind.STRING, start, position, 0);
        }
        position++;
        if (program)
        {
            final Token.Kind operator = switch (c)
            {
                case '+' -> Token.Kind.PLUS;
                case '*' -> Token.Kind.STAR;
                case '/' -> Token.Kind.SLASH;
                case '%' -> Token.Kind.PERCENT;
                case '{' -> Token.Kind.OPEN_BRACE;
                case '}' -> Token.Kind.CLOSE_BRACE;
                default -> null;
            };
            if (operator != null)
            {
                return new Token(operator, start, position, 0);
            }
        }
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
            else if (c == '#' && dialect == Dialect.PROGRAM)
            {
                position = line.length(); // a comment runs to the end of the line
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

    /**
     * Scans the string literal whose opening quote is at {@code open}: returns the offset after its
     * closing quote, appending the decoded characters to {@code text} (when not null). A string
     * ends on its line; the escapes are those of C that a file name may need.
     */
    private int stringEnd(final int open, final StringBuilder text) throws LineException
    {
        int i = open + 1;
        while (i < line.length())
        {
            final char c = line.charAt(i);
            if (c == '"')
            {
                return i + 1;
            }
            if (c == '\\')
            {
                final char escaped = i + 1 < line.length() ? line.charAt(i + 1) : 0;
                final char decoded = switch (escaped)
                {
                    case '\\' -> '\\';
                    case '"' -> '"';
                    case 'n' -> '\n';
                    case 't' -> '\t';
                    default -> throw new LineException(i + 1, escaped == 0 ?
                        "unterminated string: '\\' at the end of the line (a string ends on its line)" :
                        "unknown escape '\\" + printable(escaped) + "' in a string: the escapes are \\\\, \\\", \\n and \\t");
                };
                if (text != null)
                {
                    text.append(decoded);
                }
                i += 2;
                continue;
            }
            if (c < 0x20 && c != '\t')
            {
                throw new LineException(i + 1, "control character '" + printable(c) + "' in a string (write \\t or \\n)");
            }
            if (text != null)
            {
                text.append(c);
            }
            i++;
        }
        throw new LineException(open + 1, "unterminated string: the '\"' opened here has no closing '\"' on this line");
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
        final String suffix = line.substring(digitsEnd, position);
        if (digitsEnd == digitsStart || (digitsEnd != position && (dialect == Dialect.STRACE || hex)))
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
        final long value;
        try
        {
            value = hex ? Long.parseUnsignedLong(digits, 16) :
                negative ? Long.parseLong("-" + digits) : Long.parseUnsignedLong(digits);
        }
        catch (final NumberFormatException ex)
        {
            throw new LineException(start + 1, "number out of range '" + text + "': it must fit in 64 bits");
        }
        return suffix.isEmpty() ? new Token(Token.Kind.NUMBER, start, position, value) : suffixed(start, text, value, suffix);
    }

    /** A size ({@code 64G}: binary multiples) or a duration ({@code 500ms}), in the program dialect. */
    private Token suffixed(final int start, final String text, final long value, final String suffix) throws LineException
    {
        final int size = suffix.length() == 1 ? SIZE_SUFFIXES.indexOf(suffix.charAt(0)) : -1;
        if (size >= 0)
        {
            final int shift = 10 * (size + 1);
            if (value < 0 || value > (Long.MAX_VALUE >> shift))
            {
                throw new LineException(start + 1, "size out of range '" + text + "': it must be below 8E");
            }
            return new Token(Token.Kind.NUMBER, start, position, value << shift);
        }
        for (int i = 0; i < DURATION_SUFFIXES.length; i++)
        {
            if (DURATION_SUFFIXES[i].equals(suffix))
            {
                if (value < 0 || value > Long.MAX_VALUE / DURATION_NANOS[i])
                {
                    throw new LineException(start + 1, "duration out of range '" + text + "'");
                }
                return new Token(Token.Kind.DURATION, start, position, value * DURATION_NANOS[i]);
            }
        }
        throw new LineException(start + 1, "bad number '" + text + "': a size takes K, M, G, T or P, a duration ns, us, ms, s, min or h");
    }

    private static boolean isOperand(final Token.Kind kind)
    {
        return kind == Token.Kind.NAME || kind == Token.Kind.NUMBER || kind == Token.Kind.DURATION || kind == Token.Kind.CLOSE;
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
