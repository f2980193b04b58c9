package io.mmemu.bench.scenario;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Field;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.LockingMode;

/**
 * page_fault1 by CPU time for a build older than the bench's own FaultCpuTimeScenario (8c5f207),
 * for {@code fault_cpu_alternation.sh}: the same measurement through the public engine API only,
 * compiled against a new build's jar and put on the old build's class path after its jar
 * ({@code OLD.jar:DIR}), where FaultCpuAlternation finds it under the scenario's name. An old build
 * has no PhysicalMemory.prefault: the emulated memory is backed by a same-value store per 4 KiB of
 * every off-heap segment PhysicalMemory holds, before any thread uses it.
 * <pre>
 *   javac -cp bench/target/benchmarks.jar -d /tmp/probe bench/scripts/old-build-probe/FaultCpuTimeScenario.java
 *   bench/scripts/fault_cpu_alternation.sh 12 4 2 OLD.jar:/tmp/probe bench/target/benchmarks.jar
 * </pre>
 */
public final class FaultCpuTimeScenario
{
    private FaultCpuTimeScenario()
    {
    }

    static double[] measure(final int threads, final int cycles, final int reps, final long size) throws Exception
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
            prefault(memory);
            final Thread[] workers = new Thread[threads];
            for (int t = 0; t < threads; t++)
            {
                workers[t] = new Thread(() ->
                {
                    try (Cpu cpu = mm.attachCpu())
                    {
                        for (int rep = -3; rep < reps; rep++)
                        {
                            await(cpu, barrier);
                            final long start = cpuTime.getCurrentThreadCpuTime();
                            final long done = faultCycles(cpu, cycles, size);
                            cpuNanos.addAndGet(cpuTime.getCurrentThreadCpuTime() - start);
                            faults.addAndGet(done);
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
                    catch (final Exception ex)
                    {
                        failure.compareAndSet(null, ex);
                        barrier.reset();
                    }
                });
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

    private static void prefault(final PhysicalMemory memory) throws IllegalAccessException
    {
        for (final Field field : PhysicalMemory.class.getDeclaredFields())
        {
            if (field.getType() == MemorySegment.class)
            {
                field.setAccessible(true);
                final MemorySegment segment = (MemorySegment)field.get(memory);
                for (long off = 0; segment != null && segment.byteSize() >= 1 << 20 && off < segment.byteSize(); off += 4096)
                {
                    segment.set(ValueLayout.JAVA_BYTE, off, segment.get(ValueLayout.JAVA_BYTE, off));
                }
            }
        }
    }

    private static int await(final Cpu cpu, final CyclicBarrier barrier) throws Exception
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

    private static long faultCycles(final Cpu cpu, final int cycles, final long size)
    {
        long faults = 0;
        for (int c = 0; c < cycles; c++)
        {
            final long addr = cpu.mmap(0, size, 0x3, 0x22, -1, 0); // PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS
            if (addr < 0)
            {
                throw new IllegalStateException("mmap failed: " + addr);
            }
            for (long off = 0; off < size; off += 4096)
            {
                if (cpu.writeByte(addr + off, 1) != 0)
                {
                    throw new IllegalStateException("signal at " + (addr + off));
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
