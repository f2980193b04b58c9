package io.mmemu.inspect;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Mman;
import io.mmemu.vm.ThpMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The HTML picture in a real headless browser: Chromium loads it from a file with the network
 * unreachable, logs no console message (an invalid SVG attribute, for one, is a console error),
 * and the DOM it built holds one VMA element per VMA. Skipped, saying why, on a machine without
 * Chromium; {@code .ci/run} installs Debian's {@code chromium}, so in CI it runs.
 */
class HtmlInBrowserTest
{
    private static final List<Path> BROWSERS = List.of(Path.of("/usr/bin/chromium"), Path.of("/usr/bin/chromium-browser"),
        Path.of("/usr/bin/google-chrome"), Path.of("/usr/bin/google-chrome-stable"));

    @TempDir
    Path dir;

    @Test
    void chromiumLoadsThePageWithoutConsoleErrors() throws IOException, InterruptedException
    {
        final Path browser = BROWSERS.stream().filter(Files::isExecutable).findFirst().orElse(null);
        assumeTrue(browser != null, "no Chromium or Chrome at " + BROWSERS + ": the HTML picture is not checked in a browser here");
        final Path page = dir.resolve("picture.html");
        final int vmas;
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20);
             AddressSpace space = AddressSpace.create(memory);
             Cpu cpu = space.attachCpu())
        {
            final int rw = Mman.PROT_READ | Mman.PROT_WRITE;
            final int fixed = Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_FIXED;
            cpu.mmap(0x10000000L, 1L << 20, rw, fixed, -1, 0);
            for (long va = 0x10000000L; va < 0x10000000L + (256L << 10); va += 4096)
            {
                cpu.writeByte(va, 1);
            }
            cpu.mmap(0x7f0000000000L, 64L << 20, Mman.PROT_READ, fixed, -1, 0);
            cpu.readByte(0x7f0000000000L);
            cpu.mmap(0x7f0010000000L, 8192, rw, Mman.MAP_SHARED | Mman.MAP_ANONYMOUS | Mman.MAP_FIXED, -1, 0);
            cpu.mmap(0x7f0020000000L, 4096, Mman.PROT_NONE, fixed, -1, 0);
            cpu.mmap(0x7f0030000000L, 4096, Mman.PROT_READ | Mman.PROT_EXEC, fixed, -1, 0);
            final Inspection inspection = Inspection.of(space, ThpMode.ALWAYS);
            vmas = inspection.snapshot().vmas().size();
            Files.writeString(page, inspection.html("mmemu <picture> test"), StandardCharsets.UTF_8);
        }
        final Path err = dir.resolve("stderr");
        // Headless, with nothing that reaches for the network: CI's machine has none, and Chromium
        // waits on a connection it cannot make (QUIC, updates, sync) instead of failing it.
        final Process process = new ProcessBuilder(browser.toString(), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--user-data-dir=" + dir.resolve("profile"), "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr", "--v=0", "--dump-dom", page.toUri().toString())
            .redirectError(err.toFile()).start();
        final String dom = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(120, TimeUnit.SECONDS))
        {
            process.destroyForcibly();
            throw new AssertionError("Chromium did not finish in 120 s");
        }
        final String log = Files.readString(err);
        assertEquals(0, process.exitValue(), log);
        final List<String> console = log.lines().filter(line -> line.contains(":CONSOLE")).toList();
        assertEquals(List.of(), console, "console messages while loading the page");
        assertTrue(dom.contains("<title>mmemu &lt;picture&gt; test</title>"), "the page loaded: " + dom.length() + " characters");
        assertEquals(vmas, Pattern.compile("<g class=\"vma ").matcher(dom).results().count(), "one VMA element per VMA");
        assertEquals(5, vmas);
    }
}
