package io.mmemu.check;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

import io.mmemu.script.Call;

/**
 * Delta debugging of a failing scenario: one step at a time, the first smaller variant that still
 * fails replaces it — drop a thread, drop an op (the setup's too), halve a length — until no
 * variant fails or time is up. A thread keeps at least one op; the last thread stays.
 */
final class Shrinker
{
    private Shrinker()
    {
    }

    /**
     * @param fails    whether a variant still fails (for a race: in one of several runs)
     * @param deadline {@link System#nanoTime} after which the current scenario is returned
     */
    static Scenario shrink(final Scenario failing, final Predicate<Scenario> fails, final long deadline)
    {
        Scenario current = failing;
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
                if (fails.test(candidate))
                {
                    current = candidate;
                    progress = true;
                    break;
                }
            }
        }
        return current;
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
}
