package io.mmemu.check;

import java.util.List;
import java.util.SplittableRandom;

import io.mmemu.phys.Backing;
import io.mmemu.script.Call;
import io.mmemu.vm.LockingMode;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Delta debugging finds the smallest program a failure needs, and its text parses back as the same calls. */
class ShrinkerTest
{
    /** "Fails" when one thread unmaps and another reads: the shrunk program is exactly that, at one page. */
    @Test
    void shrinksToTheOpsTheFailureNeeds()
    {
        final ScenarioGenerator generator = new ScenarioGenerator(4, 4, 6, 6, java.util.Set.of());
        final SplittableRandom random = new SplittableRandom(3);
        int shrunk = 0;
        for (int k = 0; k < 50; k++)
        {
            final Scenario scenario = generator.next(random, LockingMode.PER_VMA, Backing.FULL);
            if (!unmapAndReadInTwoThreads(scenario))
            {
                continue;
            }
            final Scenario result = Shrinker.shrink(scenario, ShrinkerTest::unmapAndReadInTwoThreads, Long.MAX_VALUE);
            assertEquals(0, result.setup().size(), () -> ProgramText.program(result, null));
            assertEquals(2, result.threads().size(), () -> ProgramText.program(result, null));
            assertEquals(List.of(1, 1), result.threads().stream().map(List::size).toList());
            final List<Op> ops = result.threads().stream().map(List::getFirst).toList();
            assertTrue(ops.stream().anyMatch(Op::isRead));
            assertTrue(ops.stream().anyMatch(op -> op.call() == Call.MUNMAP && op.argument(1) == ScenarioGenerator.PAGE),
                () -> ProgramText.program(result, null));
            shrunk++;
        }
        assertTrue(shrunk >= 5, "scenarios with both ops: " + shrunk);
    }

    private static boolean unmapAndReadInTwoThreads(final Scenario s)
    {
        for (int a = 0; a < s.threads().size(); a++)
        {
            for (int b = 0; b < s.threads().size(); b++)
            {
                if (a != b && s.threads().get(a).stream().anyMatch(op -> op.call() == Call.MUNMAP)
                    && s.threads().get(b).stream().anyMatch(Op::isRead))
                {
                    return true;
                }
            }
        }
        return false;
    }
}
