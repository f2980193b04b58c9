package io.mmemu.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hugetlb pools on the command line: {@code run --hugetlb} and {@code option hugetlb} (the
 * command line wins), the report's HugePages rows and JSON, a clear error for pages that do not
 * fit or a malformed value, and {@code replay --hugetlb}.
 */
final class HugetlbCommandTest
{
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PROGRAM = """
        option hugetlb 2M:1
        a = mmap(NULL, 4M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB, -1, 0)
        touch(a, 2M, PROT_WRITE) expect ok
        munmap(a, 4096) = -1 EINVAL (Invalid argument)
        """;

    @TempDir
    Path dir;

    @Test
    void runSizesThePoolsAndReportsThem() throws IOException
    {
        final Path program = Files.writeString(dir.resolve("h.mm"), PROGRAM);
        final CommandOutput small = CommandOutput.run("run", program.toString(), "--quiet", "--counters", "none");
        assertEquals(1, small.exitCode(), "the program's own pool of one page cannot cover 4 MiB: " + small.out() + small.err());
        // mmap returned -ENOMEM (-12), which the touch then used as its address
        assertTrue(small.out().contains("si_addr=0xfffffffffffffff4"), small.out());

        final CommandOutput r = CommandOutput.run("run", program.toString(), "--quiet", "--counters", "none",
            "--hugetlb", "2M:3,1G:0", "--json", "-");
        assertEquals(0, r.exitCode(), r.out() + r.err());
        final JsonNode report = JSON.readTree(r.out());
        assertEquals("2M:3,1G:0", report.path("options").path("hugetlb").asText());
        assertEquals(3L * (2 << 20), report.path("memory").path("hugetlb_bytes").asLong());
        final JsonNode pool = report.path("memory").path("hugepages").get(0);
        assertEquals(2L << 20, pool.path("page_size_bytes").asLong());
        assertEquals(3, pool.path("total").asLong());
        assertEquals(2, pool.path("free").asLong(), "one page faulted, still mapped at the end");
        assertEquals(1, pool.path("rsvd").asLong(), "the second page is reserved, never faulted");

        final CommandOutput table = CommandOutput.run("run", program.toString(), "--quiet", "--counters", "none",
            "--hugetlb", "2M:3");
        assertTrue(table.out().contains("HugePages 2.0 MiB    total 3  free 2  rsvd 1  surp 0"), table.out());
        assertTrue(table.out().contains("Hugetlb              6144 kB"), table.out());
    }

    @Test
    void poolsThatDoNotFitAndMalformedValuesAreClearErrors() throws IOException
    {
        final Path program = Files.writeString(dir.resolve("h.mm"), PROGRAM);
        final CommandOutput big = CommandOutput.run("run", program.toString(), "--quiet", "--counters", "none",
            "--physmem", "1G", "--hugetlb", "1G:1");
        assertTrue(big.exitCode() != 0, big.out());
        assertTrue(big.err().contains("hugetlb 1G:1: only 0 page(s) of 1G fit"), big.err());
        final CommandOutput bad = CommandOutput.run("run", program.toString(), "--quiet", "--counters", "none",
            "--hugetlb", "4M:1");
        assertTrue(bad.exitCode() != 0 && bad.err().contains("hugetlb page size must be 2M or 1G, not '4M'"), bad.err());
    }

    @Test
    void replayTakesThePoolsToo() throws IOException
    {
        final Path script = Files.writeString(dir.resolve("h.strace"), """
            mmap(NULL, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB, -1, 0) = 0x7ffff7c00000
            munmap(0x7ffff7c00000, 4096) = -1 EINVAL (Invalid argument)
            """);
        final CommandOutput none = CommandOutput.run("replay", script.toString());
        assertTrue(none.out().contains("ENOMEM"), "no pool: " + none.out());
        final CommandOutput r = CommandOutput.run("replay", script.toString(), "--hugetlb", "2M:1");
        assertEquals(0, r.exitCode(), r.out() + r.err());
        assertTrue(r.out().contains("= 0x7ffff7c00000") && r.out().contains("EINVAL"), r.out());
    }
}
