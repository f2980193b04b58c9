package io.mmemu.bench.scenario;

import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.LockingMode;
import io.mmemu.vm.Machine;
import io.mmemu.vm.MmStats;
import io.mmemu.vm.Overcommit;
import io.mmemu.vm.Reclaimer;
import io.mmemu.vm.Signal;
import org.HdrHistogram.Histogram;

import static io.mmemu.vm.Mman.*;

/**
 * Swap throughput and fault latency under memory pressure: one thread writes one long per page of
 * {@code SIZE} (4 KiB apart: one fault each), then reads every page back and checks it, on a
 * machine of {@code SIZE / 4} with a swap area of {@code 2 × SIZE} (under pressure: kswapd and
 * direct reclaim swap out, the reads swap in), and the same program on a machine of
 * {@code 2 × SIZE} with no swap (no pressure). Reports per phase: pages/s, swap-outs and swap-ins
 * per second, and the fault latency percentiles (the address space's HdrHistogram of every fault);
 * the metrics ({@code calm.*}, {@code pressure.*}) of every round but the first, the JIT's warm-up.
 * <pre>
 *   java -cp bench/target/benchmarks.jar io.mmemu.bench.scenario.SwapScenario [SIZE_MIB [ROUNDS [per-vma|mmap-lock]]]
 * </pre>
 */
public final class SwapScenario
{
    private static final long BASE = 0x100000000000L;
    private static final long PAGE = 4096;

    private SwapScenario()
    {
    }

    public static void main(final String[] args)
    {
        final long size = (args.length > 0 ? Long.parseLong(args[0]) : 256) << 20;
        final int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        final LockingMode locking = args.length > 2 ? LockingMode.fromCliName(args[2]) : LockingMode.PER_VMA;
        System.out.printf("swap scenario: %d MiB written and read back, %s, %d rounds%n", size >> 20, locking, rounds);
        for (int round = 1; round <= rounds; round++)
        {
            // the first round warms the JIT up: printed, not a sample
            final boolean sample = round > 1 || rounds == 1;
            run("no pressure", "calm", size, 2 * size, 0, locking, sample);
            run("pressure   ", "pressure", size, size / 4, 2 * size, locking, sample);
        }
    }

    private static void run(final String label, final String key, final long size, final long ram, final long swap,
        final LockingMode locking, final boolean sample)
    {
        final PhysicalMemory memory = PhysicalMemory.create(ram);
        if (swap > 0)
        {
            memory.attachSwap(SwapArea.inMemory(swap));
        }
        try (memory)
        {
            final Machine machine = new Machine(memory, Overcommit.DEFAULT);
            final Reclaimer reclaimer = machine.reclaimer();
            final AddressSpace mm = AddressSpace.create(locking, AddressSpace.DEFAULT_SECTION, KernelConfig.MAINLINE, machine);
            final Cpu cpu = mm.attachCpu();
            final long pages = size / PAGE;
            if (cpu.mmap(BASE, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != BASE)
            {
                throw new IllegalStateException("mmap failed");
            }
            final long t0 = System.nanoTime();
            for (long i = 0; i < pages; i++)
            {
                check(cpu.writeLong(BASE + i * PAGE, i * 31 + 7), "write");
            }
            final long t1 = System.nanoTime();
            final long outsAfterWrite = memory.swap() == null ? 0 : memory.swap().swapOuts();
            final MmStats writeStats = mm.stats();
            for (long i = 0; i < pages; i++)
            {
                check(cpu.readLong(BASE + i * PAGE), "read");
                if (cpu.value() != i * 31 + 7)
                {
                    throw new IllegalStateException("wrong value at page " + i);
                }
            }
            final long t2 = System.nanoTime();
            final MmStats all = mm.stats();
            final long ins = memory.swap() == null ? 0 : memory.swap().swapIns();
            final long outs = memory.swap() == null ? 0 : memory.swap().swapOuts();
            System.out.printf("%s write %6.2f M pages/s (%6.2f k swap-outs/s)  fault p50 %s p99 %s p99.9 %s  | " +
                    "read %6.2f M pages/s (%6.2f k swap-ins/s, %d major)  fault p50 %s p99 %s p99.9 %s%n",
                label, pages * 1e3 / (t1 - t0), outsAfterWrite * 1e6 / (t1 - t0),
                micros(writeStats.faultLatency(), 50), micros(writeStats.faultLatency(), 99), micros(writeStats.faultLatency(), 99.9),
                pages * 1e3 / (t2 - t1), ins * 1e6 / (t2 - t1), reclaimer.majorFaults(),
                readMicros(all, writeStats, 50), readMicros(all, writeStats, 99), readMicros(all, writeStats, 99.9));
            if (outs < 0)
            {
                throw new IllegalStateException();
            }
            if (sample)
            {
                final Histogram read = all.faultLatency().copy();
                read.subtract(writeStats.faultLatency());
                new Metric(key + ".write.rate", pages * 1e9 / (t1 - t0), "pages/s").print();
                new Metric(key + ".read.rate", pages * 1e9 / (t2 - t1), "pages/s").print();
                if (swap > 0)
                {
                    new Metric(key + ".swapouts.rate", outsAfterWrite * 1e9 / (t1 - t0), "pages/s").print();
                    new Metric(key + ".swapins.rate", ins * 1e9 / (t2 - t1), "pages/s").print();
                }
                for (final double percentile : new double[] {50, 99, 99.9})
                {
                    final String name = percentile == 99.9 ? "p999" : "p" + (int)percentile;
                    latency(key + ".write.fault." + name, writeStats.faultLatency(), percentile);
                    latency(key + ".read.fault." + name, read, percentile);
                }
            }
            cpu.offline();
            reclaimer.close();
        }
    }

    /** The read phase's faults: every fault's histogram less the write phase's. */
    private static String readMicros(final MmStats all, final MmStats write, final double percentile)
    {
        final Histogram read = all.faultLatency().copy();
        read.subtract(write.faultLatency());
        return micros(read, percentile);
    }

    /** A fault-latency percentile in ns; nothing when the phase took no fault (reads without pressure). */
    private static void latency(final String name, final Histogram h, final double percentile)
    {
        if (h.getTotalCount() > 0)
        {
            new Metric(name, h.getValueAtPercentile(percentile), "ns").print();
        }
    }

    private static String micros(final Histogram h, final double percentile)
    {
        return h.getTotalCount() == 0 ? "-" : String.format("%.1fus", h.getValueAtPercentile(percentile) / 1e3);
    }

    private static void check(final int signal, final String what)
    {
        if (signal != Signal.NONE)
        {
            throw new IllegalStateException(what + " raised signal " + signal);
        }
    }
}
