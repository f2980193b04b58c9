package io.mmemu.check;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.script.Call;

/**
 * One backing's pair of machines: the physical memory scenarios run on and the model's. Runs a
 * scenario and checks its history; shrinks a failing scenario by delta debugging (drop a thread,
 * drop an op, halve a length, as long as some of a few re-runs still fails). Not thread-safe.
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

    public Result run(final Scenario scenario, final SplittableRandom jitter)
    {
        if (scenario.backing() != backing)
        {
            throw new IllegalArgumentException("a " + scenario.backing() + " scenario on a " + backing + " machine");
        }
        final History history = ConcurrentRun.run(runMemory, scenario, jitter);
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
     * Shrinks {@code failing} (whose run {@code first} failed) until no smaller variant fails in any
     * of {@code attempts} runs, or the deadline ({@link System#nanoTime}) passes.
     */
    public Violation shrink(final Scenario failing, final Result first, final int attempts, final long deadline,
        final SplittableRandom jitter)
    {
        Scenario current = failing;
        Result failure = first;
        boolean progress = true;
        while (progress && System.nanoTime() < deadline)
        {
            progress = false;
            for (final Scenario candidate : smaller(current))
            {
                if (System.nanoTime() >= deadline)
                {
                    break;
                }
                final Result result = firstFailure(candidate, first, attempts, jitter);
                if (result != null)
                {
                    current = candidate;
                    failure = result;
                    progress = true;
                    break;
                }
            }
        }
        int reproduced = 0;
        for (int i = 0; i < attempts; i++)
        {
            final Result result = run(current, jitter);
            if (result.failed() && result.failsLike(first))
            {
                reproduced++;
            }
        }
        return new Violation(first.history(), failure.history(), failure.verdict(), reproduced, attempts);
    }

    /** The first of up to {@code attempts} runs of {@code scenario} that fails as {@code like} did, or null. */
    private Result firstFailure(final Scenario scenario, final Result like, final int attempts, final SplittableRandom jitter)
    {
        for (int i = 0; i < attempts; i++)
        {
            final Result result = run(scenario, jitter);
            if (result.failed() && result.failsLike(like))
            {
                return result;
            }
        }
        return null;
    }

    /** Every one-step smaller variant, the biggest cuts first. */
    static List<Scenario> smaller(final Scenario s)
    {
        final List<Scenario> candidates = new ArrayList<>();
        if (s.threads().size() > 1)
        {
            for (int t = 0; t < s.threads().size(); t++)
            {
                final List<List<Op>> threads = new ArrayList<>(s.threads());
                threads.remove(t);
                candidates.add(s.withThreads(threads));
            }
        }
        for (int t = -1; t < s.threads().size(); t++)
        {
            final List<Op> ops = s.ops(t);
            for (int i = ops.size() - 1; i >= 0; i--)
            {
                if (t >= 0 && ops.size() == 1)
                {
                    continue; // a thread keeps one op; dropping the thread is tried above
                }
                final List<Op> fewer = new ArrayList<>(ops);
                fewer.remove(i);
                candidates.add(s.withOps(t, fewer));
            }
        }
        for (int t = -1; t < s.threads().size(); t++)
        {
            final List<Op> ops = s.ops(t);
            for (int i = 0; i < ops.size(); i++)
            {
                for (final int arg : lengthArguments(ops.get(i).call()))
                {
                    final long length = ops.get(i).argument(arg);
                    if (length > ScenarioGenerator.PAGE)
                    {
                        final long half = Math.max(ScenarioGenerator.PAGE, (length / 2) & -ScenarioGenerator.PAGE);
                        final List<Op> shorter = new ArrayList<>(ops);
                        shorter.set(i, ops.get(i).with(arg, half));
                        candidates.add(s.withOps(t, shorter));
                    }
                }
            }
        }
        return candidates;
    }

    private static int[] lengthArguments(final Call call)
    {
        return switch (call)
        {
            case MMAP, MUNMAP, MPROTECT, MADVISE -> new int[] {1};
            case MREMAP -> new int[] {1, 2};
            default -> new int[0];
        };
    }

    @Override
    public void close()
    {
        runMemory.close();
        modelMemory.close();
    }
}
