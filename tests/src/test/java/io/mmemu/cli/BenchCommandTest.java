package io.mmemu.cli;

import java.io.IOException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.mmemu.bench.workload.HostProgram;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code mmemu bench} at a tiny size: each workload runs on both sides and prints its runs and
 * the ratio line; bad input exits 2. No timing is asserted: only that work was done and reported.
 */
final class BenchCommandTest
{
    private static final Pattern RATIO = Pattern.compile("(?m)^ratio emulator/host: (\\d+\\.\\d\\d)$");
    private static final Pattern RUN = Pattern.compile("(?m)^(emulator per-vma|host)\\s+run 1:\\s+([\\d,]+) ops/s total");

    private static String hostMissing;

    @BeforeAll
    static void buildHost()
    {
        try
        {
            HostProgram.build();
        }
        catch (final IOException ex)
        {
            hostMissing = ex.getMessage();
        }
    }

    private static void assumeHost()
    {
        assumeTrue(hostMissing == null, () -> "no host side here: " + hostMissing);
    }

    /** The ratio line is the last line and both sides did some operations. */
    private static void assertCompared(final CommandOutput result)
    {
        assertEquals(0, result.exitCode(), result.err());
        final String[] lines = result.out().strip().split("\n");
        final Matcher ratio = RATIO.matcher(lines[lines.length - 1]);
        assertTrue(ratio.matches(), () -> "no ratio line at the end of:\n" + result.out());
        assertTrue(Double.parseDouble(ratio.group(1)) > 0, result.out());
        final Matcher run = RUN.matcher(result.out());
        int sides = 0;
        while (run.find())
        {
            sides++;
            assertTrue(Long.parseLong(run.group(2).replace(",", "")) > 0, () -> "a side did nothing:\n" + result.out());
        }
        assertEquals(2, sides, result.out());
    }

    @Test
    void pageFault1ComparesOnTwoThreads()
    {
        assumeHost();
        final CommandOutput result = CommandOutput.run("bench", "page_fault1", "--compare", "--threads", "2",
            "--seconds", "0.05", "--reps", "1", "--size", "1M");
        assertCompared(result);
        assertTrue(result.out().contains("(2 threads: "), result.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"page_fault1_guard", "mmap1", "page_fault2", "page_fault3", "mmap2"})
    void theOtherWorkloadsCompare(final String workload)
    {
        assumeHost();
        assertCompared(CommandOutput.run("bench", workload, "--compare", "--seconds", "0.05", "--reps", "1", "--size", "1M"));
    }

    @Test
    void seedComparesInBothLockingModes()
    {
        assumeHost();
        for (final String mode : new String[] {"per-vma", "mmap-lock"})
        {
            final CommandOutput result = CommandOutput.run("bench", "seed", "--compare", "--locking", mode,
                "--threads", "1", "--seconds", "0.1", "--reps", "1", "--size", "1M", "--big", "64M", "--host-big", "8M");
            assertEquals(0, result.exitCode(), result.err());
            assertTrue(result.out().contains("munmap of 16,384 pages"), result.out());
            assertTrue(result.out().contains("munmap of 2,048 pages"), result.out());
            assertTrue(RATIO.matcher(result.out()).find(), result.out());
        }
    }

    @Test
    void emulatorOnlyPrintsMedianWithoutRatio()
    {
        final CommandOutput result = CommandOutput.run("bench", "page_fault1", "--seconds", "0.05", "--reps", "2",
            "--size", "1M");
        assertEquals(0, result.exitCode(), result.err());
        assertTrue(result.out().contains("emulator per-vma:            median"), result.out());
        assertTrue(result.out().contains("over 2 runs"), result.out());
        assertTrue(!RATIO.matcher(result.out()).find(), result.out());
    }

    @Test
    void badInputExitsTwo()
    {
        final CommandOutput unknown = CommandOutput.run("bench", "page_fault9");
        assertEquals(2, unknown.exitCode());
        assertTrue(unknown.err().contains("unknown workload 'page_fault9'"), unknown.err());
        final CommandOutput none = CommandOutput.run("bench");
        assertEquals(2, none.exitCode());
        final CommandOutput size = CommandOutput.run("bench", "mmap1", "--size", "1000");
        assertEquals(2, size.exitCode());
        assertTrue(size.err().contains("multiple of 4 KiB"), size.err());
        final CommandOutput both = CommandOutput.run("bench", "mmap1", "--host", "--compare");
        assertEquals(2, both.exitCode());
    }
}
