package io.mmemu.bench.scenario;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.mmemu.bench.workload.HostProgram;
import io.mmemu.host.NativeBuild;
import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Signal;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_NORESERVE;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;

/**
 * fork of a process with SIZE of private anonymous memory populated (a byte written a page), then
 * the copy-on-write breaks of writing it all again while the child lives; on the emulator with
 * full backing (the child shares every page: copy_page_range raises counts and write-protects) and
 * tables-only (phantom frames cannot be shared: the child gets frames of its own at fork, so there
 * are no COW breaks after), and on the host kernel ({@code host_fork.c}, THP off) in the same run.
 * Each fork's time is the median of REPS; every emulated run ends by checking that each frame came back.
 * <p>
 * Usage: {@code ForkScenario [--size-gib N] [--reps R] [--backing full|tables-only|both] [--no-host]}.
 * Exit status 0 when every step succeeded.
 */
public final class ForkScenario
{
    private static final long GIB = 1L << 30;
    private static final long PAGE = 4096;

    private ForkScenario()
    {
    }

    public static void main(final String[] args) throws IOException, InterruptedException
    {
        long sizeGib = 1;
        int reps = 5;
        String backing = "both";
        boolean host = true;
        for (int i = 0; i < args.length; i++)
        {
            switch (args[i])
            {
                case "--size-gib" -> sizeGib = Long.parseLong(args[++i]);
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--backing" -> backing = args[++i];
                case "--no-host" -> host = false;
                default ->
                {
                    System.err.println("usage: ForkScenario [--size-gib N] [--reps R] [--backing full|tables-only|both] [--no-host]");
                    System.exit(2);
                }
            }
        }
        boolean ok = true;
        if (!backing.equals("tables-only"))
        {
            ok &= emulator(sizeGib * GIB, Backing.FULL, reps);
        }
        if (!backing.equals("full"))
        {
            ok &= emulator(sizeGib * GIB, Backing.TABLES_ONLY, reps);
        }
        if (host)
        {
            ok &= host(sizeGib * GIB, reps);
        }
        System.exit(ok ? 0 : 1);
    }

    private static boolean emulator(final long size, final Backing backing, final int reps)
    {
        final String side = backing == Backing.FULL ? "emulator.full" : "emulator.tables-only";
        // room for the parent's frames and the copies (full) or the child's own frames (tables-only), and the tables
        try (PhysicalMemory memory = PhysicalMemory.create(2 * size + size / 64 + 256L * (1 << 20), backing))
        {
            final long baseline = memory.framesInUse();
            final AddressSpace parent = AddressSpace.create(memory);
            parent.timeFaults(false);
            final Cpu cpu = parent.attachCpu();
            final long addr = cpu.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            for (long va = addr; va < addr + size; va += PAGE)
            {
                if (cpu.writeByte(va, 1) != Signal.NONE)
                {
                    System.out.println(side + ": populating failed at 0x" + Long.toHexString(va));
                    return false;
                }
            }
            final long[] forks = new long[reps];
            for (int r = 0; r < reps; r++)
            {
                final long t0 = System.nanoTime();
                final AddressSpace child = cpu.fork();
                forks[r] = System.nanoTime() - t0;
                if (child == null)
                {
                    System.out.println(side + ": fork failed (ENOMEM)");
                    return false;
                }
                child.close();
            }
            final AddressSpace child = cpu.fork();
            final long faults = parent.stats().faults();
            final long t0 = System.nanoTime();
            int failed = 0;
            for (long va = addr; va < addr + size; va += PAGE)
            {
                if (cpu.writeByte(va, 2) != Signal.NONE)
                {
                    failed++;
                }
            }
            final long cowNanos = System.nanoTime() - t0;
            if (failed > 0)
            {
                System.out.println(side + ": " + failed + " writes after the fork failed");
                return false;
            }
            final long breaks = parent.stats().cowBreaks();
            final long cowFaults = parent.stats().faults() - faults;
            child.close();
            cpu.close();
            parent.close();
            final long leaked = memory.framesInUse() - baseline;
            report(side, size, forks, cowNanos, size / PAGE);
            System.out.printf("%s: %d write faults, %d COW breaks after the fork; frames leaked %d%n", side, cowFaults, breaks, leaked);
            return leaked == 0;
        }
    }

    private static boolean host(final long size, final int reps) throws IOException, InterruptedException
    {
        final Path binary;
        try
        {
            binary = NativeBuild.binary(HostProgram.class, "host_fork.c", "the host side of the fork scenario");
        }
        catch (final NativeBuild.Unavailable ex)
        {
            System.out.println("host: skipped, " + ex.getMessage());
            return true;
        }
        final Process process = new ProcessBuilder(binary.toString(), Long.toString(size), Integer.toString(reps))
            .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        final List<Long> forks = new ArrayList<>();
        long cowNanos = -1;
        long pages = 0;
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
        {
            for (String line = lines.readLine(); line != null; line = lines.readLine())
            {
                final String[] words = line.split(" ");
                if (words[0].equals("fork_ns"))
                {
                    forks.add(Long.parseLong(words[1]));
                }
                else if (words[0].equals("cow_ns"))
                {
                    cowNanos = Long.parseLong(words[1]);
                    pages = Long.parseLong(words[2]);
                }
            }
        }
        if (process.waitFor() != 0 || cowNanos < 0)
        {
            System.out.println("host: host_fork failed");
            return false;
        }
        report("host", size, forks.stream().mapToLong(Long::longValue).toArray(), cowNanos, pages);
        return true;
    }

    private static void report(final String side, final long size, final long[] forks, final long cowNanos, final long pages)
    {
        final long[] sorted = forks.clone();
        Arrays.sort(sorted);
        final long median = sorted[sorted.length / 2];
        final String prefix = side + "." + size / GIB + "GiB";
        System.out.printf("%s: fork %.2f ms (median of %d, min %.2f), then writing every page again %.2f M pages/s%n", prefix,
            median / 1e6, forks.length, sorted[0] / 1e6, pages / (cowNanos / 1e9) / 1e6);
        new Metric(prefix + ".fork", median, "ns").print();
        new Metric(prefix + ".cow.rate", pages / (cowNanos / 1e9), "pages/s").print();
    }
}
