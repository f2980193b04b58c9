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

import static io.mmemu.vm.Mman.MADV_DONTNEED;
import static io.mmemu.vm.Mman.MADV_FREE;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_HUGETLB;
import static io.mmemu.vm.Mman.MAP_NORESERVE;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MREMAP_MAYMOVE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The host kernel against the emulator on one fixed sequence of MAP_HUGETLB calls
 * (tests/src/test/c/hugetlb_ref.c, built with cc): reservations at mmap, ENOMEM and EINVAL, SIGBUS
 * of a MAP_NORESERVE fault with every page promised, the EINVAL of ranges that cut a huge page,
 * MADV_DONTNEED on whole pages (and the reservation it gives back), a partial munmap, copy on
 * write in a forked child, and HugePages_Free/Rsvd after each step. Needs a free 2 MiB pool on the
 * host (as root: {@code echo 4 > /proc/sys/vm/nr_hugepages}); skipped with the reason otherwise,
 * and where there is no C compiler.
 */
final class HugetlbHostTest
{
    private static final long M2 = 2L << 20;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int PRIVATE = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;

    @Test
    void theEmulatorPrintsWhatTheHostKernelPrints() throws Exception
    {
        final List<String> host = host();
        Assumptions.assumeTrue(!host.isEmpty() && !host.get(0).startsWith("skip"),
            () -> "HugetlbHostTest skipped: " + (host.isEmpty() ? "no output" : host.get(0).substring(5)));
        final long pool = Long.parseLong(host.get(0).substring("pool ".length()));
        assertEquals(String.join("\n", host), String.join("\n", emulator(pool)));
    }

    /** hugetlb_ref's lines; one "skip REASON" line where it cannot run. */
    private static List<String> host() throws IOException, InterruptedException
    {
        if (!System.getProperty("os.name", "").startsWith("Linux"))
        {
            return List.of("skip not Linux");
        }
        final Path target = Path.of("target");
        Files.createDirectories(target);
        final Path binary = target.resolve("hugetlb_ref");
        final String cc = System.getenv().getOrDefault("CC", "cc");
        final Process build;
        try
        {
            build = new ProcessBuilder(cc, "-O2", "-o", binary.toString(), "src/test/c/hugetlb_ref.c").redirectErrorStream(true).start();
        }
        catch (final IOException ex)
        {
            return List.of("skip no C compiler (" + cc + "): " + ex.getMessage());
        }
        final String buildOutput = new String(build.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!build.waitFor(60, TimeUnit.SECONDS) || build.exitValue() != 0)
        {
            return List.of("skip hugetlb_ref.c did not build: " + buildOutput);
        }
        final Process run = new ProcessBuilder(binary.toString()).redirectErrorStream(true).start();
        final String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        run.waitFor(60, TimeUnit.SECONDS);
        return List.of(out.strip().split("\n"));
    }

    /** The same sequence on an emulated machine whose 2 MiB pool has {@code total} pages. */
    private static List<String> emulator(final long total)
    {
        final List<String> out = new ArrayList<>();
        try (PhysicalMemory memory = PhysicalMemory.create((64L << 20) + total * M2))
        {
            final var pool = memory.hugetlbPool(PhysicalMemory.HUGE_ORDER);
            pool.resize(total);
            try (AddressSpace mm = AddressSpace.create(memory))
            {
                final Cpu cpu = mm.attachCpu();
                out.add("pool " + total);
                final long a = cpu.mmap(0, total * M2, RW, PRIVATE, -1, 0);
                out.add("mmap-all " + mapped(a));
                out.add("after-mmap " + counters(pool));
                out.add("mmap-more " + mapped(cpu.mmap(0, M2, RW, PRIVATE, -1, 0)));
                out.add("mmap-bad-size " + mapped(cpu.mmap(0, M2, RW, PRIVATE | (22 << 26), -1, 0)));
                final long nr = cpu.mmap(0, M2, RW, PRIVATE | MAP_NORESERVE, -1, 0);
                out.add("mmap-noreserve " + mapped(nr));
                out.add("touch-noreserve " + touch(cpu, nr, 1));
                cpu.munmap(nr, M2);
                out.add("touch-first " + touch(cpu, a, 7));
                out.add("touch-second " + touch(cpu, a + M2 + 4096, 8));
                out.add("after-touch " + counters(pool));
                out.add("munmap-4k " + err(cpu.munmap(a, 4096)));
                out.add("munmap-misaligned " + err(cpu.munmap(a + 4096, M2)));
                out.add("mprotect-4k " + err(cpu.mprotect(a, 4096, PROT_READ)));
                out.add("madvise-dontneed-4k " + err(cpu.madvise(a, 4096, MADV_DONTNEED)));
                out.add("still-there " + read(cpu, a));
                out.add("madvise-dontneed-misaligned " + err(cpu.madvise(a + 4096, M2, MADV_DONTNEED)));
                out.add("madvise-free " + err(cpu.madvise(a, M2, MADV_FREE)));
                out.add("mremap-grow " + mapped(cpu.mremap(a, M2, 2 * M2, MREMAP_MAYMOVE, 0)));
                out.add("mmap-fixed-inside " + mapped(cpu.mmap(a + 4096, 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)));
                out.add("madvise-dontneed-page " + err(cpu.madvise(a, M2 + 4096, MADV_DONTNEED)));
                out.add("after-dontneed " + counters(pool));
                out.add("refault " + touch(cpu, a, 9));
                out.add("reads-zero " + (read(cpu, a) == 9 && read(cpu, a + 1) == 0 ? 1 : 0));
                out.add("munmap-last " + err(cpu.munmap(a + (total - 1) * M2, M2)));
                out.add("after-munmap-last " + counters(pool));
                final AddressSpace child = cpu.fork();
                try (Cpu c = child.attachCpu())
                {
                    final boolean wrote = c.writeByte(a + M2 + 4096, 42) == Signal.NONE && c.readByte(a + M2 + 4096) == Signal.NONE &&
                        c.value() == 42;
                    out.add("child-cow " + (wrote ? 0 : 1));
                }
                child.close();
                out.add("parent-keeps " + read(cpu, a + M2 + 4096));
                out.add("after-fork " + counters(pool));
                out.add("munmap-rest " + err(cpu.munmap(a, (total - 1) * M2)));
                out.add("after-munmap-rest " + counters(pool));
                cpu.close();
            }
        }
        return out;
    }

    private static String counters(final io.mmemu.phys.HugetlbPool pool)
    {
        return "free=" + pool.free() + " rsvd=" + pool.reserved();
    }

    private static String mapped(final long result)
    {
        return result >= 0 ? "ok" : err(result);
    }

    private static String err(final long result)
    {
        if (result >= 0)
        {
            return "0";
        }
        return result == -Errno.EINVAL ? "-EINVAL" : result == -Errno.ENOMEM ? "-ENOMEM" : result == -Errno.EFAULT ? "-EFAULT" : Long.toString(result);
    }

    private static String touch(final Cpu cpu, final long va, final int value)
    {
        final int signal = cpu.writeByte(va, value);
        return signal == Signal.NONE ? "0" : signal == Signal.BUS_ADRERR ? "sigbus" : "signal " + signal;
    }

    private static long read(final Cpu cpu, final long va)
    {
        assertEquals(Signal.NONE, cpu.readByte(va));
        return cpu.value();
    }
}
