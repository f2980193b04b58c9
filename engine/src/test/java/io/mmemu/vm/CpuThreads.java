package io.mmemu.vm;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;

/** Test threads, each with its own CPU in one address space, released together; the first failure is rethrown. */
final class CpuThreads
{
    /** One thread's work: its index and its CPU (attached before the start, closed after). */
    @FunctionalInterface
    interface Body
    {
        void run(int index, Cpu cpu) throws Exception;
    }

    private CpuThreads()
    {
    }

    static void run(final AddressSpace mm, final int threads, final Body body) throws InterruptedException
    {
        final CyclicBarrier start = new CyclicBarrier(threads);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++)
        {
            final int index = t;
            all.add(new Thread(() ->
            {
                try (Cpu cpu = mm.attachCpu())
                {
                    // offline while the others start: a shootdown of theirs need not wait for this CPU
                    cpu.offline();
                    start.await();
                    body.run(index, cpu);
                }
                catch (final Throwable ex)
                {
                    failure.compareAndSet(null, ex);
                }
            }));
        }
        all.forEach(Thread::start);
        for (final Thread thread : all)
        {
            thread.join();
        }
        if (failure.get() != null)
        {
            throw new AssertionError(failure.get());
        }
    }
}
