package io.mmemu.script;

import java.util.ArrayList;
import java.util.List;

/**
 * The grammar of one call, shared by replay scripts and programs: the call's name, its
 * parenthesised arguments, and each argument checked against its {@link Call} parameter's
 * {@link ArgumentKind} (plain numbers where a number is expected, the kernel's flag names joined by
 * {@code |} where flags are):
 * <pre>
 * call      = NAME "(" [ argument { "," argument } ] ")"
 * argument  = term { "|" term }
 * term      = NUMBER [ "&lt;&lt;" NAME ] | NAME          (NULL is the number 0)
 * </pre>
 * A caller may take over the number arguments ({@link Operands#takes}): programs parse an
 * expression there ({@code big + 1G}); replay leaves them to the term grammar. Flag arguments are
 * always constants, checked here.
 *
 * @param <A> how the caller represents an argument (replay: its value; programs: an expression)
 */
public final class CallSyntax<A>
{
    /** How a caller represents arguments. */
    public interface Operands<A>
    {
        /** Whether the caller parses arguments of this kind itself. */
        boolean takes(ArgumentKind kind);

        /** Parses an argument the caller {@linkplain #takes takes}, leaving ',' or ')' as the next token. */
        A parse(Lexer lexer, String where) throws LineException;

        /** A constant argument (a flag combination, or a number the caller does not take). */
        A constant(long value);
    }

    /** Every argument is a constant: strace's syntax. */
    static final Operands<Long> CONSTANTS = new Operands<>()
    {
        @Override
        public boolean takes(final ArgumentKind kind)
        {
            return false;
        }

        @Override
        public Long parse(final Lexer lexer, final String where)
        {
            throw new UnsupportedOperationException("constants only");
        }

        @Override
        public Long constant(final long value)
        {
            return value;
        }
    };

    /**
     * A parsed call.
     *
     * @param call      what is called
     * @param name      the call's name token
     * @param close     its closing parenthesis
     * @param arguments one per {@link Call#parameters()} entry (optional ones absent in the text are constant 0)
     */
    public record Parsed<A>(Call call, Token name, Token close, List<A> arguments)
    {
    }

    private final Lexer lexer;
    private final Operands<A> operands;

    private CallSyntax(final Lexer lexer, final Operands<A> operands)
    {
        this.lexer = lexer;
        this.operands = operands;
    }

    /**
     * Parses the call whose name token {@code name} was just read, up to and including its {@code )}.
     */
    public static <A> Parsed<A> parse(final Lexer lexer, final Token name, final Operands<A> operands) throws LineException
    {
        return new CallSyntax<>(lexer, operands).call(name);
    }

    private Parsed<A> call(final Token name) throws LineException
    {
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
        final List<Object> arguments = arguments(call);
        final Token close = lexer.next();
        if (close.kind() != Token.Kind.CLOSE)
        {
            throw new LineException(close.column(), "unbalanced parentheses: missing ')'");
        }

        final int given = arguments.size();
        final int all = call.parameters().size();
        if (given < call.required() || given > all)
        {
            final String expected = call.required() == all ? String.valueOf(all) : call.required() + " or " + all;
            throw new LineException(name.column(), call.callName() + " takes " + expected + " argument" +
                (all == 1 ? "" : "s") + ", not " + given + ": " + call.signature());
        }
        final List<A> values = new ArrayList<>(all);
        for (int i = 0; i < all; i++)
        {
            values.add(i >= given ? operands.constant(0) : value(call, call.parameters().get(i), arguments.get(i)));
        }
        return new Parsed<>(call, name, close, values);
    }

    /**
     * The arguments, leaving the closing parenthesis as the next token: each a list of {@link Term}s,
     * or what {@link Operands#parse} made of it.
     */
    private List<Object> arguments(final Call call) throws LineException
    {
        final List<Object> arguments = new ArrayList<>();
        if (lexer.peek().kind() == Token.Kind.CLOSE)
        {
            return arguments;
        }
        while (true)
        {
            final int index = arguments.size();
            final ArgumentKind kind = index < call.parameters().size() ? call.parameters().get(index).kind() : null;
            if (kind != null && operands.takes(kind))
            {
                arguments.add(new Taken<>(operands.parse(lexer, where(call, call.parameters().get(index)))));
            }
            else
            {
                arguments.add(argument(index + 1));
            }
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

    @SuppressWarnings("unchecked")
    private A value(final Call call, final Call.Parameter parameter, final Object argument) throws LineException
    {
        if (argument instanceof Taken<?> taken)
        {
            return (A)taken.value();
        }
        final List<Term> terms = (List<Term>)argument;
        final ArgumentKind kind = parameter.kind();
        final String where = where(call, parameter);
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
        return operands.constant(value);
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

    private static String where(final Call call, final Call.Parameter parameter)
    {
        return call.callName() + "'s " + parameter.name();
    }

    private static String namesList(final ArgumentKind kind)
    {
        return String.join(", ", kind.names().keySet()) + " or a combination";
    }

    private String describe(final Token token)
    {
        return describe(lexer, token);
    }

    /** A token as messages quote it: {@code 'mmap'}, or "the end of the line". */
    public static String describe(final Lexer lexer, final Token token)
    {
        return token.kind() == Token.Kind.END ? "the end of the line" : "'" + lexer.text(token) + "'";
    }

    /** One {@code |}-separated part of an argument: a number or name, and the name after {@code <<}, if any. */
    private record Term(Token value, Token shift)
    {
    }

    /** An argument the caller parsed itself. */
    private record Taken<A>(A value)
    {
    }
}
