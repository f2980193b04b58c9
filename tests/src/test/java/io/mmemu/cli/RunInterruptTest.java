package io.mmemu.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.mmemu.program.CountersFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Ctrl-C: a {@code mmemu run} in a process of its own gets SIGINT while its threads loop, stops
 * them, prints the report marked INTERRUPTED, removes its counters file and exits with the JVM's
 * 130.
 */
@Timeout(120)
final class RunInterruptTest
{
    @TempDir
    Path dir;

    @Test
    void sigintStopsTheRunAndStillPrintsTheReport() throws IOException, InterruptedException
    {
        final Path program = Files.writeString(dir.resolve("loop.mm"), """
            a = mmap(NULL, 1G, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0)
            parallel 2 {
                for 1h {
                    touch(a, 1G, PROT_WRITE) random 1000 expect ok
                }
            }
            """);
        final Path counters = dir.resolve("loop.counters");
        final String java = ProcessHandle.current().info().command().orElseThrow();
        final Process process = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED",
            "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
            Main.class.getName(), "run", program.toString(), "--backing", "tables-only", "--physmem", "2G",
            "--counters", counters.toString())
            .redirectOutput(dir.resolve("out.txt").toFile())
            .redirectError(dir.resolve("err.txt").toFile())
            .start();
        try
        {
            awaitLive(counters, process);
            final Process kill = new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).inheritIO().start();
            assertEquals(0, kill.waitFor());
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the run ends after SIGINT");
        }
        finally
        {
            process.destroyForcibly();
        }
        final String out = Files.readString(dir.resolve("out.txt"), StandardCharsets.UTF_8);
        assertEquals(130, process.exitValue(), () -> out + readQuietly(dir.resolve("err.txt")));
        final List<String> lines = out.lines().toList();
        assertTrue(lines.get(0).endsWith(" -- INTERRUPTED"), out);
        assertTrue(out.contains("failed expectations  0"), out);
        assertFalse(Files.exists(counters), "the counters file is removed");
    }

    private static void awaitLive(final Path counters, final Process process) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline && process.isAlive())
        {
            if (Files.exists(counters))
            {
                try (CountersFile file = CountersFile.open(counters))
                {
                    if (file.live())
                    {
                        return;
                    }
                }
                catch (final IOException halfWritten)
                {
                    // the header is being written: next round
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the run never came up (alive: " + process.isAlive() + ")");
    }

    private static String readQuietly(final Path file)
    {
        try
        {
            return Files.readString(file);
        }
        catch (final IOException ex)
        {
            return "";
        }
    }
}
