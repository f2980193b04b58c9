package io.mmemu.program;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.mmemu.script.Call;

/**
 * A parsed {@link Program} lowered to the instruction image the host runner ({@code host_run.c})
 * interprets: the one written-down layout of that image. Little-endian 64-bit words:
 * <pre>
 *   header    MAGIC VERSION slots events named_threads seed duration_ns(-1: none) default_threads 0 0
 *   names     each event's name, then each named thread's: n_bytes, then the UTF-8 bytes padded to words
 *   block     n_statements, then each statement
 *   statement op line column, then by op:
 *     CALL     id call nargs expr*nargs slot(-1: none) stride random seed value (exprs; length 0: absent)
 *              n_expect, then (kind number address expr) per expectation
 *     ASSIGN   slot expr           REPEAT  count(expr) index_slot(-1) block     FOR    nanos block
 *     UNTIL    event block         PARALLEL count(expr; length 0: --threads) block
 *     THREAD   index block         JOIN index   BARRIER   POST event   WAIT event   SLEEP nanos
 *     SIGNALS  fatal(0|1)
 *   expr      n_words, then reverse-Polish words, each kind | payload &lt;&lt; 8: CONST (the next word is
 *             the value), VAR (payload: the slot), ADD, SUB, MUL, DIV and MOD (payload: line &lt;&lt; 20 | column,
 *             for a division by zero)
 * </pre>
 * Constant expressions are folded to one CONST, so the runner can check constant ranges before the
 * run. Calls are numbered ({@code id}) in the order they are written, so that the runner's reports
 * name them ({@link #call(int)}). Expectation kinds are {@link Expectation.Kind} ordinals, signal
 * codes {@link io.mmemu.vm.Signal}'s.
 */
final class HostImage
{
    static final long MAGIC = 0x4d4d484f53543031L; // "MMHOST01"
    static final long VERSION = 1;

    static final int OP_CALL = 1;
    static final int OP_ASSIGN = 2;
    static final int OP_REPEAT = 3;
    static final int OP_FOR = 4;
    static final int OP_UNTIL = 5;
    static final int OP_PARALLEL = 6;
    static final int OP_THREAD = 7;
    static final int OP_JOIN = 8;
    static final int OP_BARRIER = 9;
    static final int OP_POST = 10;
    static final int OP_WAIT = 11;
    static final int OP_SLEEP = 12;
    static final int OP_SIGNALS = 13;

    static final int E_CONST = 1;
    static final int E_VAR = 2;
    static final int E_ADD = 3;
    static final int E_SUB = 4;
    static final int E_MUL = 5;
    static final int E_DIV = 6;
    static final int E_MOD = 7;

    /** A column fits in 20 bits of a DIV/MOD word's payload. */
    private static final int COLUMN_BITS = 20;
    /** The runner's evaluation stack: EXPR_STACK in host_run.c. */
    static final int MAX_STACK = 64;

    private final List<Node.CallNode> calls = new ArrayList<>();
    /** Statements with an expression the runner cannot evaluate (deeper than its stack). */
    private final List<Node> tooDeep = new ArrayList<>();
    private Node current;
    private long[] words = new long[1024];
    private int size;

    private HostImage()
    {
    }

    /** The image of {@code program} run with {@code options}. */
    static HostImage of(final Program program, final RunOptions options)
    {
        final HostImage image = new HostImage();
        image.put(MAGIC);
        image.put(VERSION);
        image.put(program.slots());
        image.put(program.events().size());
        image.put(program.threads().size());
        image.put(options.seed());
        image.put(options.durationNanos() == RunOptions.NO_DURATION ? -1 : options.durationNanos());
        image.put(options.threads());
        image.put(0);
        image.put(0);
        program.events().forEach(image::name);
        program.threads().forEach(image::name);
        image.block(program.body());
        return image;
    }

    /** The image's bytes, little-endian. */
    byte[] bytes()
    {
        final ByteBuffer buffer = ByteBuffer.allocate(size * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asLongBuffer().put(Arrays.copyOf(words, size));
        return buffer.array();
    }

    /** Statements whose expressions nest deeper than the runner's stack ({@link #MAX_STACK}): refused. */
    List<Node> tooDeep()
    {
        return tooDeep;
    }

    /** The call statement numbered {@code id}. */
    Node.CallNode call(final int id)
    {
        return calls.get(id);
    }

    private void put(final long word)
    {
        if (size == words.length)
        {
            words = Arrays.copyOf(words, size * 2);
        }
        words[size++] = word;
    }

    private void name(final String name)
    {
        final byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        put(bytes.length);
        final ByteBuffer padded = ByteBuffer.allocate((bytes.length + 7) & ~7).order(ByteOrder.LITTLE_ENDIAN);
        padded.put(bytes).clear();
        while (padded.remaining() > 0)
        {
            put(padded.getLong());
        }
    }

    private void block(final List<Node> nodes)
    {
        put(nodes.size());
        nodes.forEach(this::node);
    }

    private void node(final Node node)
    {
        current = node;
        switch (node)
        {
            case Node.CallNode c ->
            {
                header(OP_CALL, c);
                put(calls.size());
                calls.add(c);
                put(code(c.call()));
                put(c.arguments().size());
                c.arguments().forEach(this::expr);
                put(c.slot());
                final TouchPattern pattern = c.pattern();
                expr(pattern == null ? null : pattern.stride());
                expr(pattern == null ? null : pattern.random());
                expr(pattern == null ? null : pattern.seed());
                expr(pattern == null ? null : pattern.value());
                put(c.expectations().size());
                for (final Expectation expectation : c.expectations())
                {
                    put(expectation.kind().ordinal());
                    put(expectation.number());
                    put(expectation.address());
                    expr(expectation.value());
                }
            }
            case Node.Assign a ->
            {
                header(OP_ASSIGN, a);
                put(a.slot());
                expr(a.value());
            }
            case Node.Repeat r ->
            {
                header(OP_REPEAT, r);
                expr(r.count());
                put(r.indexSlot());
                block(r.body());
            }
            case Node.For f ->
            {
                header(OP_FOR, f);
                put(f.nanos());
                block(f.body());
            }
            case Node.Until u ->
            {
                header(OP_UNTIL, u);
                put(u.event());
                block(u.body());
            }
            case Node.Parallel p ->
            {
                header(OP_PARALLEL, p);
                expr(p.count());
                block(p.body());
            }
            case Node.Thread t ->
            {
                header(OP_THREAD, t);
                put(t.index());
                block(t.body());
            }
            case Node.Join j ->
            {
                header(OP_JOIN, j);
                put(j.index());
            }
            case Node.Barrier b -> header(OP_BARRIER, b);
            case Node.Post p ->
            {
                header(OP_POST, p);
                put(p.event());
            }
            case Node.Wait w ->
            {
                header(OP_WAIT, w);
                put(w.event());
            }
            case Node.Sleep s ->
            {
                header(OP_SLEEP, s);
                put(s.nanos());
            }
            case Node.Signals s ->
            {
                header(OP_SIGNALS, s);
                put(s.fatal() ? 1 : 0);
            }
            case Node.Fork f -> throw new IllegalArgumentException("line " + f.line() + ": fork does not run on the host");
            case Node.WaitChildren w -> throw new IllegalArgumentException("line " + w.line() + ": fork does not run on the host");
            case Node.Show s -> throw new IllegalArgumentException("line " + s.line() + ": views do not run on the host");
            case Node.Save s -> throw new IllegalArgumentException("line " + s.line() + ": views do not run on the host");
        }
    }

    private void header(final int op, final Node node)
    {
        put(op);
        put(node.line());
        put(node.column());
    }

    /** The call's number in the runner; brk is refused before the run ({@link HostRefusals}). */
    static int code(final Call call)
    {
        return switch (call)
        {
            case MMAP -> 0;
            case MUNMAP -> 1;
            case MPROTECT -> 2;
            case MREMAP -> 3;
            case MADVISE -> 4;
            case PKEY_MPROTECT -> 5;
            case TOUCH -> 6;
            case BRK -> throw new IllegalArgumentException("brk does not run on the host");
        };
    }

    /** Length-prefixed; null (absent) is length 0. */
    private void expr(final Expr expr)
    {
        if (expr == null)
        {
            put(0);
            return;
        }
        final int lengthAt = size;
        put(0);
        if (expr.isConstant())
        {
            put(E_CONST);
            put(expr.evaluate(null));
        }
        else
        {
            rpn(expr);
            if (depth(expr) > MAX_STACK && !tooDeep.contains(current))
            {
                tooDeep.add(current);
            }
        }
        words[lengthAt] = size - lengthAt - 1;
    }

    /** The evaluation stack an expression's reverse-Polish words need. */
    private static int depth(final Expr expr)
    {
        return expr instanceof Expr.Binary b ? Math.max(depth(b.left()), 1 + depth(b.right())) : 1;
    }

    private void rpn(final Expr expr)
    {
        switch (expr)
        {
            case Expr.Constant c ->
            {
                put(E_CONST);
                put(c.value());
            }
            case Expr.Variable v -> put(E_VAR | (long)v.slot() << 8);
            case Expr.Binary b ->
            {
                rpn(b.left());
                rpn(b.right());
                final int kind = switch (b.operator())
                {
                    case '+' -> E_ADD;
                    case '-' -> E_SUB;
                    case '*' -> E_MUL;
                    case '/' -> E_DIV;
                    case '%' -> E_MOD;
                    default -> throw new IllegalStateException("operator " + b.operator());
                };
                final long where = (long)b.line() << COLUMN_BITS | Math.min(b.column(), (1 << COLUMN_BITS) - 1);
                put(kind | (kind == E_DIV || kind == E_MOD ? where << 8 : 0));
            }
        }
    }
}
