package io.mmemu.script;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses scripts written in strace's call syntax, one call a line:
 * <pre>
 * line      = blank | "#" anything | call [ "=" anything ]
 * call      = NAME "(" [ argument { "," argument } ] ")"
 * argument  = term { "|" term }
 * term      = NUMBER [ "&lt;&lt;" NAME ] | NAME          (NULL is the number 0)
 * NUMBER    = decimal | "0x" hex | "-" decimal
 * </pre>
 * Whitespace and C comments may go between any two tokens. What follows {@code =} is strace's
 * recorded result and is kept unparsed. Each argument is then checked against its {@link Call}
 * parameter's {@link ArgumentKind}: plain numbers where a number is expected, the kernel's flag
 * names joined by {@code |} where flags are.
 * <p>
 * A whole script is parsed before anything runs; every malformed line is reported (the first
 * error in each line), so one run shows every mistake.
 * <p>
 * Extension points: the line level ({@link #parseLine}) is where a pid prefix or strace's
 * {@code <unfinished ...>} / {@code <... resumed>} forms would go, and the statement level where a
 * {@code name = call(...)} binding would: {@link Lexer} already separates names, numbers and
 * {@code =}.
 */
public final class ScriptParser
{
    private final Lexer lexer;
    private final String line;
    private final int lineNumber;

    private ScriptParser(final int lineNumber, final String line)
    {
        this.lineNumber = lineNumber;
        this.line = line;
        this.lexer = new Lexer(line);
    }

    /** Parses a whole script; throws with every error when any line is malformed. */
    public static List<Statement> parse(final Reader script) throws IOException, ScriptException
    {
        final BufferedReader reader = script instanceof BufferedReader buffered ? buffered : new BufferedReader(script);
        final List<Statement> statements = new ArrayList<>();
        final List<ParseError> errors = new ArrayList<>();
        int lineNumber = 0;
        for (String text = reader.readLine(); text != null; text = reader.readLine())
        {
            lineNumber++;
            try
            {
                final Statement statement = parseLine(lineNumber, text);
                if (statement != null)
                {
                    statements.add(statement);
                }
            }
            catch (final LineException ex)
            {
                errors.add(new ParseError(lineNumber, ex.column, ex.getMessage()));
            }
        }
        if (!errors.isEmpty())
        {
            throw new ScriptException(errors);
        }
        return statements;
    }

    /** Parses a script held in a string. */
    public static List<Statement> parse(final String script) throws ScriptException
    {
        try
        {
            return parse(new StringReader(script));
        }
        catch (final IOException ex)
        {
            throw new AssertionError("a StringReader does not fail", ex);
        }
    }

    /** One line: its statement, or null for a blank or comment line. */
    static Statement parseLine(final int lineNumber, final String line) throws LineException
    {
        final String trimmed = line.strip();
        if (trimmed.isEmpty() || trimmed.charAt(0) == '#')
        {
            return null;
        }
        return new ScriptParser(lineNumber, line).statement();
    }

    private Statement statement() throws LineException
    {
        final Token name = lexer.next();
        if (name.kind() != Token.Kind.NAME)
        {
            throw new LineException(name.column(), "expected a call such as mmap(...), found " + describe(name));
        }
        final Call call = Call.named(lexer.text(name));
        if (call == null)
        {
            throw new LineException(name.column(), "unknown call '" + lexer.text(name) + "' (the calls are " +
                Call.allNames() + ")");
        }
        final Token open = lexer.next();
        if (open.kind() != Token.Kind.OPEN)
        {
            throw new LineException(open.column(), "expected '(' after '" + call.callName() + "', found " + describe(open));
        }
        final List<List<Term>> arguments = arguments();
        final Token close = lexer.next();
        final String recorded = afterCall();

        final int given = arguments.size();
        final int all = call.parameters().size();
        if (given < call.required() || given > all)
        {
            final String expected = call.required() == all ? String.valueOf(all) : call.required() + " or " + all;
            throw new LineException(name.column(), call.callName() + " takes " + expected + " argument" +
                (all == 1 ? "" : "s") + ", not " + given + ": " + call.signature());
        }
        final long[] values = new long[all];
        for (int i = 0; i < given; i++)
        {
            values[i] = value(call, call.parameters().get(i), arguments.get(i));
        }
        return new Statement(lineNumber, line.substring(name.start(), close.end()), call, values, recorded);
    }

    /** The arguments' terms, leaving the closing parenthesis as the next token. */
    private List<List<Term>> arguments() throws LineException
    {
        final List<List<Term>> arguments = new ArrayList<>();
        if (lexer.peek().kind() == Token.Kind.CLOSE)
        {
            return arguments;
        }
        while (true)
        {
            arguments.add(argument(arguments.size() + 1));
            final Token separator = lexer.peek();
            switch (separator.kind())
            {
                case CLOSE ->
                {
                    return arguments;
                }
                case COMMA -> lexer.next();
                case END -> throw new LineException(separator.column(), "unbalanced parentheses: missing ')'");
                default -> throw new LineException(separator.column(), "expected ',' or ')' after argument " +
                    arguments.size() + ", found " + describe(separator));
            }
        }
    }

    private List<Term> argument(final int position) throws LineException
    {
        final List<Term> terms = new ArrayList<>(2);
        while (true)
        {
            final Token token = lexer.next();
            switch (token.kind())
            {
                case NUMBER, NAME ->
                {
                    Token shift = null;
                    if (lexer.peek().kind() == Token.Kind.SHIFT_LEFT)
                    {
                        final Token operator = lexer.next();
                        if (token.kind() != Token.Kind.NUMBER)
                        {
                            throw new LineException(operator.column(), "'<<' must follow a number, as in 4<<MAP_HUGE_SHIFT");
                        }
                        shift = lexer.next();
                        if (shift.kind() != Token.Kind.NAME)
                        {
                            throw new LineException(shift.column(), "expected a name after '<<', found " + describe(shift));
                        }
                    }
                    terms.add(new Term(token, shift));
                }
                case COMMA, CLOSE, END -> throw new LineException(token.column(), !terms.isEmpty() ?
                    "expected a name or number after '|', found " + describe(token) :
                    token.kind() == Token.Kind.END ? "unbalanced parentheses: missing ')'" : "missing argument " + position);
                case OPEN -> throw new LineException(token.column(), "unbalanced parentheses: unexpected '(' in argument " + position);
                default -> throw new LineException(token.column(), "expected argument " + position + ", found " + describe(token));
            }
            if (lexer.peek().kind() != Token.Kind.BAR)
            {
                return terms;
            }
            lexer.next();
        }
    }

    /** After the closing parenthesis: nothing, or {@code =} and strace's recorded result. */
    private String afterCall() throws LineException
    {
        final Token token;
        try
        {
            token = lexer.next();
        }
        catch (final LineException ex)
        {
            throw new LineException(ex.column, ex.getMessage() + " after the call (only ' = RESULT' may follow it)");
        }
        return switch (token.kind())
        {
            case END -> null;
            case EQUALS -> lexer.rest(token).strip();
            case CLOSE -> throw new LineException(token.column(), "unbalanced parentheses: extra ')'");
            default -> throw new LineException(token.column(), "unexpected " + describe(token) +
                " after the call (only ' = RESULT' may follow it)");
        };
    }

    private long value(final Call call, final Call.Parameter parameter, final List<Term> terms) throws LineException
    {
        final ArgumentKind kind = parameter.kind();
        final String where = call.callName() + "'s " + parameter.name();
        if (terms.size() > 1 && !kind.combinable())
        {
            throw new LineException(terms.get(1).value().column(), where + " takes " +
                (kind.prefix() == null ? "one number" : "one name or number") + ", not a '|' combination");
        }
        long value = 0;
        for (final Term term : terms)
        {
            value |= termValue(kind, where, term);
        }
        if ((value & ~kind.allowed()) != 0)
        {
            throw new LineException(terms.get(0).value().column(), where + " must be " + namesList(kind) +
                ", not 0x" + Long.toHexString(value));
        }
        return value;
    }

    private long termValue(final ArgumentKind kind, final String where, final Term term) throws LineException
    {
        final Token token = term.value();
        final String text = lexer.text(token);
        if (token.kind() == Token.Kind.NUMBER)
        {
            if (!kind.fits(token.value(), text.charAt(0) == '-'))
            {
                throw new LineException(token.column(), "'" + text + "' does not fit in 32 bits (" + where + ")");
            }
            if (term.shift() == null)
            {
                return token.value();
            }
            final String shiftName = lexer.text(term.shift());
            final int shift = kind.shift(shiftName);
            if (shift < 0)
            {
                throw new LineException(term.shift().column(), "unknown shift '" + shiftName + "' in " + where);
            }
            if (Long.compareUnsigned(token.value(), ArgumentKind.SHIFTED_MAX) > 0)
            {
                throw new LineException(token.column(), "'" + text + "<<" + shiftName + "' out of range: at most " +
                    ArgumentKind.SHIFTED_MAX + "<<" + shiftName);
            }
            return token.value() << shift;
        }
        if ("NULL".equals(text))
        {
            return 0;
        }
        if (kind.prefix() == null)
        {
            throw new LineException(token.column(), "expected a number for " + where + ", found '" + text + "'");
        }
        final Long named = kind.names().get(text);
        if (named != null)
        {
            return named;
        }
        if (kind.restricted())
        {
            throw new LineException(token.column(), where + " must be " + namesList(kind) + ", not '" + text + "'");
        }
        final ArgumentKind family = ArgumentKind.familyOf(text);
        if (family != null && family.prefix() != null && !family.prefix().equals(kind.prefix()))
        {
            throw new LineException(token.column(), "'" + text + "' is a " + family.prefix() + "* name, " + where +
                " takes " + kind.prefix() + "* names");
        }
        throw new LineException(token.column(), "unknown " + kind.prefix() + "* name '" + text + "' in " + where);
    }

    private static String namesList(final ArgumentKind kind)
    {
        return String.join(", ", kind.names().keySet()) + " or a combination";
    }

    private String describe(final Token token)
    {
        return token.kind() == Token.Kind.END ? "the end of the line" : "'" + lexer.text(token) + "'";
    }

    /** One {@code |}-separated part of an argument: a number or name, and the name after {@code <<}, if any. */
    private record Term(Token value, Token shift)
    {
    }
}
