package io.mmemu.check;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import io.mmemu.phys.Backing;
import io.mmemu.program.Program;
import io.mmemu.vm.LockingMode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Random concurrent programs (2-4 threads of 3-6 ops over one small window) on every locking mode
 * and backing: every run's history must be linearizable against the one-thread emulator, and the
 * invariant checker and frame accounting must hold after it. A failure's message is the shrunk
 * program, a {@code .mm} file with the failing history as comments.
 */
class LinearizabilityTest
{
    /** Scenarios per mode: the suite's share; {@code mmemu check --minutes M} soaks longer. */
    private static final int SCENARIOS = Integer.getInteger("mmemu.check.scenarios", 150);

    static Stream<Arguments> modes()
    {
        return Stream.of(LockingMode.values())
            .flatMap(locking -> Stream.of(Backing.values()).map(backing -> Arguments.of(locking, backing)));
    }

    @ParameterizedTest
    @MethodSource("modes")
    void historiesAreLinearizable(final LockingMode locking, final Backing backing) throws Exception
    {
        final Soak.Settings settings = new Soak.Settings(List.of(new Soak.Mode(locking, backing)), SCENARIOS, Long.MAX_VALUE,
            20261207L + locking.ordinal() * 2L + backing.ordinal(), ScenarioGenerator.standard(), 100,
            TimeUnit.SECONDS.toNanos(20), 1);
        final Soak.Summary summary = Soak.run(settings, Soak.Progress.NONE);
        if (!summary.violations().isEmpty())
        {
            final Violation violation = summary.violations().getFirst();
            // the reproducer must be a program mmemu run accepts
            Program.parse("violation.mm", violation.program(), Map.of());
            fail(violation.program());
        }
        final Soak.Tally tally = summary.tallies().values().iterator().next();
        assertEquals(SCENARIOS, tally.scenarios());
        assertEquals(0, tally.inconclusive(), "searches that ran out of budget");
    }

    /** Runs of each program under check/found: its violation showed in about 1 of 100 runs before its fix. */
    private static final int FOUND_RUNS = Integer.getInteger("mmemu.check.foundRuns", 300);

    static Stream<Path> found() throws IOException
    {
        try (Stream<Path> files = Files.list(Path.of("src/test/resources/check/found")))
        {
            return files.filter(f -> f.toString().endsWith(".mm")).sorted().toList().stream();
        }
    }

    /**
     * The programs the soak found violations in, each fixed since (the fix's own test is
     * deterministic; this runs the recorded program as it was found): none may fail again.
     */
    @ParameterizedTest
    @MethodSource("found")
    void foundViolationsStayFixed(final Path program) throws Exception
    {
        final Scenario scenario = ProgramText.parse(program.toString(), Files.readString(program));
        final SplittableRandom jitter = new SplittableRandom(20261207L);
        try (CheckMachine machine = new CheckMachine(scenario.backing()))
        {
            for (int i = 0; i < FOUND_RUNS; i++)
            {
                final CheckMachine.Result result = machine.run(scenario, jitter);
                if (result.failed())
                {
                    fail(program + ": run " + i + " of " + FOUND_RUNS + " failed:\n" +
                        new Violation(result.history(), 1, result.history(), result.verdict(), 1, i + 1).program());
                }
            }
        }
    }
}
