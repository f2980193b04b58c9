package io.mmemu.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every example in examples/ runs at a small size (its params set from the command line) with
 * every expectation met, in both locking modes; and every example is documented and listed here.
 */
final class ExamplesTest
{
    private static final Path EXAMPLES = Path.of("..", "examples");
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "seed.mm              | per-vma   | --set SIZE=1G --set PROBES=64",
        "seed.mm              | mmap-lock | --set SIZE=1G --set PROBES=64",
        "seed.mm              | per-vma   | --set SIZE=64M --set PROBES=64 --backing full --physmem 256M",
        "page_fault1.mm       | per-vma   | --set CHUNK=4M --set TIME=100ms --threads 2",
        "page_fault1.mm       | mmap-lock | --set CHUNK=4M --set TIME=100ms --threads 2",
        "populate_tib.mm      | per-vma   | --set SIZE=4G --physmem 16G",
        "fixed_storm.mm       | per-vma   | --set SIZE=32M --set TIME=100ms",
        "fixed_storm.mm       | mmap-lock | --set SIZE=32M --set TIME=100ms",
        "churn.mm             | per-vma   | --set SIZE=1M --set TIME=100ms --threads 2",
        "churn.mm             | mmap-lock | --set SIZE=1M --set TIME=100ms --threads 2",
        "mapbench_local.mm    | per-vma   | --set TIME=100ms --threads 2",
        "mapbench_pipeline.mm | per-vma   | --set ROUNDS=50 --threads 3",
        "mapbench_pipeline.mm | mmap-lock | --set ROUNDS=50 --threads 3",
        "mapbench_global.mm   | per-vma   | --set ROUNDS=50 --threads 3",
        "mapbench_global.mm   | mmap-lock | --set ROUNDS=50 --threads 3",
        "unmap_race.mm        | per-vma   | --set POPULATED=32M --set HOLE=8M --set TAIL=1M --physmem 256M --section 1M",
        "unmap_race.mm        | mmap-lock | --set POPULATED=32M --set HOLE=8M --set TAIL=1M --physmem 256M --section 1M",
        "views.mm             | per-vma   | --set SIZE=1M --set REGION=1M --threads 2 --views-dir target/examples-views",
        "views.mm             | mmap-lock | --set SIZE=1M --set REGION=1M --threads 2 --views-dir target/examples-views",
        "prefork.mm           | per-vma   | --set DATA=8M --set SCRATCH=1M --set WORKERS=3",
        "prefork.mm           | mmap-lock | --set DATA=8M --set SCRATCH=1M --set WORKERS=3",
        "thp.mm               | per-vma   | --views-dir target/examples-thp",
        "thp.mm               | mmap-lock | --views-dir target/examples-thp",
        "swap.mm              | per-vma   | --set SIZE=32M --physmem 8M --swap 48M",
        "swap.mm              | mmap-lock | --set SIZE=32M --physmem 8M --swap 48M",
    })
    void runsAtASmallSizeWithEveryExpectationMet(final String example, final String locking, final String options)
        throws IOException
    {
        final List<String> args = new ArrayList<>(List.of("run", EXAMPLES.resolve(example).toString(), "--locking", locking,
            "--json", "-", "--counters", "none"));
        args.addAll(List.of(options.trim().split(" +")));
        final CommandOutput r = CommandOutput.run(args.toArray(String[]::new));
        assertEquals("", r.err());
        final JsonNode report = JSON.readTree(r.out());
        assertEquals(0, report.path("failed_expectations").asLong(), () -> report.path("failures").toString());
        assertTrue(report.path("error").isNull(), () -> report.path("error").asText());
        assertTrue(report.path("counters").path("faults").asLong() > 0);
        assertEquals(0, r.exitCode());
    }

    /**
     * swap.mm under pressure (4x its memory): swap-outs and swap-ins happen, every swap-in is a
     * major fault, every slot is free again at the end, and the report's JSON carries the figures.
     */
    @Test
    void theSwapExampleSwapsOutAndBackInAndTheJsonSaysSo() throws IOException
    {
        final CommandOutput r = CommandOutput.run("run", EXAMPLES.resolve("swap.mm").toString(), "--set", "SIZE=32M",
            "--physmem", "8M", "--swap", "48M", "--json", "-", "--counters", "none");
        final JsonNode report = JSON.readTree(r.out());
        assertEquals(0, report.path("failed_expectations").asLong(), () -> report.path("failures").toString());
        final JsonNode memory = report.path("memory");
        final JsonNode reclaim = memory.path("reclaim");
        assertEquals(48L << 20, memory.path("swap_total_bytes").asLong() + 4096, "SwapTotal: all but the header slot");
        assertEquals(memory.path("swap_total_bytes").asLong(), memory.path("swap_free_bytes").asLong(), "no slot left in use");
        assertEquals(8L << 20, memory.path("mem_total_bytes").asLong());
        assertTrue(reclaim.path("swap_outs").asLong() >= (24L << 20) / 4096, reclaim.toString());
        assertTrue(reclaim.path("swap_ins").asLong() > 0, reclaim.toString());
        assertEquals(reclaim.path("swap_ins").asLong(), reclaim.path("major_faults").asLong());
        assertTrue(reclaim.path("stolen").asLong() > 0 && reclaim.path("scanned").asLong() >= reclaim.path("stolen").asLong());
        // meminfo's LRU sizes at the end: what is still mapped, on the lists, never more than memory
        final long lru = memory.path("active_anon_bytes").asLong(-1) + memory.path("inactive_anon_bytes").asLong(-1)
            + memory.path("active_file_bytes").asLong(-1) + memory.path("inactive_file_bytes").asLong(-1);
        assertTrue(lru >= 0 && lru <= memory.path("mem_total_bytes").asLong() - memory.path("mem_free_bytes").asLong(), memory.toString());
        assertTrue(reclaim.path("shared_stolen").isIntegralNumber() && reclaim.path("shared_stolen").asLong() <= reclaim.path("stolen").asLong(),
            reclaim.toString());
        assertEquals("50331648", report.path("options").path("swap").asText());
        assertEquals(0, report.path("counters").path("oom_kill").asLong());
        assertEquals(0, r.exitCode());
    }

    /**
     * The seed at its default size (64 GiB, about 10 s a mode): what issue 6 asks of it. Behind
     * {@code -Dmmemu.seed.full=true} to keep the suite short; whether a fault meets a locked VMA
     * depends on timing, which a 64 GiB unmap makes near certain and a small one does not.
     */
    @Test
    @EnabledIfSystemProperty(named = "mmemu.seed.full", matches = "true")
    void theSeedAtItsDefaultSizeWaitsOnLockedVmasOnlyWithPerVmaLocks() throws IOException
    {
        for (final String locking : new String[] {"per-vma", "mmap-lock"})
        {
            final CommandOutput r = CommandOutput.run("run", EXAMPLES.resolve("seed.mm").toString(), "--locking", locking,
                "--json", "-", "--counters", "none");
            final JsonNode report = JSON.readTree(r.out());
            assertEquals(0, report.path("failed_expectations").asLong(), () -> locking + ": " + report.path("failures"));
            final long waits = report.path("counters").path("fault_waits").asLong();
            assertTrue(locking.equals("per-vma") ? waits > 0 : waits == 0, () -> locking + ": fault_waits " + waits);
            assertEquals(0, r.exitCode());
        }
    }

    @Test
    void everyExampleIsDocumentedAndTested() throws IOException
    {
        final String tested = Files.readString(Path.of("src/test/java/io/mmemu/cli/ExamplesTest.java"));
        try (Stream<Path> files = Files.list(EXAMPLES))
        {
            final List<Path> examples = files.filter(p -> p.toString().endsWith(".mm")).sorted().toList();
            assertEquals(13, examples.size(), examples.toString());
            for (final Path example : examples)
            {
                final String name = example.getFileName().toString();
                final List<String> lines = Files.readAllLines(example);
                assertTrue(lines.get(0).startsWith("# " + name + " -- "), name + ": a header comment naming it");
                assertTrue(lines.stream().anyMatch(l -> l.startsWith("#   ./mmemu run examples/" + name)), name + ": how to run it");
                assertTrue(tested.contains("\"" + name + " "), name + " is run by this test");
            }
        }
    }
}
