package io.mmemu.script;

import java.util.Arrays;

/**
 * One parsed call of a script: where it was, the call text as written, and its argument values
 * (every parameter of the {@link Call}, optional ones absent in the text being 0).
 */
public final class Statement
{
    private final int line;
    private final String text;
    private final Call call;
    private final long[] arguments;
    private final String recordedResult;

    /**
     * @param line           1-based line number
     * @param text           the call as written, from its name to its closing parenthesis
     * @param call           what to call
     * @param arguments      one value per {@link Call#parameters()} entry
     * @param recordedResult what followed {@code =} in the line (strace's result), trimmed, or null
     */
    public Statement(final int line, final String text, final Call call, final long[] arguments, final String recordedResult)
    {
        if (arguments.length != call.parameters().size())
        {
            throw new IllegalArgumentException(call.callName() + " has " + call.parameters().size() +
                " parameters, given " + arguments.length + " values");
        }
        this.line = line;
        this.text = text;
        this.call = call;
        this.arguments = arguments.clone();
        this.recordedResult = recordedResult;
    }

    public int line()
    {
        return line;
    }

    public String text()
    {
        return text;
    }

    public Call call()
    {
        return call;
    }

    public long argument(final int index)
    {
        return arguments[index];
    }

    /** What the line said after {@code =} (unchecked: replay ignores it), or null when nothing. */
    public String recordedResult()
    {
        return recordedResult;
    }

    @Override
    public String toString()
    {
        return line + ": " + call.callName() + Arrays.toString(arguments);
    }
}
