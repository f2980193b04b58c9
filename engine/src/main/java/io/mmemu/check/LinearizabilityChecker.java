package io.mmemu.check;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import io.mmemu.phys.PhysicalMemory;
import io.mmemu.script.Outcome;

/**
 * Decides whether a {@link History} is linearizable: whether some sequential order of its
 * operations that respects real time (an op that returned before another was called comes first)
 * gives, replayed on the one-thread {@link Model}, exactly the recorded results — return values,
 * errnos, signals and fault addresses, and the bytes reads saw.
 * <p>
 * The search is Wing and Gong's, with Lowe's just-in-time refinements: depth first, at each step
 * only ops that are minimal in real time (no pending op returned before they were called) are
 * candidates; a candidate is applied to the model and kept only if its result matches the
 * recorded one; configurations already explored (the set of ops done, and the model's state) are
 * not explored again. The emulator cannot undo an op, so after a dead end the
 * model is rebuilt by replaying the current prefix on a fresh address space (cheap for the few
 * dozen small ops of a scenario).
 * <p>
 * Why not Lincheck (org.jetbrains.lincheck, stress mode): its scenarios are method calls on a test
 * object it constructs per invocation, checked against a sequential-specification object it
 * constructs per verification, on threads it owns. Here neither may be a plain object: each is
 * an off-heap address space whose frames must be returned (Lincheck has no hook to close them),
 * and each of its threads must own an emulated CPU that goes offline whenever it waits outside
 * the emulator (a CPU left online in Lincheck's spin between invocations stalls every other CPU's
 * TLB shootdown). Its arguments come from independent per-parameter generators, while ours must
 * aim at one small window to collide; and its failures print as its own table, not as a program
 * {@code mmemu run} accepts. The search itself is ~100 lines.
 */
public final class LinearizabilityChecker
{
    /** Model steps after which a search gives up (the verdict is then inconclusive). */
    public static final long DEFAULT_BUDGET = 200_000;

    /**
     * The answer.
     *
     * @param linearizable whether an order was found
     * @param inconclusive whether the search ran out of budget before deciding
     * @param order        the order found, or the longest prefix any order explained
     * @param stuck        when not linearizable: after that prefix, each candidate with the
     *                     result it recorded and the model's
     * @param steps        model operations applied, replays included
     */
    public record Verdict(boolean linearizable, boolean inconclusive, List<History.Event> order, List<String> stuck,
        long steps)
    {
    }

    private record Configuration(long done, long grown, Model.State state)
    {
    }

    private final History history;
    private final List<History.Event> events;
    private final Model model;
    private final long budget;
    /** Per event, the events that returned before it was called (must come first). */
    private final long[] predecessors;
    private final Set<Configuration> explored = new HashSet<>();
    /** The steps taken: event {@code i} as a whole, or {@code -1 - i} for the stack growth of touch {@code i} alone. */
    private final int[] prefix;
    private int depth;
    private boolean dirty = true;
    private long steps;
    private int[] deepest = new int[0];
    private List<String> stuck = List.of();

    private LinearizabilityChecker(final History history, final PhysicalMemory modelMemory, final long budget)
    {
        this.history = history;
        this.events = history.events();
        if (events.size() > Long.SIZE)
        {
            throw new IllegalArgumentException("at most 64 operations a history: " + events.size());
        }
        this.model = new Model(modelMemory, history.scenario());
        this.budget = budget;
        this.prefix = new int[2 * events.size()];
        this.predecessors = new long[events.size()];
        for (int i = 0; i < events.size(); i++)
        {
            for (int j = 0; j < events.size(); j++)
            {
                if (events.get(j).precedes(events.get(i)))
                {
                    predecessors[i] |= 1L << j;
                }
            }
        }
    }

    /**
     * Checks {@code history} against replays on {@code modelMemory}, which must have the scenario's
     * backing and no other user meanwhile; every model address space is closed before this returns.
     */
    public static Verdict check(final History history, final PhysicalMemory modelMemory, final long budget)
    {
        final LinearizabilityChecker checker = new LinearizabilityChecker(history, modelMemory, budget);
        try
        {
            final boolean found = checker.search(0L, 0L);
            final boolean inconclusive = !found && checker.steps >= budget;
            final int[] order = found ? checker.prefix : checker.deepest;
            final List<History.Event> ordered = new ArrayList<>();
            for (int i = 0; i < (found ? checker.depth : order.length); i++)
            {
                if (order[i] >= 0)
                {
                    ordered.add(checker.events.get(order[i]));
                }
            }
            return new Verdict(found, inconclusive, ordered, found ? List.of() : checker.stuck, checker.steps);
        }
        finally
        {
            checker.model.close();
        }
    }

    public static Verdict check(final History history, final PhysicalMemory modelMemory)
    {
        return check(history, modelMemory, DEFAULT_BUDGET);
    }

    /**
     * Depth first from the configuration {@code done} (events applied) and {@code grown} (touches
     * whose stack growth alone has been applied). A touch whose fault grew a stack is also tried
     * as two steps, the growth and later the access: on Linux the fault grows the stack and
     * returns, and the access is retried, so other operations may take effect in between (an
     * access after them, its growth before them). Each step is tried only where the event is
     * minimal in real time, so both lie inside the touch's interval.
     */
    private boolean search(final long done, final long grown)
    {
        final int n = events.size();
        if (Long.bitCount(done) == n)
        {
            return true;
        }
        final List<String> tried = new ArrayList<>();
        for (int i = 0; i < n; i++)
        {
            final long bit = 1L << i;
            if ((done & bit) != 0 || (predecessors[i] & ~done) != 0)
            {
                continue;
            }
            if (steps >= budget)
            {
                return false;
            }
            final History.Event event = events.get(i);
            if (event.grewStack() && (grown & bit) == 0)
            {
                prepare();
                model.growStack(event.op().argument(0));
                steps++;
                dirty = true;
                if (step(-1 - i, done, grown | bit))
                {
                    return true;
                }
                if (steps >= budget)
                {
                    return false;
                }
            }
            prepare();
            final Outcome outcome = model.apply(event.op());
            steps++;
            dirty = true;
            if (!model.explains(event.op(), outcome, event.outcome()))
            {
                tried.add(ProgramText.event(event) + ", but in this order: " + ProgramText.result(event.op(), outcome));
                continue;
            }
            if (step(i, done | bit, grown))
            {
                return true;
            }
        }
        if (depth > deepest.length || (depth == deepest.length && stuck.isEmpty()))
        {
            deepest = java.util.Arrays.copyOf(prefix, depth);
            stuck = tried;
        }
        return false;
    }

    /** The model is at the current prefix (replayed if a step since moved it on). */
    private void prepare()
    {
        if (dirty)
        {
            replayPrefix();
        }
    }

    /** Takes step {@code taken}, which led to a configuration, and searches on from it unless it was explored. */
    private boolean step(final int taken, final long done, final long grown)
    {
        if (!explored.add(new Configuration(done, grown, model.state())))
        {
            return false;
        }
        prefix[depth++] = taken;
        dirty = false;
        if (search(done, grown))
        {
            return true;
        }
        depth--;
        dirty = true;
        return false;
    }

    /** Rebuilds the model at the current prefix; each of its ops matched before, and one thread is deterministic. */
    private void replayPrefix()
    {
        model.reset();
        for (int k = 0; k < depth; k++)
        {
            if (prefix[k] < 0)
            {
                model.growStack(events.get(-1 - prefix[k]).op().argument(0));
                steps++;
                continue;
            }
            final History.Event event = events.get(prefix[k]);
            final Outcome outcome = model.apply(event.op());
            steps++;
            if (!model.explains(event.op(), outcome, event.outcome()))
            {
                throw new IllegalStateException("the one-thread model is not deterministic: " + ProgramText.event(event)
                    + " replayed as " + ProgramText.result(event.op(), outcome) + " after the same prefix\n"
                    + ProgramText.program(history.scenario(), null));
            }
        }
        dirty = false;
    }
}
