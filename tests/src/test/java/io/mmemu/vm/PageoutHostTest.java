package io.mmemu.vm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import static io.mmemu.vm.Mman.MADV_PAGEOUT;
import static io.mmemu.vm.Mman.MADV_RANDOM;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MAP_SHARED;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * MADV_PAGEOUT of page-cache pages, the host kernel against the emulator (tests/src/test/c/pageout_ref.c,
 * built with cc), on a file of 16 pages on a disk-backed filesystem, each step followed by every
 * page's mincore residency and pagemap present bit: a private read-only mapping paged out in
 * part (clean pages dropped); a shared mapping after writes to half its pages (the clean half
 * dropped, the dirty half unmapped and still cached: only kswapd writes file pages back); a
 * mapping whose first pages a second mapping also maps (those stay). Skipped with the reason
 * where there is no C compiler, no disk-backed directory or no MADV_PAGEOUT.
 */
final class PageoutHostTest
{
    private static final long PAGE = 4096;
    private static final int PAGES = 16;

    @Test
    void theEmulatorPagesOutWhatTheHostKernelPagesOut() throws Exception
    {
        final List<String> host = host();
        Assumptions.assumeTrue(!host.isEmpty() && !host.get(0).startsWith("skip"),
            () -> "PageoutHostTest skipped: " + (host.isEmpty() ? "no output" : host.get(0).substring(5)));
        assertEquals(String.join("\n", host), String.join("\n", emulator()));
    }

    /** pageout_ref's lines; one "skip REASON" line where it cannot run. */
    private static List<String> host() throws IOException, InterruptedException
    {
        if (!System.getProperty("os.name", "").startsWith("Linux"))
        {
            return List.of("skip not Linux");
        }
        final Path target = Path.of("target").toAbsolutePath();
        Files.createDirectories(target);
        final Path binary = target.resolve("pageout_ref");
        final String cc = System.getenv().getOrDefault("CC", "cc");
        final Process build;
        try
        {
            build = new ProcessBuilder(cc, "-O2", "-o", binary.toString(), "src/test/c/pageout_ref.c").redirectErrorStream(true).start();
        }
        catch (final IOException ex)
        {
            return List.of("skip no C compiler (" + cc + "): " + ex.getMessage());
        }
        final String buildOutput = new String(build.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!build.waitFor(60, TimeUnit.SECONDS) || build.exitValue() != 0)
        {
            return List.of("skip pageout_ref.c did not build: " + buildOutput);
        }
        // the build directory first, then the usual disk-backed temporary directory
        final Process run = new ProcessBuilder(binary.toString(), target.toString(), "/var/tmp",
            System.getProperty("java.io.tmpdir")).redirectErrorStream(true).start();
        final String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        run.waitFor(60, TimeUnit.SECONDS);
        return List.of(out.strip().split("\n"));
    }

    /** The same steps on an emulated machine without swap, on a file whose word at offset o is o (as the host's). */
    private static List<String> emulator()
    {
        final List<String> out = new ArrayList<>();
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final AddressSpace mm = AddressSpace.create(LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            // no open file holds the cache: it dies with each step's last mapping, as the host's fadvise drops it
            final OpenFile fd = OpenFile.open(MappedFile.of("/nonexistent/pageout_ref", Dev.make(8, 1), 77, PAGES * PAGE, null, false), true);
            try (Cpu cpu = mm.attachCpu())
            {
                final long a = map(cpu, fd, PROT_READ, MAP_PRIVATE);
                out.add(show(cpu, "private-cold", a));
                sum(cpu, a, 0, PAGES);
                out.add(show(cpu, "private-touched", a));
                out.add("private-pageout " + -cpu.madvise(a + 4 * PAGE, 8 * PAGE, MADV_PAGEOUT));
                out.add(show(cpu, "private-after", a));
                sum(cpu, a, 0, PAGES);
                out.add(show(cpu, "private-reread", a));
                assertEquals(0, cpu.munmap(a, PAGES * PAGE));

                final long b = map(cpu, fd, PROT_READ | PROT_WRITE, MAP_SHARED);
                sum(cpu, b, 0, PAGES);
                for (int i = 0; i < 8; i++)
                {
                    assertEquals(Signal.NONE, cpu.writeLong(b + i * PAGE + 16, 0x5000 + i));
                }
                out.add(show(cpu, "shared-written", b));
                out.add("shared-pageout " + -cpu.madvise(b, PAGES * PAGE, MADV_PAGEOUT));
                out.add(show(cpu, "shared-after", b));
                boolean ok = true;
                for (int i = 0; i < 8; i++)
                {
                    ok &= cpu.readLong(b + i * PAGE + 16) == Signal.NONE && cpu.value() == 0x5000 + i;
                }
                out.add("shared-values " + (ok ? "kept" : "lost"));
                out.add(show(cpu, "shared-reread", b));
                assertEquals(0, cpu.munmap(b, PAGES * PAGE));

                final long c = map(cpu, fd, PROT_READ, MAP_SHARED);
                sum(cpu, c, 0, PAGES);
                final long d = cpu.mmap(0, 4 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
                sum(cpu, d, 0, 4);
                out.add(show(cpu, "twice-touched", c));
                out.add("twice-pageout " + -cpu.madvise(c, PAGES * PAGE, MADV_PAGEOUT));
                out.add(show(cpu, "twice-after", c));
                assertEquals(0, cpu.munmap(c, PAGES * PAGE));
                assertEquals(0, cpu.munmap(d, 4 * PAGE));
            }
            mm.close();
            machine.reclaimer().close();
        }
        return out;
    }

    private static long map(final Cpu cpu, final OpenFile fd, final int prot, final int flags)
    {
        final long base = cpu.mmap(0, PAGES * PAGE, prot, flags, fd, 0);
        assertEquals(0, cpu.madvise(base, PAGES * PAGE, MADV_RANDOM));
        return base;
    }

    private static void sum(final Cpu cpu, final long base, final int from, final int to)
    {
        for (int i = from; i < to; i++)
        {
            assertEquals(Signal.NONE, cpu.readLong(base + i * PAGE + 8));
        }
    }

    /** The step's line: "m" and each page's mincore bit, "p" and each page's pagemap present bit. */
    private static String show(final Cpu cpu, final String step, final long base)
    {
        final byte[] vec = new byte[PAGES];
        final int error = cpu.mincore(base, PAGES * PAGE, vec);
        if (error != 0)
        {
            return step + " mincore-error " + -error;
        }
        final StringBuilder m = new StringBuilder(step).append(" m");
        final StringBuilder p = new StringBuilder(" p");
        for (int i = 0; i < PAGES; i++)
        {
            m.append(vec[i] & 1);
            p.append(cpu.mm.pagemap(base + i * PAGE) >>> 63);
        }
        return m.append(p).toString();
    }
}
