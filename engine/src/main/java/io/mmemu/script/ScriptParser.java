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
 * call      = see {@link CallSyntax}
 * NUMBER    = decimal | "0x" hex | "-" decimal
 * </pre>
 * Whitespace and C comments may go between any two tokens. What follows {@code =} is strace's
 * recorded result and is kept unparsed.
 * <p>
 * A whole script is parsed before anything runs; every malformed line is reported (the first
 * error in each line), so one run shows every mistake.
 * <p>
 * Extension points: the line level ({@link #parseLine}) is where a pid prefix or strace's
 * {@code <unfinished ...>} / {@code <... resumed>} forms would go. Programs ({@code mmemu run},
 * package {@code io.mmemu.program}) parse a superset with the same {@link Lexer} and {@link CallSyntax}.
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

    /** A fork line after its optional {@code @N} prefix: {@code fork()}, then nothing or {@code = RESULT}. */
    private static final java.util.regex.Pattern FORK = java.util.regex.Pattern.compile("fork\\s*\\(\\s*\\)(\\s*=.*)?");

    /**
     * Parses a script whose lines may name their process ({@code @N call(...)}) and fork
     * ({@code fork()}): {@link ProcessStep}. Throws with every error when any line is malformed,
     * a line names a process no earlier {@code fork()} made, or there are more than
     * {@link ProcessStep#MAX_PROCESSES} processes.
     */
    public static List<ProcessStep> parseSteps(final Reader script) throws IOException, ScriptException
    {
        final BufferedReader reader = script instanceof BufferedReader buffered ? buffered : new BufferedReader(script);
        final List<ProcessStep> steps = new ArrayList<>();
        final List<ParseError> errors = new ArrayList<>();
        int processes = 1;
        int lineNumber = 0;
        for (String text = reader.readLine(); text != null; text = reader.readLine())
        {
            lineNumber++;
            final String trimmed = text.strip();
            if (trimmed.isEmpty() || trimmed.charAt(0) == '#')
            {
                continue;
            }
            final int lead = text.indexOf(trimmed);
            int process = 0;
            int callAt = 0;
            if (trimmed.charAt(0) == '@')
            {
                int i = 1;
                while (i < trimmed.length() && i < 4 && Character.isDigit(trimmed.charAt(i)))
                {
                    i++;
                }
                if (i == 1 || i == trimmed.length() || !Character.isWhitespace(trimmed.charAt(i)))
                {
                    errors.add(new ParseError(lineNumber, lead + 1, "expected a process number and a space after '@'"));
                    continue;
                }
                process = Integer.parseInt(trimmed.substring(1, i));
                callAt = i;
                while (Character.isWhitespace(trimmed.charAt(callAt)))
                {
                    callAt++;
                }
            }
            if (process >= processes)
            {
                errors.add(new ParseError(lineNumber, lead + 1,
                    "process " + process + " does not exist here (fork() makes processes 1, 2, ...)"));
                continue;
            }
            final String call = trimmed.substring(callAt);
            if (FORK.matcher(call).matches())
            {
                if (processes == ProcessStep.MAX_PROCESSES)
                {
                    errors.add(new ParseError(lineNumber, lead + callAt + 1, "more than " + ProcessStep.MAX_PROCESSES + " processes"));
                    continue;
                }
                final String echoed = trimmed.substring(0, trimmed.indexOf(')', callAt) + 1);
                steps.add(new ProcessStep(lineNumber, process, echoed, null, processes++));
                continue;
            }
            try
            {
                final Statement statement = parseLine(lineNumber, text.substring(lead + callAt), lead + callAt);
                steps.add(new ProcessStep(lineNumber, process, trimmed.substring(0, callAt) + statement.text(), statement, -1));
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
        return steps;
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

    /** A line's call text that starts {@code offset} characters into the line (after an strace pid): columns shift. */
    static Statement parseLine(final int lineNumber, final String line, final int offset) throws LineException
    {
        try
        {
            return parseLine(lineNumber, line);
        }
        catch (final LineException ex)
        {
            throw new LineException(ex.column + offset, ex.getMessage());
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
        final CallSyntax.Parsed<Long> parsed = CallSyntax.parse(lexer, name, CallSyntax.CONSTANTS);
        final String recorded = afterCall();
        final long[] values = new long[parsed.arguments().size()];
        for (int i = 0; i < values.length; i++)
        {
            values[i] = parsed.arguments().get(i);
        }
        return new Statement(lineNumber, line.substring(name.start(), parsed.close().end()), parsed.call(), values, recorded);
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

    private String describe(final Token token)
    {
        return CallSyntax.describe(lexer, token);
    }
}
