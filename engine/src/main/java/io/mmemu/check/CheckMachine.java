package io.mmemu.check;

import java.util.SplittableRandom;

import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;

/**
 * One backing's pair of machines: the physical memory scenarios run on and the model's. Runs a
 * scenario and checks its history; shrinks a failing one ({@link Shrinker}). Not thread-safe.
 */
public final class CheckMachine implements AutoCloseable
{
    /** Physical memory of each machine: scenarios use a few hundred KiB; NORESERVE memory costs nothing untouched. */
    private static final long MEMORY = 256L << 20;
    /** Failures a variant is given the runs to show, at the scenario's own rate, before it counts as passing. */
    private static final int SHRINK_FAILURES = 4;
    private static final int MIN_SHRINK_RUNS = 8;

    /** A run and its verdict. */
    public record Result(History history, LinearizabilityChecker.Verdict verdict)
    {
        public boolean failed()
        {
            return brokeInvariants() || notLinearizable();
        }

        /** The run itself found problems (an exception, an invariant, frames not returned). */
        public boolean brokeInvariants()
        {
            return !history.problems().isEmpty();
        }

        public boolean notLinearizable()
        {
            return !verdict.linearizable() && !verdict.inconclusive();
        }

        /** Whether {@code other} failed the same way: shrinking keeps to one kind of failure. */
        boolean failsLike(final Result other)
        {
            return brokeInvariants() == other.brokeInvariants() && notLinearizable() == other.notLinearizable();
        }
    }

    private final Backing backing;
    /** Replaced after a run that found problems: frames may be leaked or tables left behind in it. */
    private PhysicalMemory runMemory;
    private final PhysicalMemory modelMemory;
    private final long budget;

    public CheckMachine(final Backing backing)
    {
        this(backing, LinearizabilityChecker.DEFAULT_BUDGET);
    }

    public CheckMachine(final Backing backing, final long budget)
    {
        this.backing = backing;
        this.budget = budget;
        this.runMemory = machineMemory(backing);
        this.modelMemory = machineMemory(backing);
    }

    /**
     * A machine's memory with a swap area, so that MADV_PAGEOUT and the background reclaim
     * ({@link ConcurrentRun}) swap pages out and faults swap them in (full backing: phantom frames
     * have no bytes to swap).
     */
    private static PhysicalMemory machineMemory(final Backing backing)
    {
        return PhysicalMemory.create(MEMORY, backing).attachSwap(SwapArea.inMemory(SWAP));
    }

    /** How many times the budget a second search of an inconclusive history gets. */
    static final long INCONCLUSIVE_ESCALATION = 16;

    /** Each machine's swap area: more than a scenario ever maps. */
    private static final long SWAP = 16L << 20;

    /** @throws ConcurrentRun.Hang when a thread hangs; this machine cannot run again then */
    public Result run(final Scenario scenario, final SplittableRandom jitter)
    {
        if (runMemory == null)
        {
            throw new IllegalStateException("a scenario hung on this machine before");
        }
        if (scenario.backing() != backing)
        {
            throw new IllegalArgumentException("a " + scenario.backing() + " scenario on a " + backing + " machine");
        }
        final History history;
        try
        {
            history = ConcurrentRun.run(runMemory, scenario, jitter);
        }
        catch (final ConcurrentRun.Hang hang)
        {
            runMemory = null; // still in use by the hung thread: never closed
            throw hang;
        }
        if (!history.problems().isEmpty())
        {
            runMemory.close();
            runMemory = machineMemory(backing);
        }
        final long modelFrames = ConcurrentRun.framesHeld(modelMemory);
        LinearizabilityChecker.Verdict verdict = LinearizabilityChecker.check(history, modelMemory, budget);
        if (verdict.inconclusive())
        {
            // a rare history with many overlapping ops can take the depth-first search through many
            // model states before the order that explains it (or before it has tried them all): one
            // more search with a larger budget decides most of them, a violation included
            verdict = LinearizabilityChecker.check(history, modelMemory, budget * INCONCLUSIVE_ESCALATION);
        }
        if (ConcurrentRun.framesHeld(modelMemory) != modelFrames)
        {
            throw new IllegalStateException("the one-thread model did not return "
                + (ConcurrentRun.framesHeld(modelMemory) - modelFrames) + " frames:\n" + ProgramText.program(scenario, null));
        }
        return new Result(history, verdict);
    }

    /**
     * Shrinks {@code failing} (whose run {@code first} failed) while a smaller variant fails the same
     * way, until the deadline ({@link System#nanoTime}) passes. How often {@code failing} fails in
     * {@code attempts} runs sets how many runs a variant gets before it counts as passing: a bug
     * that shows in half the runs needs a handful, a rare race all {@code attempts}.
     */
    public Violation shrink(final Scenario failing, final Result first, final int attempts, final long deadline,
        final SplittableRandom jitter)
    {
        final int before = failures(failing, first, attempts, jitter, null);
        final Result[] failure = {first};
        Scenario shrunk = failing;
        if (before > 0)
        {
            final int runs = (int)Math.min(attempts, Math.max(MIN_SHRINK_RUNS, SHRINK_FAILURES * (long)attempts / before));
            shrunk = Shrinker.shrink(failing, candidate ->
            {
                for (int i = 0; i < runs && System.nanoTime() < deadline; i++)
                {
                    final Result result = run(candidate, jitter);
                    if (result.failed() && result.failsLike(first))
                    {
                        failure[0] = result;
                        return true;
                    }
                }
                return false;
            }, deadline);
        }
        final int after = shrunk == failing ? before : failures(shrunk, first, attempts, jitter, failure);
        return new Violation(first.history(), before, failure[0].history(), failure[0].verdict(), after, attempts);
    }

    /** How many of {@code attempts} runs fail as {@code like} did; the last such run goes to {@code last[0]}. */
    private int failures(final Scenario scenario, final Result like, final int attempts, final SplittableRandom jitter,
        final Result[] last)
    {
        int failed = 0;
        for (int i = 0; i < attempts; i++)
        {
            final Result result = run(scenario, jitter);
            if (result.failed() && result.failsLike(like))
            {
                failed++;
                if (last != null)
                {
                    last[0] = result;
                }
            }
        }
        return failed;
    }

    @Override
    public void close()
    {
        if (runMemory != null)
        {
            runMemory.close();
        }
        modelMemory.close();
    }
}
