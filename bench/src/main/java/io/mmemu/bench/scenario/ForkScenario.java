package io.mmemu.bench.scenario;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

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
 * the copy-on-write breaks of writing it again while the child lives; on the emulator with full
 * backing (the child shares every page: copy_page_range raises counts and write-protects) and
 * tables-only (phantom frames cannot be shared: the child gets frames of its own at fork, so there
 * are no COW breaks after), and on the host kernel ({@code host_fork.c}, THP off), one after
 * another, each SIZE in turn. Each fork's time is the median of REPS; every emulated run ends by
 * checking that each frame came back. Before the first SIZE each emulated backing forks a small
 * process {@link #WARM_UP_FORKS} times, unmeasured: otherwise the first SIZE's forks run before the
 * JIT has compiled the copy (a first 16 GiB fork measured 5 times slower than the same after 1 GiB).
 * <p>
 * The COW pass writes the first COW GiB only ({@code --cow-gib}; all of SIZE by default): each
 * break copies a page, so writing all of a large SIZE needs twice SIZE of host memory, while the
 * per-page rate needs no more than a GiB. A side whose memory the machine cannot give now (full
 * backing and the host need SIZE plus the COW copies; tables-only only the tables), against
 * {@code MemAvailable}, is skipped with a line that says so, not failed: 64 GiB runs tables-only
 * on a 24 GiB machine.
 * <p>
 * Usage: {@code ForkScenario [--size-gib N[,N...]] [--cow-gib N] [--reps R] [--backing full|tables-only|both] [--no-host]}.
 * Metrics: {@code SIDE.NGiB.fork} (ns, median), {@code SIDE.NGiB.cow.rate} (pages/s), and where both
 * ran, {@code fork.NGiB.BACKING.speedup} (the host's fork time over the emulator's) and
 * {@code cow.NGiB.full_over_host} (the emulator's COW rate over the host's).
 * Exit status 0 when every step that ran succeeded.
 */
public final class ForkScenario
{
    private static final long GIB = 1L << 30;
    private static final long PAGE = 4096;
    /** Host memory beyond the data and tables that a side leaves free: the JVM, the kernel's own tables. */
    private static final long MARGIN = 1L << 30;
    /** The warm-up's process: populated bytes, and how often it forks. */
    private static final long WARM_UP_SIZE = 256L << 20;
    private static final int WARM_UP_FORKS = 20;

    /** One side's figures at one size: its median fork time and its COW pass's rate. */
    private record Figures(long forkNanos, double cowRate)
    {
    }

    /** A side that ran and failed. */
    private static final Figures FAILED = new Figures(-1, -1);

    private ForkScenario()
    {
    }

    public static void main(final String[] args) throws IOException, InterruptedException
    {
        long[] sizesGib = {1};
        long cowGib = 0;
        int reps = 5;
        String backing = "both";
        boolean host = true;
        for (int i = 0; i < args.length; i++)
        {
            switch (args[i])
            {
                case "--size-gib" -> sizesGib = Arrays.stream(args[++i].split(",")).mapToLong(Long::parseLong).toArray();
                case "--cow-gib" -> cowGib = Long.parseLong(args[++i]);
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--backing" -> backing = args[++i];
                case "--no-host" -> host = false;
                default ->
                {
                    System.err.println("usage: ForkScenario [--size-gib N[,N...]] [--cow-gib N] [--reps R] " +
                        "[--backing full|tables-only|both] [--no-host]");
                    System.exit(2);
                }
            }
        }
        boolean ok = true;
        for (final Backing b : new Backing[] {Backing.FULL, Backing.TABLES_ONLY})
        {
            if (backing.equals("both") || backing.equals(b == Backing.FULL ? "full" : "tables-only"))
            {
                ok &= emulator(WARM_UP_SIZE, WARM_UP_SIZE, b, WARM_UP_FORKS, false) != FAILED;
            }
        }
        for (final long gib : sizesGib)
        {
            final long size = gib * GIB;
            final long cow = cowGib == 0 ? size : Math.min(size, cowGib * GIB);
            final Figures[] emulated = new Figures[2];
            for (final Backing b : new Backing[] {Backing.FULL, Backing.TABLES_ONLY})
            {
                if (backing.equals("both") || backing.equals(b == Backing.FULL ? "full" : "tables-only"))
                {
                    final Figures f = emulator(size, cow, b, reps, true);
                    ok &= f != FAILED;
                    emulated[b.ordinal()] = f == FAILED ? null : f;
                }
            }
            final Figures onHost = host ? host(size, cow, reps) : null;
            ok &= onHost != FAILED;
            if (onHost != null && onHost != FAILED)
            {
                compare(gib, emulated[Backing.FULL.ordinal()], emulated[Backing.TABLES_ONLY.ordinal()], onHost);
            }
        }
        System.exit(ok ? 0 : 1);
    }

    /** The speed-ups over the host at one size, for the sides that ran. */
    private static void compare(final long gib, final Figures full, final Figures tablesOnly, final Figures onHost)
    {
        if (full != null)
        {
            new Metric("fork." + gib + "GiB.full.speedup", (double)onHost.forkNanos() / full.forkNanos(), "×").print();
            new Metric("cow." + gib + "GiB.full_over_host", full.cowRate() / onHost.cowRate(), "×").print();
        }
        if (tablesOnly != null)
        {
            new Metric("fork." + gib + "GiB.tables-only.speedup", (double)onHost.forkNanos() / tablesOnly.forkNanos(), "×").print();
        }
    }

    /**
     * Whether the machine can give {@code side} the {@code needed} bytes now (MemAvailable); if not,
     * a line says so and the side is skipped.
     */
    private static boolean fits(final String side, final long size, final long needed, final String why)
    {
        final String skipped = skipped(side, size, needed, ProcStatus.availableBytes(), why);
        if (skipped != null)
        {
            System.out.println(skipped);
        }
        return skipped == null;
    }

    /** The line that says why {@code side} cannot run at {@code size} with {@code available} bytes, or null when it can. */
    static String skipped(final String side, final long size, final long needed, final long available, final String why)
    {
        return needed <= available ? null : String.format(Locale.ROOT,
            "%s.%dGiB: skipped: %s needs %.1f GiB of host memory, MemAvailable is %.1f GiB", side, size / GIB, why,
            (double)needed / GIB, (double)available / GIB);
    }

    /**
     * The emulator's figures, null when skipped, {@link #FAILED} when a step failed; a run that does
     * not {@code report} (the warm-up) prints only its failures.
     */
    private static Figures emulator(final long size, final long cow, final Backing backing, final int reps, final boolean report)
    {
        final String side = backing == Backing.FULL ? "emulator.full" : "emulator.tables-only";
        final long tables = 2 * (size / 512);
        final long needed = backing == Backing.FULL ? size + cow + tables + MARGIN : tables + MARGIN;
        if (!fits(side, size, needed, backing == Backing.FULL ?
            "populating " + size / GIB + " GiB with full backing, and its COW copies," : "the parent's and child's page tables"))
        {
            return null;
        }
        // room for the parent's frames, the COW copies (full) or the child's own frames (tables-only), and the tables
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
                    return FAILED;
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
                    return FAILED;
                }
                child.close();
            }
            final AddressSpace child = cpu.fork();
            final long faults = parent.stats().faults();
            final long t0 = System.nanoTime();
            int failed = 0;
            for (long va = addr; va < addr + cow; va += PAGE)
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
                return FAILED;
            }
            final long breaks = parent.stats().cowBreaks();
            final long cowFaults = parent.stats().faults() - faults;
            child.close();
            cpu.close();
            parent.close();
            final long leaked = memory.framesInUse() - baseline;
            if (!report)
            {
                if (leaked != 0)
                {
                    System.out.println(side + ": warm-up: frames leaked " + leaked);
                }
                return leaked == 0 ? new Figures(0, 0) : FAILED;
            }
            final Figures figures = report(side, size, forks, cowNanos, cow / PAGE);
            System.out.printf("%s: %d write faults, %d COW breaks after the fork; frames leaked %d%n", side, cowFaults, breaks, leaked);
            return leaked == 0 ? figures : FAILED;
        }
    }

    /** The host kernel's figures, null when skipped, {@link #FAILED} when host_fork failed. */
    private static Figures host(final long size, final long cow, final int reps) throws IOException, InterruptedException
    {
        if (!fits("host", size, size + cow + 2 * (size / 512) + MARGIN, "populating " + size / GIB + " GiB, and its COW copies,"))
        {
            return null;
        }
        final Path binary;
        try
        {
            binary = NativeBuild.binary(HostProgram.class, "host_fork.c", "the host side of the fork scenario");
        }
        catch (final NativeBuild.Unavailable ex)
        {
            System.out.println("host: skipped, " + ex.getMessage());
            return null;
        }
        final Process process = new ProcessBuilder(binary.toString(), Long.toString(size), Integer.toString(reps),
            Long.toString(cow)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
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
            return FAILED;
        }
        return report("host", size, forks.stream().mapToLong(Long::longValue).toArray(), cowNanos, pages);
    }

    private static Figures report(final String side, final long size, final long[] forks, final long cowNanos, final long pages)
    {
        final long[] sorted = forks.clone();
        Arrays.sort(sorted);
        final long median = sorted[sorted.length / 2];
        final String prefix = side + "." + size / GIB + "GiB";
        final double rate = pages / (cowNanos / 1e9);
        System.out.printf("%s: fork %.2f ms (median of %d, min %.2f), then writing %d pages again %.2f M pages/s%n", prefix,
            median / 1e6, forks.length, sorted[0] / 1e6, pages, rate / 1e6);
        new Metric(prefix + ".fork", median, "ns").print();
        new Metric(prefix + ".cow.rate", rate, "pages/s").print();
        return new Figures(median, rate);
    }
}
