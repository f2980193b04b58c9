package io.mmemu.diff;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import io.mmemu.vm.KernelConfig;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Conformance fixtures ({@link Fixture}): hand-written scripts (the kernel selftests'
 * map_fixed_noreplace and mremap cases, max_map_count exhaustion, page states, host-versus-man-page
 * cases) with the output the host kernel printed for them when they were made.
 * <p>
 * {@link #theLiveKernelPrintsWhatTheEmulatorPrints()} runs every script on this host's kernel (the
 * runner built on first use) and on the emulator playing this kernel's build, and compares: any
 * kernel build, not only the one that recorded the fixtures. A fixture is skipped only for a
 * {@link KernelDifference} known to be present here, which the skip names. With
 * {@code -Dmmemu.diff.regenerate=true} it writes the recorded outputs instead.
 * {@link #theEmulatorPrintsWhatTheHostKernelPrinted()} checks the emulator alone against the
 * recorded output, the emulator playing the kernel build the header records: it runs where no host
 * runner can.
 */
class FixtureTest
{
    private static final String REGENERATE = "mmemu.diff.regenerate";
    /**
     * Fixtures the emulator does not reproduce yet, with the reason (an engine difference). They
     * run, and are reported as skipped with the reason while they still differ; one that starts
     * to agree fails, so that it is taken off this list.
     */
    static final Map<String, String> KNOWN_DIFFERENCES = Map.of();
    /** Emulator runs by fixture, padding and kernel build: the two tests share a run when they can. */
    private static final Map<String, ReplayRun.Output> EMULATOR_RUNS = new ConcurrentHashMap<>();

    @TestFactory
    Stream<DynamicTest> theLiveKernelPrintsWhatTheEmulatorPrints() throws IOException
    {
        final HostReplay host = HostReplay.get();
        assumeTrue(host != null, HostReplay.unavailableReason());
        final KernelConfig build = HostKernel.probe(host);
        final KernelDifference.Host live = KernelDifference.Host.live();
        return Fixture.all().stream().map(fixture -> DynamicTest.dynamicTest(fixture.name(),
            () -> onLiveKernel(host, build, live, fixture)));
    }

    @TestFactory
    Stream<DynamicTest> theEmulatorPrintsWhatTheHostKernelPrinted() throws IOException
    {
        return Fixture.all().stream().map(fixture -> DynamicTest.dynamicTest(fixture.name(), () -> onEmulator(fixture)));
    }

    private static void onLiveKernel(final HostReplay host, final KernelConfig build, final KernelDifference.Host live,
        final Fixture fixture) throws IOException
    {
        final Optional<KernelDifference> excused = KernelDifference.excusing(fixture.name(), live);
        assumeTrue(excused.isEmpty(), () -> excused.get().describe() + " (fixture " + fixture.name() + ")");
        final List<String> options = new ArrayList<>(fixture.run().options());
        options.add("--baseline-vmas");
        final HostReplay.Result result = host.run(fixture.scriptText(), options);
        assertEquals(0, result.exitCode(), fixture.name() + ": " + result.err());
        final int baseline = Integer.parseInt(result.err().strip().substring("baseline-vmas: ".length()));
        if (Boolean.getBoolean(REGENERATE))
        {
            fixture.writeExpected(header(fixture, build, baseline), result.out());
            return;
        }
        compare(fixture, fixture.name() + "-live", result.out(), fixture.padMapCount() ? baseline : 0, build,
            "\nthis kernel: " + kernelRelease() + " (" + HostKernel.describe(build) + ")");
    }

    private static void onEmulator(final Fixture fixture) throws IOException
    {
        final Fixture.Expected expected = fixture.expected();
        compare(fixture, fixture.name(), expected.output(), fixture.padMapCount() ? expected.baselineVmas() : 0,
            expected.hostKernel(), "\nrecorded on: " + expected.kernel());
    }

    /**
     * Runs the fixture on the emulator as {@code kernel} after {@code padding} VMAs and compares with
     * the kernel's output; a fixture on {@link #KNOWN_DIFFERENCES} skips while it still differs.
     */
    private static void compare(final Fixture fixture, final String name, final String kernelOutput, final int padding,
        final KernelConfig kernel, final String context) throws IOException
    {
        final String known = KNOWN_DIFFERENCES.get(fixture.name());
        final String output = emulatorOutput(fixture, padding, kernel, known);
        final ReplayDiff.Difference difference = ReplayDiff.firstDifference(fixture.statements(), kernelOutput, output);
        if (known != null)
        {
            assumeTrue(difference == null, () -> "known difference: " + known + "; now " + difference.describe());
            fail(fixture.name() + " now agrees with the host: take it off FixtureTest.KNOWN_DIFFERENCES");
        }
        if (difference != null)
        {
            fail(DifferentialTest.report(name, -1, fixture.scriptText(), fixture.run().withKernel(kernel), kernelOutput,
                output, difference) + context + "\nhost command: " + fixture.hostCommand());
        }
    }

    /**
     * The emulator's output for the fixture's statements, after {@code padding} VMAs outside the
     * window (as many as the host runner had of its own, where the fixture counts VMAs).
     */
    private static String emulatorOutput(final Fixture fixture, final int padding, final KernelConfig kernel,
        final String known)
    {
        final String key = fixture.name() + " " + padding + " " + HostKernel.describe(kernel);
        final ReplayRun.Output result;
        try
        {
            result = EMULATOR_RUNS.computeIfAbsent(key, k -> runOnEmulator(fixture, padding, kernel));
        }
        catch (final RuntimeException | AssertionError ex)
        {
            assumeTrue(known == null, "known difference: " + known + " (" + ex + ")");
            throw ex;
        }
        assertEquals(0, result.exitCode(), fixture.name() + ": " + result.err());
        return result.out().lines().skip(padding).map(l -> l + "\n").collect(Collectors.joining());
    }

    private static ReplayRun.Output runOnEmulator(final Fixture fixture, final int padding, final KernelConfig kernel)
    {
        final StringBuilder script = new StringBuilder();
        for (int i = 0; i < padding; i++)
        {
            // alternating protections keep neighbours from merging
            script.append("mmap(NULL, 4096, ").append(i % 2 == 0 ? "PROT_READ" : "PROT_NONE")
                .append(", MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n");
        }
        script.append(fixture.scriptText());
        return fixture.run().withKernel(kernel).onEmulator(fixture.name(), script.toString());
    }

    static String kernelRelease() throws IOException
    {
        return "Linux " + Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip() + " " + System.getProperty("os.arch");
    }

    private static String header(final Fixture fixture, final KernelConfig kernel, final int baseline) throws IOException
    {
        return "# The host kernel's output for " + fixture.script().getFileName() + ": produced by the host runner\n"
            + "# (tests/src/test/c/replay_ref.c) on a real Linux kernel, not by mmemu.\n"
            + Fixture.KERNEL + kernelRelease() + "\n"
            + Fixture.HOST_KERNEL + HostKernel.describe(kernel) + "\n"
            + Fixture.BASELINE + baseline + "\n"
            + "# command (from the repository root): " + fixture.hostCommand() + "\n"
            + "# regenerate: mvn -q -B -pl tests -am test -Dtest=FixtureTest -D" + REGENERATE + "=true"
            + " -Dsurefire.failIfNoSpecifiedTests=false\n";
    }
}
