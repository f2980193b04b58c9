package io.mmemu.check;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.mmemu.pgtable.PagingMode;
import io.mmemu.program.Report;
import io.mmemu.program.RunOptions;

import io.mmemu.script.ArgumentKind;
import io.mmemu.script.Call;
import io.mmemu.script.Outcome;
import io.mmemu.script.ResultFormat;
import io.mmemu.script.ScriptException;
import io.mmemu.script.ScriptParser;
import io.mmemu.script.Statement;
import io.mmemu.script.Window;
import io.mmemu.vm.Mman;
import io.mmemu.vm.Signal;
import io.mmemu.vm.ThpMode;

/**
 * Scenarios and histories as text of the program language ({@code docs/language.md}): an op is a
 * call line (a touch is {@code touch(ADDR, 1, PROT_READ)} or {@code ... PROT_WRITE) value V}); a
 * scenario is a program {@code mmemu run} accepts — the setup, then one {@code thread} block per
 * thread, released together by one event — with each op's recorded interval and result as a
 * comment when a history is given.
 */
public final class ProgramText
{
    private static final String START_EVENT = "go";
    private static final List<String> WRITTEN_OPTIONS = List.of("locking", "backing", "section", "thp", "paging");
    /** A comment {@code mmemu run} ignores and {@link #parse} reads: where the heap starts. */
    private static final String HEAP_LINE = "# mmemu check: heap at ";
    private static final Pattern TOUCH_VALUE = Pattern.compile("^(touch\\(.*\\))\\s+value\\s+(\\d+)$");

    private ProgramText()
    {
    }

    /** The op as a call line. */
    public static String op(final Op op)
    {
        final long[] a = op.arguments();
        return switch (op.call())
        {
            case MMAP -> String.format("mmap(%s, %d, %s, %s, %d, %d)", address(a[0]), a[1], flags(ArgumentKind.PROT, a[2]),
                mapFlags(a[3]), (int)a[4], a[5]);
            case MUNMAP -> String.format("munmap(%s, %d)", address(a[0]), a[1]);
            case MPROTECT -> String.format("mprotect(%s, %d, %s)", address(a[0]), a[1], flags(ArgumentKind.PROT, a[2]));
            case MREMAP -> String.format("mremap(%s, %d, %d, %s%s)", address(a[0]), a[1], a[2], flags(ArgumentKind.MREMAP, a[3]),
                (a[3] & Mman.MREMAP_FIXED) != 0 ? ", " + address(a[4]) : "");
            case MADVISE -> String.format("madvise(%s, %d, %s)", address(a[0]), a[1], advice(a[2]));
            case BRK -> String.format("brk(%s)", address(a[0]));
            case TOUCH -> op.isRead() ? String.format("touch(%s, 1, PROT_READ)", address(a[0]))
                : String.format("touch(%s, 1, PROT_WRITE) value %d", address(a[0]), op.value());
            case PKEY_MPROTECT -> throw new IllegalArgumentException("not generated: " + op.call());
        };
    }

    /** What an op returned: strace's way for syscalls; for a touch, the byte read, or the signal. */
    public static String result(final Op op, final Outcome outcome)
    {
        if (!op.isTouch() || outcome.signal() != Signal.NONE)
        {
            return ResultFormat.result(op.call(), outcome, Window.NONE);
        }
        return op.isRead() ? String.format("read 0x%02x", outcome.value()) : "written";
    }

    /** {@code t1 op 2: munmap(...) = 0 [call 5, return 9]}. */
    public static String event(final History.Event e)
    {
        return String.format("%s op %d: %s = %s [call %d, return %d]", threadName(e.thread()), e.index(), op(e.op()),
            result(e.op(), e.outcome()), e.called(), e.returned());
    }

    static String threadName(final int thread)
    {
        return thread < 0 ? "setup" : "t" + thread;
    }

    /**
     * The scenario as a program; with {@code history} (of this scenario, may be null) each op's line
     * ends with its interval and result.
     */
    public static String program(final Scenario scenario, final History history)
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("option locking ").append(scenario.locking().cliName()).append('\n');
        sb.append("option backing ").append(Report.backingName(scenario.backing())).append('\n');
        sb.append("option section ").append(scenario.section()).append('\n');
        if (scenario.thp() != ThpMode.NEVER)
        {
            sb.append("option thp ").append(scenario.thp().sysfsName()).append('\n');
        }
        if (scenario.paging() != PagingMode.FOUR_LEVEL)
        {
            sb.append("option paging ").append(scenario.paging()).append('\n');
        }
        if (scenario.startBrk() != 0)
        {
            sb.append(String.format("%s0x%x%n", HEAP_LINE, scenario.startBrk()));
            if (usesBrk(scenario))
            {
                sb.append("# (mmemu check sets the heap's start as exec would; mmemu run starts without a heap,\n"
                    + "# so there brk returns 0)\n");
            }
        }
        for (int i = 0; i < scenario.setup().size(); i++)
        {
            sb.append(line("", scenario.setup().get(i), history, -1, i));
        }
        for (int t = 0; t < scenario.threads().size(); t++)
        {
            sb.append("thread ").append(threadName(t)).append(" {\n");
            sb.append("    wait ").append(START_EVENT).append('\n');
            final List<Op> ops = scenario.threads().get(t);
            for (int i = 0; i < ops.size(); i++)
            {
                sb.append(line("    ", ops.get(i), history, t, i));
            }
            sb.append("}\n");
        }
        sb.append("post ").append(START_EVENT).append('\n');
        return sb.toString();
    }

    private static String line(final String indent, final Op op, final History history, final int thread, final int index)
    {
        final String text = indent + op(op);
        if (history == null)
        {
            return text + '\n';
        }
        for (final History.Event e : history.events())
        {
            if (e.thread() == thread && e.index() == index)
            {
                return String.format("%-72s # = %s [call %d, return %d]%n", text, result(op, e.outcome()), e.called(), e.returned());
            }
        }
        return text + '\n';
    }

    /**
     * Reads back a program as {@link #program} writes it (comments and the op results in them are
     * ignored): the options, the setup's calls, one {@code thread} block per thread.
     *
     * @throws IllegalArgumentException with {@code NAME:LINE: reason} for anything else
     */
    public static Scenario parse(final String name, final String text)
    {
        RunOptions options = RunOptions.defaults();
        long heap = 0;
        final List<Op> setup = new ArrayList<>();
        final List<List<Op>> threads = new ArrayList<>();
        List<Op> current = null;
        final List<String> lines = text.lines().toList();
        for (int n = 1; n <= lines.size(); n++)
        {
            final String raw = lines.get(n - 1);
            final String where = name + ":" + n + ": ";
            if (raw.startsWith(HEAP_LINE))
            {
                heap = Long.decode(raw.substring(HEAP_LINE.length()).strip());
                continue;
            }
            final int hash = raw.indexOf('#');
            final String line = (hash >= 0 ? raw.substring(0, hash) : raw).strip();
            final String[] words = line.split("\\s+");
            try
            {
                if (line.isEmpty() || line.equals("wait " + START_EVENT) || line.equals("post " + START_EVENT))
                {
                    continue;
                }
                if (words.length == 3 && words[0].equals("option"))
                {
                    if (!WRITTEN_OPTIONS.contains(words[1]))
                    {
                        throw new IllegalArgumentException("option " + words[1] + " is not one mmemu check writes");
                    }
                    options = options.with(words[1], words[2]);
                }
                else if (words.length == 3 && words[0].equals("thread") && words[2].equals("{") && current == null)
                {
                    current = new ArrayList<>();
                    threads.add(current);
                }
                else if (line.equals("}") && current != null)
                {
                    current = null;
                }
                else
                {
                    (current != null ? current : setup).add(call(line));
                }
            }
            catch (final IllegalArgumentException | ScriptException ex)
            {
                throw new IllegalArgumentException(where + ex.getMessage().strip(), ex);
            }
        }
        if (current != null)
        {
            throw new IllegalArgumentException(name + ": a thread block is not closed");
        }
        if (threads.isEmpty())
        {
            throw new IllegalArgumentException(name + ": no thread block");
        }
        return new Scenario(options.locking(), options.backing(), options.section(), heap, setup, threads, options.thp(),
            options.kernel().paging());
    }

    private static Op call(final String line) throws ScriptException
    {
        final Matcher touch = TOUCH_VALUE.matcher(line);
        final List<Statement> parsed = ScriptParser.parse(touch.matches() ? touch.group(1) : line);
        if (parsed.size() != 1)
        {
            throw new IllegalArgumentException("not a call: " + line);
        }
        final Statement statement = parsed.getFirst();
        final long[] arguments = new long[statement.call().parameters().size()];
        for (int i = 0; i < arguments.length; i++)
        {
            arguments[i] = statement.argument(i);
        }
        if (statement.call() == Call.PKEY_MPROTECT)
        {
            throw new IllegalArgumentException("pkey_mprotect is not one of the checked calls");
        }
        return new Op(statement.call(), arguments, touch.matches() ? Integer.parseInt(touch.group(2)) : 0);
    }

    private static boolean usesBrk(final Scenario scenario)
    {
        for (int t = -1; t < scenario.threads().size(); t++)
        {
            for (final Op op : scenario.ops(t))
            {
                if (op.call() == Call.BRK)
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static String address(final long va)
    {
        return va == 0 ? "NULL" : "0x" + Long.toHexString(va);
    }

    private static String advice(final long advice)
    {
        for (final Map.Entry<String, Long> e : ArgumentKind.ADVICE.names().entrySet())
        {
            if (e.getValue() == advice)
            {
                return e.getKey();
            }
        }
        return Long.toString(advice);
    }

    private static String mapFlags(final long flags)
    {
        final StringJoiner joiner = new StringJoiner("|");
        final long type = flags & Mman.MAP_TYPE;
        for (final Map.Entry<String, Long> e : Mman.MAP_NAMES.entrySet())
        {
            if (e.getValue() == type)
            {
                joiner.add(e.getKey());
                break;
            }
        }
        return join(joiner, Mman.MAP_NAMES, flags & ~(long)Mman.MAP_TYPE);
    }

    private static String flags(final ArgumentKind kind, final long flags)
    {
        if (flags == 0)
        {
            return kind == ArgumentKind.PROT ? "PROT_NONE" : "0";
        }
        return join(new StringJoiner("|"), kind.names(), flags);
    }

    /** Adds the single-bit names of {@code bits} (the first name of each bit) and any unnamed rest as a number. */
    private static String join(final StringJoiner joiner, final Map<String, Long> names, final long bits)
    {
        long rest = bits;
        for (final Map.Entry<String, Long> e : names.entrySet())
        {
            final long bit = e.getValue();
            if (Long.bitCount(bit) == 1 && (rest & bit) != 0)
            {
                joiner.add(e.getKey());
                rest &= ~bit;
            }
        }
        if (rest != 0)
        {
            joiner.add("0x" + Long.toHexString(rest));
        }
        return joiner.toString();
    }
}
