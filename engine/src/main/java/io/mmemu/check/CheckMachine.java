package io.mmemu.check;

import java.util.SplittableRandom;

import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;

/**
 * One backing's pair of machines: the physical memory scenarios run on and the model's. Runs a
 * scenario and checks its history; shrinks a failing one ({@link Shrinker}). Not thread-safe.
 */
public final class CheckMachine implements AutoCloseable
{
    /** Physical memory of each machine: scenarios use a few hundred KiB; NORESERVE memory costs nothing untouched. */
    private static final long MEMORY = 256L << 20;

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
        this.runMemory = PhysicalMemory.create(MEMORY, backing);
        this.modelMemory = PhysicalMemory.create(MEMORY, backing);
    }

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
            runMemory = PhysicalMemory.create(MEMORY, backing);
        }
        final long modelFrames = modelMemory.framesInUse();
        final LinearizabilityChecker.Verdict verdict = LinearizabilityChecker.check(history, modelMemory, budget);
        if (modelMemory.framesInUse() != modelFrames)
        {
            throw new IllegalStateException("the one-thread model did not return "
                + (modelMemory.framesInUse() - modelFrames) + " frames:\n" + ProgramText.program(scenario, null));
        }
        return new Result(history, verdict);
    }

    /**
     * Shrinks {@code failing} (whose run {@code first} failed) while a smaller variant fails the same
     * way in one of {@code attempts} runs, until the deadline ({@link System#nanoTime}) passes; then
     * counts how many of {@code attempts} runs of the result fail.
     */
    public Violation shrink(final Scenario failing, final Result first, final int attempts, final long deadline,
        final SplittableRandom jitter)
    {
        final Result[] failure = {first};
        final Scenario shrunk = Shrinker.shrink(failing, candidate ->
        {
            for (int i = 0; i < attempts && System.nanoTime() < deadline; i++)
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
        int reproduced = 0;
        for (int i = 0; i < attempts; i++)
        {
            final Result result = run(shrunk, jitter);
            if (result.failed() && result.failsLike(first))
            {
                reproduced++;
            }
        }
        return new Violation(first.history(), failure[0].history(), failure[0].verdict(), reproduced, attempts);
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
