package io.mmemu.diff;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
 * cases) with the output the host kernel printed for them.
 * <p>
 * {@link #theHostKernelStillPrintsEachFixture()} re-runs every script on this host and checks the
 * committed output is what the kernel prints (skipped on a different kernel release): that keeps
 * the fixtures honest. With {@code -Dmmemu.diff.regenerate=true} it writes the outputs instead.
 * {@link #theEmulatorPrintsWhatTheHostKernelPrinted()} runs each script on the emulator and
 * compares with the committed output, the emulator playing the kernel build the header records.
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

    @TestFactory
    Stream<DynamicTest> theHostKernelStillPrintsEachFixture() throws IOException
    {
        final HostReplay host = HostReplay.get();
        assumeTrue(host != null, HostReplay.unavailableReason());
        return Fixture.all().stream().map(fixture -> DynamicTest.dynamicTest(fixture.name(), () -> onHost(host, fixture)));
    }

    @TestFactory
    Stream<DynamicTest> theEmulatorPrintsWhatTheHostKernelPrinted() throws IOException
    {
        return Fixture.all().stream().map(fixture -> DynamicTest.dynamicTest(fixture.name(), () -> onEmulator(fixture)));
    }

    private static void onHost(final HostReplay host, final Fixture fixture) throws IOException
    {
        final List<String> options = new ArrayList<>(fixture.run().options());
        options.add("--baseline-vmas");
        final HostReplay.Result result = host.run(fixture.scriptText(), options);
        assertEquals(0, result.exitCode(), fixture.name() + ": " + result.err());
        final int baseline = Integer.parseInt(result.err().strip().substring("baseline-vmas: ".length()));
        if (Boolean.getBoolean(REGENERATE))
        {
            fixture.writeExpected(header(fixture, HostKernel.probe(host), baseline), result.out());
            return;
        }
        final Fixture.Expected expected = fixture.expected();
        assumeTrue(kernelRelease().equals(expected.kernel()), fixture.name() + " was produced on " + expected.kernel()
            + ", this is " + kernelRelease() + ": regenerate to compare");
        assumeTrue(!fixture.padMapCount() || baseline == expected.baselineVmas(), fixture.name() + ": the runner has "
            + baseline + " VMAs of its own here, " + expected.baselineVmas() + " when the fixture was made");
        assertEquals(ReplayDiff.normalise(expected.output()), ReplayDiff.normalise(result.out()),
            fixture.name() + ": the host kernel no longer prints the committed output; " + fixture.hostCommand());
    }

    private static void onEmulator(final Fixture fixture) throws IOException
    {
        final Fixture.Expected expected = fixture.expected();
        final int padding = fixture.padMapCount() ? expected.baselineVmas() : 0;
        final StringBuilder script = new StringBuilder();
        for (int i = 0; i < padding; i++)
        {
            // As many VMAs outside the window as the host runner had of its own; alternating
            // protections keep neighbours from merging.
            script.append("mmap(NULL, 4096, ").append(i % 2 == 0 ? "PROT_READ" : "PROT_NONE")
                .append(", MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n");
        }
        script.append(fixture.scriptText());
        final String known = KNOWN_DIFFERENCES.get(fixture.name());
        final ReplayRun.Output result;
        try
        {
            result = fixture.run().withKernel(expected.hostKernel()).onEmulator(fixture.name(), script.toString());
        }
        catch (final RuntimeException | AssertionError ex)
        {
            assumeTrue(known == null, "known difference: " + known + " (" + ex + ")");
            throw ex;
        }
        assertEquals(0, result.exitCode(), fixture.name() + ": " + result.err());
        final String output = result.out().lines().skip(padding).map(l -> l + "\n").reduce("", String::concat);
        final ReplayDiff.Difference difference = ReplayDiff.firstDifference(fixture.statements(), expected.output(), output);
        if (known != null)
        {
            assumeTrue(difference == null, () -> "known difference: " + known + "; now " + difference.describe());
            fail(fixture.name() + " now agrees with the host: take it off FixtureTest.KNOWN_DIFFERENCES");
        }
        if (difference != null)
        {
            fail(DifferentialTest.report(fixture.name(), -1, fixture.scriptText(),
                fixture.run().withKernel(expected.hostKernel()), expected.output(), output,
                difference) + "\nhost command: " + fixture.hostCommand());
        }
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
