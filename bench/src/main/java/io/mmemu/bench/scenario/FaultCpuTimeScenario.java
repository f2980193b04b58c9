package io.mmemu.bench.scenario;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.LockingMode;
import io.mmemu.vm.Signal;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;

/**
 * page_fault1 timed by the threads' CPU time rather than the wall clock: each thread maps
 * {@code SIZE_MIB} of private anonymous memory, writes one byte per page and unmaps it,
 * {@code CYCLES} times a repetition; a repetition's figure is the threads' CPU time summed over
 * their faults. On a shared machine another process's load stretches the wall clock of a run but
 * not, to first order, the CPU time its threads use (a sibling hyperthread's load still does), so
 * two builds compared in alternation differ by their code more than by their luck. The emulated
 * memory is backed by the host before the warm-up ({@link #backByHost}). Prints the median of
 * {@code REPS} repetitions after three of warm-up, and the metric {@code fault-cpu.t<threads>} in ns
 * per fault.
 * <p>
 * With {@code --serve}, it is one side of {@link FaultCpuAlternation}: it measures once for each
 * line {@code measure} read from standard input and answers {@code ns MEDIAN}, until the input ends.
 * <p>
 * This one source measures every build compared: {@code bench/scripts/build_at.sh} compiles it
 * against this tree's jar and puts it first on each build's class path, older builds' included. So
 * it uses only the engine's public API as it has stood since before issue 18 (3ce4531), and nothing
 * of the bench but itself on the measuring path.
 * <pre>
 *   java -cp bench/target/benchmarks.jar io.mmemu.bench.scenario.FaultCpuTimeScenario [THREADS [CYCLES [REPS [SIZE_MIB]]]]
 *   java -cp CLASS_PATH io.mmemu.bench.scenario.FaultCpuTimeScenario --serve THREADS CYCLES REPS SIZE_MIB
 * </pre>
 */
public final class FaultCpuTimeScenario
{
    /** The request {@code --serve} answers, one measurement each. */
    static final String MEASURE = "measure";
    /** The answer's first word, before the median CPU ns per fault. */
    static final String ANSWER = "ns";

    private static final long PAGE = 4096;
    private static final int WARM_UP = 3;

    private FaultCpuTimeScenario()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        if (args.length > 0 && args[0].equals("--serve"))
        {
            if (args.length != 5)
            {
                System.err.println("usage: FaultCpuTimeScenario --serve THREADS CYCLES REPS SIZE_MIB");
                System.exit(2);
            }
            serve(Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]),
                Long.parseLong(args[4]) << 20);
            return;
        }
        final int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        final int cycles = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        final int reps = args.length > 2 ? Integer.parseInt(args[2]) : 7;
        final long size = (args.length > 3 ? Long.parseLong(args[3]) : 128) << 20;
        final double[] ns = measure(threads, cycles, reps, size);
        final double[] sorted = ns.clone();
        Arrays.sort(sorted);
        System.out.printf("page_fault1 by CPU time, %d threads, %d MiB x %d cycles: median %.1f ns/fault (min %.1f, max %.1f) over %d repetitions%n",
            threads, size >> 20, cycles, sorted[reps / 2], sorted[0], sorted[reps - 1], reps);
        new Metric("fault-cpu.t" + threads, sorted[reps / 2], "ns").print();
    }

    /** Measures once a request, answering each with the median of its repetitions, until the input ends. */
    private static void serve(final int threads, final int cycles, final int reps, final long size) throws Exception
    {
        final BufferedReader requests = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String request;
        while ((request = requests.readLine()) != null)
        {
            if (!request.equals(MEASURE))
            {
                throw new IllegalArgumentException("unknown request: " + request);
            }
            final double[] sorted = measure(threads, cycles, reps, size);
            Arrays.sort(sorted);
            final double median = (reps & 1) == 1 ? sorted[reps / 2] : (sorted[reps / 2 - 1] + sorted[reps / 2]) / 2;
            System.out.println(ANSWER + ' ' + median);
            System.out.flush();
        }
    }

    /**
     * The CPU time per fault of each of {@code reps} repetitions (after the warm-up), threads
     * summed: {@code threads} CPUs of one per-VMA address space, each faulting in its own mapping.
     */
    static double[] measure(final int threads, final int cycles, final int reps, final long size)
        throws InterruptedException, ReflectiveOperationException
    {
        final ThreadMXBean cpuTime = ManagementFactory.getThreadMXBean();
        final double[] ns = new double[reps];
        final CyclicBarrier barrier = new CyclicBarrier(threads);
        final AtomicLong cpuNanos = new AtomicLong();
        final AtomicLong faults = new AtomicLong();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        try (PhysicalMemory memory = PhysicalMemory.create(Math.max(2L * threads * size, 1L << 30), Backing.FULL);
             AddressSpace mm = AddressSpace.create(memory, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION))
        {
            backByHost(memory);
            final Thread[] workers = new Thread[threads];
            for (int t = 0; t < threads; t++)
            {
                workers[t] = new Thread(() ->
                {
                    try (Cpu cpu = mm.attachCpu())
                    {
                        for (int rep = -WARM_UP; rep < reps; rep++)
                        {
                            await(cpu, barrier);
                            final long start = cpuTime.getCurrentThreadCpuTime();
                            final long done = faultCycles(cpu, cycles, size);
                            cpuNanos.addAndGet(cpuTime.getCurrentThreadCpuTime() - start);
                            faults.addAndGet(done);
                            // one thread records the repetition once all have added theirs
                            if (await(cpu, barrier) == 0)
                            {
                                if (rep >= 0)
                                {
                                    ns[rep] = (double)cpuNanos.get() / faults.get();
                                }
                                cpuNanos.set(0);
                                faults.set(0);
                            }
                            await(cpu, barrier);
                        }
                    }
                    catch (final InterruptedException | BrokenBarrierException | RuntimeException ex)
                    {
                        failure.compareAndSet(null, ex);
                        barrier.reset();
                    }
                }, "fault-cpu-" + t);
                workers[t].start();
            }
            for (final Thread worker : workers)
            {
                worker.join();
            }
        }
        if (failure.get() != null)
        {
            throw new IllegalStateException("a faulting thread failed", failure.get());
        }
        return ns;
    }

    /**
     * Has the host back the whole emulated memory before anything is measured: its first touch is
     * not the emulator's work (without this, repetitions that reach frames the warm-up did not gain
     * several hundred ns a fault). Through {@code PhysicalMemory.prefault} where the build has it;
     * a build before it (8c5f207) gets a store per 4 KiB of every large off-heap segment its
     * PhysicalMemory holds, the same pages prefault backs.
     */
    static void backByHost(final PhysicalMemory memory) throws ReflectiveOperationException
    {
        final Method prefault;
        try
        {
            prefault = PhysicalMemory.class.getMethod("prefault");
        }
        catch (final NoSuchMethodException older)
        {
            touchSegments(memory);
            return;
        }
        prefault.invoke(memory);
    }

    /** A store per 4 KiB of every off-heap segment of at least 1 MiB that {@code memory} holds. */
    static void touchSegments(final PhysicalMemory memory) throws IllegalAccessException
    {
        for (final Field field : PhysicalMemory.class.getDeclaredFields())
        {
            if (field.getType() == MemorySegment.class && !Modifier.isStatic(field.getModifiers()))
            {
                field.setAccessible(true);
                touch((MemorySegment)field.get(memory));
            }
        }
    }

    private static void touch(final MemorySegment segment)
    {
        if (segment == null || segment.byteSize() < 1 << 20)
        {
            return;
        }
        for (long offset = 0; offset < segment.byteSize(); offset += PAGE)
        {
            // a store of the constant 0, never of the value just loaded: C2 drops such a store,
            // and the page would stay the host's shared zero page until a measured fault
            if (segment.get(ValueLayout.JAVA_BYTE, offset) == 0)
            {
                segment.set(ValueLayout.JAVA_BYTE, offset, (byte)0);
            }
        }
    }

    /** A barrier wait, offline: another CPU's munmap shoots down TLBs and must not wait for this one. */
    private static int await(final Cpu cpu, final CyclicBarrier barrier) throws InterruptedException, BrokenBarrierException
    {
        cpu.beforeBlocking();
        try
        {
            return barrier.await();
        }
        finally
        {
            cpu.afterBlocking();
        }
    }

    /** {@code cycles} rounds of mmap, one write per page, munmap; returns the faults taken. */
    private static long faultCycles(final Cpu cpu, final int cycles, final long size)
    {
        long faults = 0;
        for (int c = 0; c < cycles; c++)
        {
            final long addr = cpu.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (addr < 0)
            {
                throw new IllegalStateException("mmap failed: " + addr);
            }
            for (long off = 0; off < size; off += PAGE)
            {
                final int signal = cpu.writeByte(addr + off, 1);
                if (signal != Signal.NONE)
                {
                    throw new IllegalStateException(Signal.describe(signal, addr + off));
                }
                faults++;
            }
            if (cpu.munmap(addr, size) != 0)
            {
                throw new IllegalStateException("munmap failed");
            }
        }
        return faults;
    }
}
