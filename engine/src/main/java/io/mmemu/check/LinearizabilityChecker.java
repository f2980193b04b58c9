package io.mmemu.check;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import io.mmemu.phys.PhysicalMemory;
import io.mmemu.script.Call;
import io.mmemu.script.Outcome;
import io.mmemu.vm.MmapSteps;
import io.mmemu.vm.Signal;

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
 * Some operations take effect in two steps, with other threads' operations free to come in
 * between, and are searched that way: each step is a step of the search of its own, taken only
 * where the op is minimal in real time, so both lie inside the op's interval. A successful
 * populating mmap (MAP_POPULATE without MAP_NONBLOCK, or MAP_LOCKED, whose VM_LOCKED comes with
 * the mapping) maps under the mmap lock and faults its range in after letting go of it
 * (vm_mmap_pgoff: do_mmap, mmap_write_unlock, mm_populate with its errors ignored): its first
 * step is the mapping, whose result must be the recorded one, its second the populate, on
 * whatever VMAs are there by then ({@link io.mmemu.vm.MmapSteps}: the engine's own two steps).
 * So an madvise may merge the new, still unfaulted VMA with a neighbour that has an anon_vma
 * before the populate faults it. The mmap taken whole is the two steps adjacent, so it is not
 * tried apart. A touch whose fault grew a stack grows it first (the fault returns and the access
 * is retried) and accesses later; it is tried whole as well, since the model's growth is a read,
 * which need not be how the access's own fault grows.
 * <p>
 * The populate is one step, not one per page, as Linux's is to every call that takes the mmap lock
 * for writing: mm_populate holds it for reading across the range, and lets go only when a fault
 * must retry, which a fault on fresh anonymous memory never does. Stores and read-locked madvises
 * may come between two of its faults, but populating changes no byte a read sees (a fresh page
 * reads 0 as an empty entry does, a swapped one comes back as it was, and MADV_FREE here keeps
 * contents whatever the dirty bit says), and residency is not part of the model's state: what the
 * state sees of a populate is the anon_vma its first fault in a VMA gives that VMA (and every
 * piece later split from it). A populate a writer came between two of whose faults would give a
 * state no order with the populate at one point gives (the engine's {@code Populate} holds the
 * mmap lock across its range, as mm_populate does, so that none can), with two VMAs over the
 * range: the range {@code [a, a+2p)} mapped, its second page made VM_NOHUGEPAGE, a neighbour
 * below with its own anon_vma and VM_NOHUGEPAGE; the populate faults the first page (a new anon_vma), then an MADV_NOHUGEPAGE of
 * all three pages merges the first page with the second (not with the neighbour: two anon_vmas),
 * then the populate faults the second — two VMAs, where populating whole before the madvise
 * gives three and after it one. Such a violation is the engine's to fix, not the model's to allow
 * (the found program {@code populate-read-across-mremap.mm} was one, with an mremap).
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
     * @param order        the order found, or the longest prefix any order explained; an op taken
     *                     in two steps is listed where its second step was taken
     * @param stuck        when not linearizable: after that prefix, each candidate with the
     *                     result it recorded and the model's
     * @param steps        model operations applied, replays included
     */
    public record Verdict(boolean linearizable, boolean inconclusive, List<History.Event> order, List<String> stuck,
        long steps)
    {
    }

    private record Configuration(long done, long begun, Model.State state)
    {
    }

    /**
     * How an op may take effect: whole, or in two steps with other ops between them. The first
     * step's prefix entry is {@code -1 - i}, the second's (as the whole op's) {@code i}.
     */
    private enum Split
    {
        WHOLE,
        /**
         * A touch whose fault grew a stack: the growth (a read there; no result of its own), later
         * the access (the touch's result). Tried whole as well: the growth step is a read, which
         * need not be how the access's own fault grows.
         */
        STACK_GROWTH,
        /**
         * A populating mmap that succeeded: the mapping (the mmap's result), later the populate (no
         * result of its own: mm_populate's errors are ignored). Not tried whole, which is the two
         * steps adjacent.
         */
        POPULATE;

        static Split of(final History.Event event)
        {
            if (event.grewStack())
            {
                return STACK_GROWTH;
            }
            final Outcome outcome = event.outcome();
            return event.op().call() == Call.MMAP && outcome.signal() == Signal.NONE
                && MmapSteps.populates((int)event.op().argument(3), outcome.value()) ? POPULATE : WHOLE;
        }
    }

    private final History history;
    private final List<History.Event> events;
    private final Model model;
    private final long budget;
    /** Per event, the events that returned before it was called (must come first). */
    private final long[] predecessors;
    private final Set<Configuration> explored = new HashSet<>();
    /** Per event, how it may take effect. */
    private final Split[] split;
    /** The steps taken: event {@code i} whole or its second step, or {@code -1 - i} for its first step alone. */
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
        this.split = new Split[events.size()];
        for (int i = 0; i < events.size(); i++)
        {
            split[i] = Split.of(events.get(i));
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
     * Depth first from the configuration {@code done} (events applied) and {@code begun} (events
     * taken in two steps whose first step alone has been applied; see {@link Split}). Each step is
     * tried only where its event is minimal in real time, so both steps of an event lie inside its
     * interval.
     */
    private boolean search(final long done, final long begun)
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
            final boolean started = (begun & bit) != 0;
            if (split[i] != Split.WHOLE && !started)
            {
                prepare();
                if (explained(i, first(i), tried) && step(-1 - i, done, begun | bit))
                {
                    return true;
                }
                if (steps >= budget)
                {
                    return false;
                }
                if (split[i] == Split.POPULATE)
                {
                    continue;
                }
            }
            prepare();
            if (explained(i, rest(i, started), tried) && step(i, done | bit, begun & ~bit))
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

    /** Applies event {@code i}'s first step to the model: its outcome, or null when the step has no result of its own. */
    private Outcome first(final int i)
    {
        final Op op = events.get(i).op();
        steps++;
        dirty = true;
        if (split[i] == Split.STACK_GROWTH)
        {
            model.growStack(op.argument(0));
            return null;
        }
        return model.map(op);
    }

    /**
     * Applies event {@code i} whole, or its second step when its first was taken ({@code started}):
     * the outcome, or null when the step has no result of its own.
     */
    private Outcome rest(final int i, final boolean started)
    {
        final History.Event event = events.get(i);
        steps++;
        dirty = true;
        if (started && split[i] == Split.POPULATE)
        {
            model.populate(event.op(), event.outcome().value());
            return null;
        }
        return model.apply(event.op());
    }

    /** Whether the model's {@code outcome} (null: none to compare) explains event {@code i}'s; if not, noted in {@code tried}. */
    private boolean explained(final int i, final Outcome outcome, final List<String> tried)
    {
        final History.Event event = events.get(i);
        if (outcome == null || model.explains(event.op(), outcome, event.outcome()))
        {
            return true;
        }
        tried.add(ProgramText.event(event) + ", but in this order: " + ProgramText.result(event.op(), outcome));
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
    private boolean step(final int taken, final long done, final long begun)
    {
        if (!explored.add(new Configuration(done, begun, model.state())))
        {
            return false;
        }
        prefix[depth++] = taken;
        dirty = false;
        if (search(done, begun))
        {
            return true;
        }
        depth--;
        dirty = true;
        return false;
    }

    /** Rebuilds the model at the current prefix; each of its steps matched before, and one thread is deterministic. */
    private void replayPrefix()
    {
        model.reset();
        long begun = 0;
        for (int k = 0; k < depth; k++)
        {
            final int i = prefix[k] < 0 ? -1 - prefix[k] : prefix[k];
            final long bit = 1L << i;
            final Outcome outcome = prefix[k] < 0 ? first(i) : rest(i, (begun & bit) != 0);
            begun = prefix[k] < 0 ? begun | bit : begun & ~bit;
            final History.Event event = events.get(i);
            if (outcome != null && !model.explains(event.op(), outcome, event.outcome()))
            {
                throw new IllegalStateException("the one-thread model is not deterministic: " + ProgramText.event(event)
                    + " replayed as " + ProgramText.result(event.op(), outcome) + " after the same prefix\n"
                    + ProgramText.program(history.scenario(), null));
            }
        }
        dirty = false;
    }
}
