package io.mmemu.program;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.util.List;
import java.util.Map;

import io.mmemu.script.ScriptException;

/**
 * A parsed mmemu program ({@code .mm}, see docs/language.md): its statements with every name
 * resolved, ready to {@linkplain Run run} any number of times. Immutable.
 *
 * @param name       the file name, for messages
 * @param body       the top-level statements
 * @param slots      the size of a thread's frame (variables, loop indexes, tid, nthreads)
 * @param events     the event names, by index
 * @param threads    the named threads, by index
 * @param parameters every {@code param} with the value in force (as written or set from outside), in order
 * @param options    the program's own {@code option NAME VALUE} lines (run options the command line may override)
 */
public record Program(String name, List<Node> body, int slots, List<String> events, List<String> threads,
                      Map<String, String> parameters, Map<String, String> options)
{
    /** {@code base} with this program's options applied. */
    public RunOptions applyOptions(final RunOptions base)
    {
        RunOptions applied = base;
        for (final Map.Entry<String, String> option : options.entrySet())
        {
            applied = applied.with(option.getKey(), option.getValue());
        }
        return applied;
    }

    /** Frame slot of {@code tid}: the thread's index in its {@code parallel} block (0 elsewhere). */
    static final int TID_SLOT = 0;
    /** Frame slot of {@code nthreads}: the size of the thread's {@code parallel} block (1 elsewhere). */
    static final int NTHREADS_SLOT = 1;

    /**
     * Parses a whole program; throws with every error (one per line, with its column) when any line is
     * malformed.
     *
     * @param overrides {@code param} values set from outside (the command line's {@code --set NAME=VALUE}),
     *                  written as in a program ({@code 1G}, {@code 500ms}); a name no {@code param} declares is an error
     */
    public static Program parse(final String name, final Reader source, final Map<String, String> overrides)
        throws IOException, ScriptException
    {
        return new ProgramParser(name, source, overrides).parse();
    }

    public static Program parse(final String name, final String source, final Map<String, String> overrides)
        throws ScriptException
    {
        try
        {
            return parse(name, new StringReader(source), overrides);
        }
        catch (final IOException ex)
        {
            throw new AssertionError("a StringReader does not fail", ex);
        }
    }
}
