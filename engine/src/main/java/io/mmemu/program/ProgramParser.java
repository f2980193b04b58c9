package io.mmemu.program;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.mmemu.script.ArgumentKind;
import io.mmemu.script.Call;
import io.mmemu.script.CallSyntax;
import io.mmemu.script.Lexer;
import io.mmemu.script.LineException;
import io.mmemu.script.ParseError;
import io.mmemu.script.ScriptException;
import io.mmemu.script.Token;
import io.mmemu.vm.Errno;
import io.mmemu.vm.Signal;

/**
 * Parses the program language (docs/language.md), a superset of replay scripts, one statement a
 * line, blocks in braces:
 * <pre>
 * line       = blank | statement [ "#" comment ]
 * statement  = [ NAME "=" ] call { modifier } [ "expect" outcome { "or" outcome } | "=" strace-result ]
 *            | NAME "=" expr | "param" NAME "=" ( expr | DURATION )
 *            | ( "repeat" expr [ "as" NAME ] | "for" duration | "until" NAME
 *            |   "parallel" [ expr ] | "thread" NAME | "fork" ) "{"   ...lines...   "}"
 *            | "join" NAME | "barrier" | "post" NAME | "wait" [ NAME ] | "sleep" duration
 *            | "signals" ( "fatal" | "continue" )
 *            | "show" ( "maps" | "smaps" | "ptdump" | "pagemap" "(" expr "," expr ")" | "walk" "(" expr ")" )
 *            | "dump" STRING [ "data" ] | "html" STRING
 * call       = see {@link CallSyntax}; number arguments are expressions
 * modifier   = ( "stride" | "random" | "seed" | "value" ) expr          (touch only)
 * outcome    = "ok" | "errno" ENAME | "SIGSEGV" [ CODE ] | "SIGBUS" [ "BUS_ADRERR" ] | "value" expr
 * expr       = term { ( "+" | "-" ) term } ;  term = primary { ( "*" | "/" | "%" ) primary }
 * primary    = NUMBER | NAME | "(" expr ")"
 * </pre>
 * Names are resolved here, so a misspelt variable, an event nobody posts, a {@code barrier}
 * outside {@code parallel} or an unknown {@code join} is a parse error with its position. Every
 * line is parsed (the first error in each is reported); nothing runs unless all are well formed.
 */
final class ProgramParser
{
    private static final Set<String> KEYWORDS = Set.of("param", "repeat", "as", "for", "until", "parallel", "thread",
        "fork", "join", "barrier", "post", "wait", "sleep", "signals", "expect", "or", "ok", "errno", "value", "stride",
        "random", "seed", "fatal", "continue", "NULL", "tid", "nthreads", "option", "show", "dump", "html");

    private final String name;
    private final BufferedReader reader;
    private final Map<String, String> overrides;
    private final Set<String> overridesUsed = new HashSet<>();
    private final List<ParseError> errors = new ArrayList<>();
    private final Map<String, Integer> events = new LinkedHashMap<>();
    private final Set<String> posted = new HashSet<>();
    private final List<Use> eventUses = new ArrayList<>();
    private final List<String> threads = new ArrayList<>();
    private final Map<String, String> parameters = new LinkedHashMap<>();
    private final Map<String, String> options = new LinkedHashMap<>();
    private int lineNumber;
    private int slots = 2; // tid, nthreads

    /** Where a block ends and what it may see: variables, constants (params), threads, the barrier's group. */
    private static final class Scope
    {
        final Scope parent;
        /** The body of a thread or parallel block: variables are copied in, threads and barriers do not cross. */
        final boolean threadBody;
        final boolean parallel;
        final Map<String, Integer> variables = new HashMap<>();
        final Map<String, Constant> constants = new HashMap<>();
        final Map<String, Integer> threads = new HashMap<>();

        Scope(final Scope parent, final boolean threadBody, final boolean parallel)
        {
            this.parent = parent;
            this.threadBody = threadBody;
            this.parallel = parallel;
        }
    }

    /** A param's value: a number, or a duration in nanoseconds. */
    private record Constant(long value, boolean duration)
    {
    }

    /** A {@code wait} or {@code until} of an event, checked at the end: somebody must post it. */
    private record Use(String event, int line, int column)
    {
    }

    /** The scope of the block a statement line opened. */
    private record Opened(Scope scope)
    {
    }

    ProgramParser(final String name, final Reader source, final Map<String, String> overrides)
    {
        this.name = name;
        this.reader = source instanceof BufferedReader buffered ? buffered : new BufferedReader(source);
        this.overrides = overrides;
    }

    Program parse() throws IOException, ScriptException
    {
        final Scope root = new Scope(null, true, false);
        final List<Node> body = block(root, 0, 0);
        for (final Use use : eventUses)
        {
            if (!posted.contains(use.event()))
            {
                errors.add(new ParseError(use.line(), use.column(), "nobody posts event '" + use.event() +
                    "': a 'post " + use.event() + "' is missing, so this would wait forever"));
            }
        }
        for (final String key : overrides.keySet())
        {
            if (!overridesUsed.contains(key))
            {
                throw new IllegalArgumentException("--set " + key + ": " + name + " declares no 'param " + key + "'");
            }
        }
        if (!errors.isEmpty())
        {
            errors.sort((a, b) -> a.line() != b.line() ? Integer.compare(a.line(), b.line()) : Integer.compare(a.column(), b.column()));
            throw new ScriptException(errors);
        }
        return new Program(name, body, slots, List.copyOf(events.keySet()), List.copyOf(threads),
            Collections.unmodifiableMap(parameters), Collections.unmodifiableMap(options));
    }

    // ---------------------------------------------------------------- lines and blocks

    /** The statements up to the {@code }} closing a block opened at openLine:openColumn (0: the top level, up to the end). */
    private List<Node> block(final Scope scope, final int openLine, final int openColumn) throws IOException
    {
        final List<Node> body = new ArrayList<>();
        for (String text = reader.readLine(); text != null; text = reader.readLine())
        {
            lineNumber++;
            final Lexer lexer = new Lexer(text, Lexer.Dialect.PROGRAM);
            try
            {
                final Token first = lexer.peek();
                if (first.kind() == Token.Kind.END)
                {
                    continue;
                }
                if (first.kind() == Token.Kind.CLOSE_BRACE)
                {
                    lexer.next();
                    if (openLine == 0)
                    {
                        throw new LineException(first.column(), "'}' without a block to close");
                    }
                    try
                    {
                        endOfLine(lexer, "after '}'");
                    }
                    catch (final LineException ex)
                    {
                        errors.add(new ParseError(lineNumber, ex.column, ex.getMessage()));
                    }
                    return body;
                }
            }
            catch (final LineException ex)
            {
                errors.add(new ParseError(lineNumber, ex.column, ex.getMessage()));
                skipBlock(text, scope);
                continue;
            }
            statementLine(lexer, text, scope, body);
        }
        if (openLine != 0)
        {
            errors.add(new ParseError(openLine, openColumn, "block opened here is never closed: '}' missing"));
        }
        return body;
    }

    /** One statement line; a block's lines too, if it opens one. */
    private void statementLine(final Lexer lexer, final String text, final Scope scope, final List<Node> body) throws IOException
    {
        final int line = lineNumber;
        final List<Node> header = new ArrayList<>(1);
        Opened opened = null;
        try
        {
            opened = statement(lexer, scope, header);
        }
        catch (final LineException ex)
        {
            errors.add(new ParseError(line, ex.column, ex.getMessage()));
            skipBlock(text, scope);
            return;
        }
        if (opened == null)
        {
            body.addAll(header);
            return;
        }
        final Node node = header.get(0);
        final List<Node> inner = block(opened.scope(), line, node.column());
        body.add(switch (node)
        {
            case Node.Repeat r -> new Node.Repeat(r.line(), r.column(), r.count(), r.indexSlot(), inner);
            case Node.For f -> new Node.For(f.line(), f.column(), f.nanos(), inner);
            case Node.Until u -> new Node.Until(u.line(), u.column(), u.event(), inner);
            case Node.Parallel p -> new Node.Parallel(p.line(), p.column(), p.count(), inner);
            case Node.Thread t -> new Node.Thread(t.line(), t.column(), t.name(), t.index(), inner);
            case Node.Fork f -> new Node.Fork(f.line(), f.column(), inner);
            default -> throw new IllegalStateException("not a block: " + node);
        });
    }

    /**
     * After a malformed line that still opens a block (its last character outside a comment is
     * '{'): parses the block, in a scope of its own, and drops it, so the braces stay balanced and
     * the block's own errors are reported too.
     */
    private void skipBlock(final String text, final Scope scope) throws IOException
    {
        if (opensBlock(text))
        {
            block(new Scope(scope, true, false), lineNumber, text.indexOf('{') + 1);
        }
    }


    private static boolean opensBlock(final String text)
    {
        final int hash = text.indexOf('#');
        return (hash < 0 ? text : text.substring(0, hash)).strip().endsWith("{");
    }

    /**
     * Parses one statement into {@code out}; returns what it opens (its block follows on the next
     * lines), or null.
     */
    private Opened statement(final Lexer lexer, final Scope scope, final List<Node> out) throws LineException
    {
        final Token first = lexer.next();
        if (first.kind() != Token.Kind.NAME)
        {
            throw new LineException(first.column(), "expected a statement (a call such as mmap(...), NAME = ..., " +
                "repeat, for, until, parallel, thread, fork, join, barrier, post, wait, sleep, signals, show, dump, html or param), found " +
                describe(lexer, first));
        }
        final String word = lexer.text(first);
        final int line = lineNumber;
        final int column = first.column();
        if (lexer.peek().kind() == Token.Kind.EQUALS && !"param".equals(word))
        {
            return assignment(lexer, first, scope, out);
        }
        if (lexer.peek().kind() == Token.Kind.OPEN || Call.named(word) != null)
        {
            out.add(call(lexer, first, scope, Node.NO_SLOT));
            return null;
        }
        switch (word)
        {
            case "param" ->
            {
                param(lexer, first, scope);
                return null;
            }
            case "option" ->
            {
                option(lexer, first, scope);
                return null;
            }
            case "repeat" ->
            {
                final Expr count = expr(lexer, scope);
                final Scope inner = new Scope(scope, false, false);
                int index = Node.NO_SLOT;
                if (lexer.peek().kind() == Token.Kind.NAME && "as".equals(lexer.text(lexer.peek())))
                {
                    lexer.next();
                    final Token indexName = lexer.next();
                    checkNewName(lexer, indexName, "a loop index");
                    index = slots++;
                    inner.variables.put(lexer.text(indexName), index);
                }
                openBrace(lexer, "repeat N");
                out.add(new Node.Repeat(line, column, count, index, List.of()));
                return new Opened(inner);
            }
            case "for" ->
            {
                final long nanos = duration(lexer, scope, "for");
                openBrace(lexer, "for DURATION");
                out.add(new Node.For(line, column, nanos, List.of()));
                return new Opened(new Scope(scope, false, false));
            }
            case "until" ->
            {
                final int event = eventUse(lexer, "until");
                openBrace(lexer, "until EVENT");
                out.add(new Node.Until(line, column, event, List.of()));
                return new Opened(new Scope(scope, false, false));
            }
            case "parallel" ->
            {
                final Expr count = lexer.peek().kind() == Token.Kind.OPEN_BRACE ? null : expr(lexer, scope);
                if (count != null && count.isConstant() && (count.evaluate(null) <= 0 || count.evaluate(null) > Run.MAX_THREADS))
                {
                    throw new LineException(column + "parallel ".length(), "parallel takes 1 to " + Run.MAX_THREADS +
                        " threads, not " + count.evaluate(null));
                }
                openBrace(lexer, "parallel N");
                out.add(new Node.Parallel(line, column, count, List.of()));
                return new Opened(new Scope(scope, true, true));
            }
            case "thread" ->
            {
                final Token threadName = lexer.next();
                checkNewName(lexer, threadName, "a thread");
                final String text = lexer.text(threadName);
                if (visibleThread(scope, text) >= 0)
                {
                    throw new LineException(threadName.column(), "thread '" + text + "' is already declared in this block");
                }
                openBrace(lexer, "thread NAME");
                final int index = threads.size();
                threads.add(text);
                scope.threads.put(text, index);
                out.add(new Node.Thread(line, column, text, index, List.of()));
                return new Opened(new Scope(scope, true, false));
            }
            case "fork" ->
            {
                openBrace(lexer, "fork");
                out.add(new Node.Fork(line, column, List.of()));
                // a process's main thread: variables copied in; threads, joins and barriers stay on their side
                return new Opened(new Scope(scope, true, false));
            }
            case "join" ->
            {
                final Token threadName = lexer.next();
                if (threadName.kind() != Token.Kind.NAME)
                {
                    throw new LineException(threadName.column(), "expected a thread's name after 'join', found " + describe(lexer, threadName));
                }
                final int index = visibleThread(scope, lexer.text(threadName));
                if (index < 0)
                {
                    throw new LineException(threadName.column(), "no thread '" + lexer.text(threadName) +
                        "' started above in this thread (thread NAME { ... } declares one)");
                }
                endOfLine(lexer, "after 'join NAME'");
                out.add(new Node.Join(line, column, lexer.text(threadName), index));
                return null;
            }
            case "barrier" ->
            {
                if (!insideParallel(scope))
                {
                    throw new LineException(column, "barrier outside a parallel block: it waits for the threads of one");
                }
                endOfLine(lexer, "after 'barrier'");
                out.add(new Node.Barrier(line, column));
                return null;
            }
            case "post" ->
            {
                final Token event = eventName(lexer, "post");
                posted.add(lexer.text(event));
                endOfLine(lexer, "after 'post EVENT'");
                out.add(new Node.Post(line, column, event(lexer.text(event))));
                return null;
            }
            case "wait" ->
            {
                if (lexer.peek().kind() == Token.Kind.END)
                {
                    out.add(new Node.WaitChildren(line, column));
                    return null;
                }
                final int event = eventUse(lexer, "wait");
                endOfLine(lexer, "after 'wait EVENT'");
                out.add(new Node.Wait(line, column, event));
                return null;
            }
            case "sleep" ->
            {
                final long nanos = duration(lexer, scope, "sleep");
                endOfLine(lexer, "after 'sleep DURATION'");
                out.add(new Node.Sleep(line, column, nanos));
                return null;
            }
            case "signals" ->
            {
                final Token mode = lexer.next();
                final String text = mode.kind() == Token.Kind.NAME ? lexer.text(mode) : "";
                if (!text.equals("fatal") && !text.equals("continue"))
                {
                    throw new LineException(mode.column(), "expected 'fatal' or 'continue' after 'signals', found " + describe(lexer, mode));
                }
                endOfLine(lexer, "after 'signals " + text + "'");
                out.add(new Node.Signals(line, column, text.equals("fatal")));
                return null;
            }
            case "show" ->
            {
                out.add(show(lexer, scope, line, column));
                return null;
            }
            case "dump", "html" ->
            {
                out.add(save(lexer, word, line, column));
                return null;
            }
            default -> throw new LineException(column, "unknown statement '" + word + "' (the calls are mmap, munmap, " +
                "mprotect, mremap, madvise and touch; the statements NAME = ..., param, repeat, for, until, parallel, " +
                "thread, fork, join, barrier, post, wait, sleep, signals, show, dump and html)");
        }
    }

    /** {@code show VIEW}: maps, smaps, ptdump, {@code pagemap(ADDR, LENGTH)}, {@code walk(ADDR)}. */
    private Node.Show show(final Lexer lexer, final Scope scope, final int line, final int column) throws LineException
    {
        final Token word = lexer.next();
        Node.View view = null;
        for (final Node.View v : Node.View.values())
        {
            if (word.kind() == Token.Kind.NAME && v.word().equals(lexer.text(word)))
            {
                view = v;
            }
        }
        if (view == null)
        {
            throw new LineException(word.column(), "expected a view after 'show': maps, smaps, ptdump, " +
                "pagemap(ADDR, LENGTH) or walk(ADDR); found " + describe(lexer, word));
        }
        Expr address = null;
        Expr length = null;
        if (view == Node.View.PAGEMAP || view == Node.View.WALK)
        {
            final String form = view == Node.View.PAGEMAP ? "pagemap(ADDR, LENGTH)" : "walk(ADDR)";
            expect(lexer, Token.Kind.OPEN, "'(' after '" + view.word() + "' (show " + form + ")");
            address = expr(lexer, scope);
            if (view == Node.View.PAGEMAP)
            {
                expect(lexer, Token.Kind.COMMA, "',' and the length after pagemap's address (show " + form + ")");
                length = expr(lexer, scope);
            }
            expect(lexer, Token.Kind.CLOSE, "')' closing " + form);
        }
        endOfLine(lexer, "after 'show " + view.word() + (address == null ? "" : "(...)") + "'");
        return new Node.Show(line, column, view, address, length);
    }

    /** {@code dump "FILE" [data]} or {@code html "FILE"}. */
    private Node.Save save(final Lexer lexer, final String keyword, final int line, final int column) throws LineException
    {
        final Token file = lexer.next();
        if (file.kind() != Token.Kind.STRING)
        {
            throw new LineException(file.column(), "expected a file name in double quotes after '" + keyword +
                "' (" + keyword + " \"out/mid." + (keyword.equals("html") ? "html" : "dump") + "\"), found " + describe(lexer, file));
        }
        final String name = lexer.string(file);
        if (name.isEmpty())
        {
            throw new LineException(file.column(), "empty file name");
        }
        boolean withData = false;
        final Token next = lexer.peek();
        if (keyword.equals("dump") && next.kind() == Token.Kind.NAME && "data".equals(lexer.text(next)))
        {
            lexer.next();
            withData = true;
        }
        endOfLine(lexer, keyword.equals("dump") ? "after 'dump \"FILE\"' (only 'data' may follow it)" : "after 'html \"FILE\"'");
        return new Node.Save(line, column, name, keyword.equals("html"), withData);
    }

    private static void expect(final Lexer lexer, final Token.Kind kind, final String what) throws LineException
    {
        final Token token = lexer.next();
        if (token.kind() != kind)
        {
            throw new LineException(token.column(), "expected " + what + ", found " + describe(lexer, token));
        }
    }

    /** {@code NAME = call(...)} or {@code NAME = expr}. */
    private Opened assignment(final Lexer lexer, final Token target, final Scope scope, final List<Node> out) throws LineException
    {
        lexer.next(); // '='
        final String variable = lexer.text(target);
        checkNewName(lexer, target, "a variable");
        if (constant(scope, variable) != null)
        {
            throw new LineException(target.column(), "'" + variable + "' is a param: params cannot be assigned");
        }
        final Token value = lexer.peek();
        final Integer existing = variable(scope, variable);
        if (value.kind() == Token.Kind.NAME && Call.named(lexer.text(value)) != null)
        {
            lexer.next();
            final int slot = existing != null ? existing : slots;
            final Node node = call(lexer, value, scope, slot);
            define(scope, variable, existing);
            out.add(node);
            return null;
        }
        final Expr expr = expr(lexer, scope);
        endOfLine(lexer, "after the expression");
        out.add(new Node.Assign(lineNumber, target.column(),
            define(scope, variable, existing), expr));
        return null;
    }

    /** The slot of a variable assigned here: the visible one, or a new one in this scope (visible from now on). */
    private int define(final Scope scope, final String variable, final Integer existing)
    {
        if (existing != null)
        {
            return existing;
        }
        final int slot = slots++;
        scope.variables.put(variable, slot);
        return slot;
    }

    private void param(final Lexer lexer, final Token keyword, final Scope scope) throws LineException
    {
        if (scope.parent != null)
        {
            throw new LineException(keyword.column(), "param only at the top level, outside every block");
        }
        final Token paramName = lexer.next();
        checkNewName(lexer, paramName, "a param");
        final String text = lexer.text(paramName);
        if (constant(scope, text) != null || variable(scope, text) != null)
        {
            throw new LineException(paramName.column(), "'" + text + "' is already defined");
        }
        final Token equals = lexer.next();
        if (equals.kind() != Token.Kind.EQUALS)
        {
            throw new LineException(equals.column(), "expected '=' after 'param " + text + "', found " + describe(lexer, equals));
        }
        Constant value = constantValue(lexer, scope, "param " + text);
        endOfLine(lexer, "after the param's value");
        final String override = overrides.get(text);
        if (override != null)
        {
            overridesUsed.add(text);
            value = overrideValue(text, override, value.duration());
        }
        scope.constants.put(text, value);
        parameters.put(text, value.duration() ? value.value() + "ns" : Long.toUnsignedString(value.value()));
    }

    /** {@code option NAME VALUE}: a run option (physmem, backing, ...) the program wants; the command line overrides it. */
    private void option(final Lexer lexer, final Token keyword, final Scope scope) throws LineException
    {
        if (scope.parent != null)
        {
            throw new LineException(keyword.column(), "option only at the top level, outside every block");
        }
        final Token optionName = lexer.next();
        final String text = optionName.kind() == Token.Kind.NAME ? lexer.text(optionName) : "";
        if (!RunOptions.NAMES.contains(text))
        {
            throw new LineException(optionName.column(), "expected an option name (" + String.join(", ", RunOptions.NAMES) +
                "), found " + describe(lexer, optionName));
        }
        if (options.containsKey(text))
        {
            throw new LineException(optionName.column(), "option " + text + " is already set above");
        }
        // the value is raw text (tables-only, per-vma are not tokens of the language), up to a comment
        final String rest = lexer.rest(optionName);
        final int hash = rest.indexOf('#');
        final String value = (hash < 0 ? rest : rest.substring(0, hash)).strip();
        final int valueColumn = optionName.end() + 1 + leadingSpaces(rest);
        if (value.isEmpty())
        {
            throw new LineException(valueColumn, "option " + text + " needs a value");
        }
        try
        {
            RunOptions.defaults().with(text, value);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new LineException(valueColumn, ex.getMessage());
        }
        options.put(text, value);
    }

    /** A param's value from the command line, written as in a program. */
    private static Constant overrideValue(final String param, final String text, final boolean duration)
    {
        final Lexer lexer = new Lexer(text, Lexer.Dialect.PROGRAM);
        try
        {
            final Token token = lexer.next();
            final boolean isDuration = token.kind() == Token.Kind.DURATION;
            if ((token.kind() != Token.Kind.NUMBER && !isDuration) || lexer.next().kind() != Token.Kind.END)
            {
                throw new LineException(1, "expected one number, size or duration");
            }
            if (isDuration != duration)
            {
                throw new LineException(1, duration ? "the param is a duration (500ms, 5s)" : "the param is a number, not a duration");
            }
            return new Constant(token.value(), isDuration);
        }
        catch (final LineException ex)
        {
            throw new IllegalArgumentException("--set " + param + "=" + text + ": " + ex.getMessage());
        }
    }

    /** A constant expression or a duration (a param's value). */
    private Constant constantValue(final Lexer lexer, final Scope scope, final String where) throws LineException
    {
        final Token token = lexer.peek();
        if (token.kind() == Token.Kind.DURATION)
        {
            lexer.next();
            return new Constant(token.value(), true);
        }
        if (token.kind() == Token.Kind.NAME)
        {
            final Constant named = constant(scope, lexer.text(token));
            if (named != null && named.duration())
            {
                lexer.next();
                return named;
            }
        }
        final Expr expr = expr(lexer, scope);
        if (!expr.isConstant())
        {
            throw new LineException(token.column(), where + " must be a constant: numbers and params only");
        }
        return new Constant(expr.evaluate(null), false);
    }

    /** A duration: a literal such as {@code 500ms}, or a param holding one. */
    private long duration(final Lexer lexer, final Scope scope, final String keyword) throws LineException
    {
        final Token token = lexer.next();
        if (token.kind() == Token.Kind.DURATION)
        {
            return token.value();
        }
        if (token.kind() == Token.Kind.NAME)
        {
            final Constant named = constant(scope, lexer.text(token));
            if (named != null && named.duration())
            {
                return named.value();
            }
        }
        throw new LineException(token.column(), "expected a duration after '" + keyword + "' (500ms, 5s, 1min, or a " +
            "param holding one), found " + describe(lexer, token));
    }

    // ---------------------------------------------------------------- calls

    private Node.CallNode call(final Lexer lexer, final Token name, final Scope scope, final int slot) throws LineException
    {
        final CallSyntax.Parsed<Expr> parsed = CallSyntax.parse(lexer, name, new CallSyntax.Operands<>()
        {
            @Override
            public boolean takes(final ArgumentKind kind)
            {
                return kind == ArgumentKind.NUMBER;
            }

            @Override
            public Expr parse(final Lexer l, final String where) throws LineException
            {
                return expr(l, scope);
            }

            @Override
            public Expr constant(final long value)
            {
                return new Expr.Constant(value);
            }
        });
        final Call call = parsed.call();
        final TouchPattern pattern = call == Call.TOUCH ? touchPattern(lexer, scope) : null;
        final List<Expectation> expectations = new ArrayList<>(1);
        final Token next = lexer.next();
        switch (next.kind())
        {
            case END ->
            {
            }
            case EQUALS -> expectations.addAll(StraceResult.parse(lexer.rest(next),
                next.end() + 1 + leadingSpaces(lexer.rest(next))));
            case NAME ->
            {
                final String word = lexer.text(next);
                if (!"expect".equals(word))
                {
                    throw new LineException(next.column(), call == Call.TOUCH ?
                        "unexpected '" + word + "' after touch (it takes stride, random, seed, value, then expect)" :
                        "unexpected '" + word + "' after the call (only 'expect ...' or '= RESULT' may follow it)");
                }
                expectations.add(outcome(lexer, scope));
                while (lexer.peek().kind() == Token.Kind.NAME && "or".equals(lexer.text(lexer.peek())))
                {
                    lexer.next();
                    expectations.add(outcome(lexer, scope));
                }
                endOfLine(lexer, "after the expectation");
            }
            case CLOSE -> throw new LineException(next.column(), "unbalanced parentheses: extra ')'");
            default -> throw new LineException(next.column(), "unexpected " + describe(lexer, next) +
                " after the call (only 'expect ...' or '= RESULT' may follow it)");
        }
        return new Node.CallNode(lineNumber, name.column(),
            lexer.line().substring(name.start(), parsed.close().end()), call, parsed.arguments(), pattern, slot,
            List.copyOf(expectations));
    }

    private static int leadingSpaces(final String text)
    {
        int i = 0;
        while (i < text.length() && Character.isWhitespace(text.charAt(i)))
        {
            i++;
        }
        return i;
    }

    /** touch's modifiers: {@code stride N}, {@code random N}, {@code seed S}, {@code value V}, each at most once. */
    private TouchPattern touchPattern(final Lexer lexer, final Scope scope) throws LineException
    {
        Expr stride = null;
        Expr random = null;
        Expr seed = null;
        Expr value = null;
        Token seedToken = null;
        while (lexer.peek().kind() == Token.Kind.NAME)
        {
            final Token word = lexer.peek();
            final String text = lexer.text(word);
            if (!Set.of("stride", "random", "seed", "value").contains(text))
            {
                break;
            }
            lexer.next();
            final Expr expr = expr(lexer, scope);
            final boolean repeated = switch (text)
            {
                case "stride" -> stride != null;
                case "random" -> random != null;
                case "seed" -> seed != null;
                default -> value != null;
            };
            if (repeated)
            {
                throw new LineException(word.column(), "'" + text + "' given twice");
            }
            if (expr.isConstant())
            {
                final long v = expr.evaluate(null);
                if (text.equals("stride") && v == 0)
                {
                    throw new LineException(word.column(), "stride must be at least 1");
                }
                if (text.equals("value") && (v < 0 || v > 0xff))
                {
                    throw new LineException(word.column(), "value must be a byte, 0 to 255, not " + v);
                }
            }
            switch (text)
            {
                case "stride" -> stride = expr;
                case "random" -> random = expr;
                case "seed" ->
                {
                    seed = expr;
                    seedToken = word;
                }
                default -> value = expr;
            }
        }
        if (seed != null && random == null)
        {
            throw new LineException(seedToken.column(), "'seed' goes with 'random N' (the positions it draws)");
        }
        return new TouchPattern(stride, random, seed, value);
    }

    /** One outcome after {@code expect} or {@code or}. */
    private Expectation outcome(final Lexer lexer, final Scope scope) throws LineException
    {
        final Token word = lexer.next();
        final String text = word.kind() == Token.Kind.NAME ? lexer.text(word) : "";
        switch (text)
        {
            case "ok" ->
            {
                return Expectation.ok();
            }
            case "value" ->
            {
                return Expectation.value(expr(lexer, scope));
            }
            case "errno" ->
            {
                final Token errno = lexer.next();
                final int value = errno.kind() == Token.Kind.NAME ? Errno.valueOf(lexer.text(errno)) : -1;
                if (value < 0)
                {
                    throw new LineException(errno.column(), "expected an errno name such as ENOMEM after 'errno', found " +
                        describe(lexer, errno));
                }
                return Expectation.errno(value);
            }
            case "SIGSEGV", "SIGBUS" ->
            {
                final Token code = lexer.peek();
                if (code.kind() == Token.Kind.NAME && !"or".equals(lexer.text(code)))
                {
                    lexer.next();
                    final int value = StraceResult.signalCode(text, lexer.text(code));
                    if (value == Signal.NONE)
                    {
                        throw new LineException(code.column(), text.equals("SIGBUS") ? "SIGBUS's code is BUS_ADRERR, not '" +
                            lexer.text(code) + "'" : "SIGSEGV's codes are SEGV_MAPERR, SEGV_ACCERR and SI_KERNEL, not '" +
                            lexer.text(code) + "'");
                    }
                    return Expectation.signal(value, Expectation.ANY_ADDRESS);
                }
                return Expectation.signal(text.equals("SIGBUS") ? Signal.BUS_ADRERR : Expectation.ANY_SEGV, Expectation.ANY_ADDRESS);
            }
            default -> throw new LineException(word.column(), "expected an outcome after 'expect': ok, errno ENAME, " +
                "SIGSEGV [SEGV_MAPERR|SEGV_ACCERR|SI_KERNEL], SIGBUS or value N; found " + describe(lexer, word));
        }
    }

    // ---------------------------------------------------------------- expressions

    private Expr expr(final Lexer lexer, final Scope scope) throws LineException
    {
        Expr left = term(lexer, scope);
        while (lexer.peek().kind() == Token.Kind.PLUS || lexer.peek().kind() == Token.Kind.MINUS)
        {
            final Token operator = lexer.next();
            left = binary(operator.kind() == Token.Kind.PLUS ? '+' : '-', left, term(lexer, scope), operator);
        }
        return left;
    }

    private Expr term(final Lexer lexer, final Scope scope) throws LineException
    {
        Expr left = primary(lexer, scope);
        while (true)
        {
            final Token.Kind kind = lexer.peek().kind();
            final char operator = kind == Token.Kind.STAR ? '*' : kind == Token.Kind.SLASH ? '/' : kind == Token.Kind.PERCENT ? '%' : 0;
            if (operator == 0)
            {
                return left;
            }
            final Token token = lexer.next();
            left = binary(operator, left, primary(lexer, scope), token);
        }
    }

    private Expr binary(final char operator, final Expr left, final Expr right, final Token token) throws LineException
    {
        final Expr expr = new Expr.Binary(operator, left, right, lineNumber, token.column());
        if (!expr.isConstant())
        {
            return expr;
        }
        try
        {
            return new Expr.Constant(expr.evaluate(null));
        }
        catch (final ProgramError ex)
        {
            throw new LineException(token.column(), ex.getMessage());
        }
    }

    private Expr primary(final Lexer lexer, final Scope scope) throws LineException
    {
        final Token token = lexer.next();
        switch (token.kind())
        {
            case NUMBER ->
            {
                return new Expr.Constant(token.value());
            }
            case OPEN ->
            {
                final Expr inner = expr(lexer, scope);
                final Token close = lexer.next();
                if (close.kind() != Token.Kind.CLOSE)
                {
                    throw new LineException(close.column(), "unbalanced parentheses: expected ')', found " + describe(lexer, close));
                }
                return inner;
            }
            case NAME ->
            {
                final String text = lexer.text(token);
                if (text.equals("NULL"))
                {
                    return new Expr.Constant(0);
                }
                if (text.equals("tid"))
                {
                    return new Expr.Variable(text, Program.TID_SLOT);
                }
                if (text.equals("nthreads"))
                {
                    return new Expr.Variable(text, Program.NTHREADS_SLOT);
                }
                final Constant constant = constant(scope, text);
                if (constant != null)
                {
                    if (constant.duration())
                    {
                        throw new LineException(token.column(), "'" + text + "' is a duration, not a number");
                    }
                    return new Expr.Constant(constant.value());
                }
                final Integer slot = variable(scope, text);
                if (slot == null)
                {
                    throw new LineException(token.column(), "unknown name '" + text + "': no variable or param of that name is defined above");
                }
                return new Expr.Variable(text, slot);
            }
            case DURATION -> throw new LineException(token.column(), "a duration where a number belongs: '" + lexer.text(token) + "'");
            default -> throw new LineException(token.column(), "expected a number, a name or '(', found " + describe(lexer, token));
        }
    }

    // ---------------------------------------------------------------- names

    private void checkNewName(final Lexer lexer, final Token token, final String what) throws LineException
    {
        if (token.kind() != Token.Kind.NAME)
        {
            throw new LineException(token.column(), "expected a name for " + what + ", found " + describe(lexer, token));
        }
        final String text = lexer.text(token);
        if (KEYWORDS.contains(text) || Call.named(text) != null)
        {
            throw new LineException(token.column(), "'" + text + "' is a reserved word and cannot name " + what);
        }
    }

    private static Integer variable(final Scope scope, final String name)
    {
        for (Scope s = scope; s != null; s = s.parent)
        {
            final Integer slot = s.variables.get(name);
            if (slot != null)
            {
                return slot;
            }
        }
        return null;
    }

    private static Constant constant(final Scope scope, final String name)
    {
        Scope s = scope;
        while (s.parent != null)
        {
            s = s.parent;
        }
        return s.constants.get(name);
    }

    /** The index of a thread this thread started in this or an enclosing block, or -1. */
    private static int visibleThread(final Scope scope, final String name)
    {
        for (Scope s = scope; s != null; s = s.parent)
        {
            final Integer index = s.threads.get(name);
            if (index != null)
            {
                return index;
            }
            if (s.threadBody)
            {
                break;
            }
        }
        return -1;
    }

    private static boolean insideParallel(final Scope scope)
    {
        for (Scope s = scope; s != null; s = s.parent)
        {
            if (s.threadBody)
            {
                return s.parallel;
            }
        }
        return false;
    }

    private Token eventName(final Lexer lexer, final String keyword) throws LineException
    {
        final Token event = lexer.next();
        if (event.kind() != Token.Kind.NAME)
        {
            throw new LineException(event.column(), "expected an event name after '" + keyword + "', found " + describe(lexer, event));
        }
        return event;
    }

    private int eventUse(final Lexer lexer, final String keyword) throws LineException
    {
        final Token event = eventName(lexer, keyword);
        final String text = lexer.text(event);
        eventUses.add(new Use(text, lineNumber, event.column()));
        return event(text);
    }

    private int event(final String text)
    {
        return events.computeIfAbsent(text, k -> events.size());
    }

    private static void openBrace(final Lexer lexer, final String header) throws LineException
    {
        final Token brace = lexer.next();
        if (brace.kind() != Token.Kind.OPEN_BRACE)
        {
            throw new LineException(brace.column(), "expected '{' at the end of '" + header + "', found " + describe(lexer, brace));
        }
        endOfLine(lexer, "after '{' (the block starts on the next line)");
    }

    private static void endOfLine(final Lexer lexer, final String where) throws LineException
    {
        final Token token = lexer.next();
        if (token.kind() != Token.Kind.END)
        {
            throw new LineException(token.column(), "unexpected " + describe(lexer, token) + " " + where);
        }
    }

    private static String describe(final Lexer lexer, final Token token)
    {
        return CallSyntax.describe(lexer, token);
    }
}
