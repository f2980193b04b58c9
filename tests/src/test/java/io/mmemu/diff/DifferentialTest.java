package io.mmemu.diff;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.ThpSettings;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The differential test: seeded random scripts ({@link ScriptGenerator}) run on the host kernel
 * (the C runner) and on the emulator ({@code Replay.run}, in-process) must print the same results,
 * the same maps lines inside the window and the same pagemap words over the arena; THP scripts
 * ({@link ThpScriptGenerator}, under the host's THP settings) and forking ones also the smaps
 * blocks, and every process's views (docs/differential.md).
 * <p>
 * Seeds 1..300 of each generator by default; {@code -Dmmemu.diff.seeds=N} runs seeds 1..N, {@code -Dmmemu.diff.seed=S}
 * (or {@code S1,S2,...}) runs those alone; {@code -Dmmemu.diff.minimize=true} adds to each failure
 * the smallest script found that still shows the difference ({@link ScriptMinimizer}). A failing
 * seed leaves its script and both outputs in
 * {@code target/diff-failures/} and says how to replay it on either side by hand.
 */
class DifferentialTest
{
    static final int DEFAULT_SEEDS = 300;
    static final Path FAILURES = Path.of("target", "diff-failures");

    private static HostReplay host;
    private static KernelConfig kernel;
    /** The host's THP settings, which the emulator plays in the THP and fork scripts. */
    private static ThpSettings thp;

    @BeforeAll
    static void buildTheHostRunner() throws IOException
    {
        host = HostReplay.get();
        assumeTrue(host != null, HostReplay.unavailableReason());
        kernel = HostKernel.probe(host);
        thp = ThpSettings.host();
        System.out.println("DifferentialTest: THP scripts run with the host's settings, " + thp.describe());
        if (!kernel.equals(KernelConfig.MAINLINE))
        {
            System.out.println("DifferentialTest: the host kernel is not a mainline build (" + HostKernel.describe(kernel)
                + "): the emulator plays the same build");
        }
    }

    @TestFactory
    Stream<DynamicTest> generatedScriptsPrintTheSameOnTheHostAndTheEmulator()
    {
        return seeds().mapToObj(seed -> DynamicTest.dynamicTest("seed " + seed, () -> compare(seed)));
    }

    /**
     * THP scripts ({@link ThpScriptGenerator}) with the host's THP settings on both sides, maps,
     * smaps (AnonHugePages, THPeligible) and pagemap over the 64 MiB arena. A seed whose host run
     * fell back from a huge page (no free order-9 block, however hard defrag tried) or met
     * khugepaged is skipped, saying so: its output is the host's memory state, not the kernel's rules.
     */
    @TestFactory
    Stream<DynamicTest> thpScriptsPrintTheSameOnTheHostAndTheEmulator()
    {
        return seeds().mapToObj(seed -> DynamicTest.dynamicTest("thp seed " + seed,
            () -> compareThp("thp-seed-" + seed, seed, false)));
    }

    /**
     * Scripts that fork (once or twice) with THP regions, MADV_DONTFORK and MADV_WIPEONFORK, and
     * lines in either process after the fork: results, then maps, smaps and pagemap (the exclusive
     * bit 56 included) of every process.
     */
    @TestFactory
    Stream<DynamicTest> forkingScriptsPrintTheSameOnTheHostAndTheEmulator()
    {
        return seeds().mapToObj(seed -> DynamicTest.dynamicTest("fork seed " + seed,
            () -> compareThp("fork-seed-" + seed, seed, true)));
    }

    private static void compareThp(final String name, final long seed, final boolean forks) throws IOException
    {
        final List<String> statements = new ThpScriptGenerator(seed, forks).generate();
        final String script = ScriptGenerator.text(statements);
        final ReplayRun run = ReplayRun.thp(kernel, thp);
        final HostReplay.Result onHost = host.run(script, run.options());
        assertEquals(0, onHost.exitCode(), "the host runner failed on " + name + " (a harness bug):\n" + onHost.err()
            + "\n" + script);
        final String undetermined = HostThp.undetermined(onHost.err());
        assumeTrue(undetermined == null, () -> name + ": " + undetermined);
        final ReplayRun.Output onEmulator;
        try
        {
            onEmulator = run.onEmulator(name, script);
        }
        catch (final RuntimeException | AssertionError ex)
        {
            throw new AssertionError("the emulator threw on " + name + "\nscript:\n" + script, ex);
        }
        assertEquals(0, onEmulator.exitCode(), "mmemu replay failed on " + name + ":\n" + onEmulator.err());
        final ReplayDiff.Difference difference =
            ReplayDiff.firstDifference(statements, onHost.out(), onEmulator.out());
        if (difference != null)
        {
            fail(report(name, -1, script, run, onHost.out(), onEmulator.out(), difference)
                + "  mvn -q -B -pl tests -am test -Dtest=DifferentialTest -Dmmemu.diff.seed=" + seed
                + " -Dsurefire.failIfNoSpecifiedTests=false\n" + minimized(statements, run));
        }
    }

    static LongStream seeds()
    {
        final String one = System.getProperty("mmemu.diff.seed");
        if (one != null && !one.isBlank())
        {
            return Arrays.stream(one.split(",")).mapToLong(seed -> Long.parseLong(seed.trim()));
        }
        return LongStream.rangeClosed(1, Integer.getInteger("mmemu.diff.seeds", DEFAULT_SEEDS));
    }

    private static void compare(final long seed) throws IOException
    {
        final List<String> statements = new ScriptGenerator(seed).generate();
        final String script = ScriptGenerator.text(statements);
        final ReplayRun run = ReplayRun.generated().withKernel(kernel);
        final HostReplay.Result onHost = host.run(script, run.options());
        assertEquals(0, onHost.exitCode(), "the host runner failed on seed " + seed + " (a harness bug):\n" + onHost.err()
            + "\n" + script);
        final ReplayRun.Output onEmulator;
        try
        {
            onEmulator = run.onEmulator("seed-" + seed, script);
        }
        catch (final RuntimeException | AssertionError ex)
        {
            throw new AssertionError("the emulator threw on seed " + seed + minimized(statements, run) + "\nscript:\n"
                + script, ex);
        }
        assertEquals(0, onEmulator.exitCode(), "mmemu replay failed on seed " + seed + ":\n" + onEmulator.err());

        final ReplayDiff.Difference difference =
            ReplayDiff.firstDifference(statements, onHost.out(), onEmulator.out());
        if (difference != null)
        {
            fail(report("seed-" + seed, seed, script, run, onHost.out(), onEmulator.out(), difference)
                + minimized(statements, run));
        }
    }

    /** With -Dmmemu.diff.minimize=true: the smallest script showing the same difference. */
    private static String minimized(final List<String> statements, final ReplayRun run) throws IOException
    {
        if (!Boolean.getBoolean("mmemu.diff.minimize"))
        {
            return "";
        }
        final List<String> minimal = new ScriptMinimizer(host, run).minimize(statements);
        final String script = ScriptGenerator.text(minimal);
        final HostReplay.Result onHost = host.run(script, run.options());
        String emulator;
        try
        {
            emulator = run.onEmulator("minimal", script).out();
        }
        catch (final RuntimeException | AssertionError ex)
        {
            emulator = "throws " + ex;
        }
        return "\nminimal script (" + minimal.size() + " statements):\n" + script + "host:\n" + onHost.out()
            + "emulator:\n" + emulator;
    }

    /** Writes the script and both outputs under target/diff-failures and says how to reproduce. */
    static String report(final String name, final long seed, final String script, final ReplayRun run, final String hostOut,
        final String emulatorOut, final ReplayDiff.Difference difference) throws IOException
    {
        Files.createDirectories(FAILURES);
        final Path scriptFile = FAILURES.resolve(name + ".script");
        Files.writeString(scriptFile, script, StandardCharsets.UTF_8);
        Files.writeString(FAILURES.resolve(name + ".host"), hostOut, StandardCharsets.UTF_8);
        Files.writeString(FAILURES.resolve(name + ".emulator"), emulatorOut, StandardCharsets.UTF_8);
        final String options = String.join(" ", run.options());
        final String path = Path.of("tests").resolve(scriptFile).toString();
        return name + ": the emulator differs from the host kernel, " + difference.describe() + "\n"
            + "reproduce (from the repository root):\n"
            + "  ./mmemu replay " + path + " " + run.emulatorCommandOptions() + "\n"
            + "  tests/target/replay_ref " + path + " " + options + "\n"
            + (seed >= 0 ? "  mvn -q -B -pl tests -am test -Dtest=DifferentialTest -Dmmemu.diff.seed=" + seed
                + " -Dsurefire.failIfNoSpecifiedTests=false\n" : "")
            + "outputs: " + Path.of("tests").resolve(FAILURES) + "/" + name + ".{host,emulator}\n"
            + "script:\n" + script;
    }
}
