package io.mmemu.check;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import io.mmemu.phys.Backing;
import io.mmemu.program.Report;
import io.mmemu.vm.LockingMode;

/**
 * Scenarios after scenarios, round robin over the modes (locking × backing), each run and its
 * history checked; a failing one is shrunk and kept as a {@link Violation}. Scenario k of a mode
 * is the same program for the same seed (its interleaving is the machine's). Used by
 * {@code mmemu check} and the suite's linearizability test.
 */
public final class Soak
{
    /** A locking mode on a backing. */
    public record Mode(LockingMode locking, Backing backing)
    {
        public String name()
        {
            return locking.cliName() + "/" + Report.backingName(backing);
        }
    }

    /**
     * What to run.
     *
     * @param scenariosPerMode stop each mode after this many (Long.MAX_VALUE: until the deadline)
     * @param deadline         {@link System#nanoTime} after which no scenario starts (Long.MAX_VALUE: none)
     * @param shrinkAttempts   runs of a candidate before shrinking calls it passing
     * @param shrinkNanos      time for shrinking one violation
     * @param maxViolations    stop after this many
     */
    public record Settings(List<Mode> modes, long scenariosPerMode, long deadline, long seed, ScenarioGenerator generator,
        int shrinkAttempts, long shrinkNanos, int maxViolations)
    {
    }

    /** Counts of one mode. */
    public static final class Tally
    {
        private long scenarios;
        private long inconclusive;
        private long violations;
        private long modelSteps;

        /** Scenarios run, each one history checked. */
        public long scenarios()
        {
            return scenarios;
        }

        /** Histories whose search ran out of budget (neither passed nor failed). */
        public long inconclusive()
        {
            return inconclusive;
        }

        public long violations()
        {
            return violations;
        }

        public long modelSteps()
        {
            return modelSteps;
        }
    }

    /** Told after every scenario (cheap calls only: it runs on the soak's thread). */
    @FunctionalInterface
    public interface Progress
    {
        Progress NONE = (tallies, violation) -> { };

        /** @param violation the violation this scenario found, after shrinking, or null */
        void scenario(Map<Mode, Tally> tallies, Violation violation);
    }

    public record Summary(Map<Mode, Tally> tallies, List<Violation> violations, long nanos)
    {
        public long scenarios()
        {
            return tallies.values().stream().mapToLong(Tally::scenarios).sum();
        }
    }

    private Soak()
    {
    }

    public static Summary run(final Settings settings, final Progress progress)
    {
        final long start = System.nanoTime();
        final Map<Mode, Tally> tallies = new LinkedHashMap<>();
        final Map<Mode, SplittableRandom> programs = new LinkedHashMap<>();
        for (int m = 0; m < settings.modes().size(); m++)
        {
            final Mode mode = settings.modes().get(m);
            tallies.put(mode, new Tally());
            programs.put(mode, new SplittableRandom(settings.seed() * 0x9E3779B97F4A7C15L + m));
        }
        final List<Violation> violations = new ArrayList<>();
        final SplittableRandom jitter = new SplittableRandom(settings.seed());
        final Map<Backing, CheckMachine> machines = new EnumMap<>(Backing.class);
        try
        {
            boolean more = true;
            while (more && violations.size() < settings.maxViolations())
            {
                more = false;
                for (final Mode mode : settings.modes())
                {
                    final Tally tally = tallies.get(mode);
                    if (tally.scenarios >= settings.scenariosPerMode() || System.nanoTime() >= settings.deadline()
                        || violations.size() >= settings.maxViolations())
                    {
                        continue;
                    }
                    more = true;
                    final CheckMachine machine = machines.computeIfAbsent(mode.backing(), CheckMachine::new);
                    final Scenario scenario = settings.generator().next(programs.get(mode).split(), mode.locking(), mode.backing());
                    final CheckMachine.Result result = machine.run(scenario, jitter);
                    tally.scenarios++;
                    tally.modelSteps += result.verdict().steps();
                    if (result.verdict().inconclusive())
                    {
                        tally.inconclusive++;
                    }
                    Violation violation = null;
                    if (result.failed())
                    {
                        tally.violations++;
                        violation = machine.shrink(scenario, result, settings.shrinkAttempts(),
                            System.nanoTime() + settings.shrinkNanos(), jitter);
                        violations.add(violation);
                    }
                    progress.scenario(tallies, violation);
                }
            }
        }
        finally
        {
            machines.values().forEach(CheckMachine::close);
        }
        return new Summary(tallies, violations, System.nanoTime() - start);
    }

    /** The modes of the given lockings and backings, in that order. */
    public static List<Mode> modes(final List<LockingMode> lockings, final List<Backing> backings)
    {
        final List<Mode> modes = new ArrayList<>();
        for (final LockingMode locking : lockings)
        {
            for (final Backing backing : backings)
            {
                modes.add(new Mode(locking, backing));
            }
        }
        return modes;
    }
}
