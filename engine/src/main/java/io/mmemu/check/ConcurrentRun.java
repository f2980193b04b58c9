package io.mmemu.check;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.mmemu.phys.PhysicalMemory;
import io.mmemu.pgtable.PageTableChecker;
import io.mmemu.script.Call;
import io.mmemu.script.Interpreter;
import io.mmemu.script.Outcome;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Mman;

/**
 * Runs a {@link Scenario} for real: a fresh address space on {@code memory}, the setup on the
 * calling thread, then one Java thread and one {@link Cpu} per scenario thread, released together
 * from a spin barrier so that their operations collide, each op timed with tickets of one counter.
 * Afterwards the invariant checker runs over the address space, it is closed, and the frames in
 * use must be back where they were.
 */
public final class ConcurrentRun
{
    /** How long a scenario of a few dozen small ops may take before it is called a hang. */
    private static final long HANG_SECONDS = 60;
    /** Spins of random jitter before an op, at most: shifts the threads' ops against each other. */
    private static final int MAX_JITTER_SPINS = 256;

    /** A scenario thread did not finish: its CPU may still use the address space and its memory. */
    public static final class Hang extends IllegalStateException
    {
        private static final long serialVersionUID = 1L;

        Hang(final String message)
        {
            super(message);
        }
    }

    private ConcurrentRun()
    {
    }

    /**
     * Runs {@code scenario} once on {@code memory}, which no other address space uses meanwhile.
     *
     * @param jitter draws each op's jitter (the interleaving still depends on timing)
     * @throws Hang when a thread hangs: the address space is left as it is, and {@code memory} must
     *              not be closed (the thread may still use it)
     */
    public static History run(final PhysicalMemory memory, final Scenario scenario, final SplittableRandom jitter)
    {
        final long framesBefore = framesHeld(memory);
        final List<String> problems = new ArrayList<>();
        final List<History.Event> events = new ArrayList<>();
        final AtomicLong clock = new AtomicLong();
        final AddressSpace mm = AddressSpace.create(memory, scenario.locking(), scenario.section(), scenario.kernel()).thp(scenario.thp());
        boolean hung = false;
        try
        {
            if (scenario.startBrk() != 0)
            {
                mm.setBrk(scenario.startBrk(), scenario.startBrk());
            }
            try (Cpu cpu = mm.attachCpu())
            {
                final Interpreter interpreter = new Interpreter(cpu);
                for (int i = 0; i < scenario.setup().size(); i++)
                {
                    final Op op = scenario.setup().get(i);
                    final long called = clock.getAndIncrement();
                    final Outcome outcome = op.apply(cpu, interpreter);
                    events.add(new History.Event(-1, i, op, called, clock.getAndIncrement(), outcome));
                }
            }
            events.addAll(runThreads(mm, scenario, jitter, clock, problems));
            final PageTableChecker.Result check = mm.check(!sharesMemory(scenario));
            for (final String violation : check.violations())
            {
                problems.add("invariant: " + violation);
            }
        }
        catch (final Hang hang)
        {
            hung = true;
            throw hang;
        }
        finally
        {
            if (!hung)
            {
                mm.close();
            }
        }
        final long leaked = framesHeld(memory) - framesBefore;
        if (leaked != 0)
        {
            problems.add("frames in use after close differ by " + leaked + " from before the run");
        }
        return new History(scenario, events, problems);
    }

    /**
     * Frames in use but for the huge zero page, which the first read fault in THP memory allocates
     * for the machine's life: what an address space's close must give back.
     */
    static long framesHeld(final PhysicalMemory memory)
    {
        return memory.framesInUse() - memory.hugeZeroPageFrames();
    }

    private static List<History.Event> runThreads(final AddressSpace mm, final Scenario scenario,
        final SplittableRandom jitter, final AtomicLong clock, final List<String> problems)
    {
        final int n = scenario.threads().size();
        final AtomicInteger ready = new AtomicInteger();
        final AtomicInteger go = new AtomicInteger();
        final ConcurrentLinkedQueue<History.Event> recorded = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        final Thread[] threads = new Thread[n];
        for (int t = 0; t < n; t++)
        {
            final int tid = t;
            final List<Op> ops = scenario.threads().get(t);
            final int[] spins = new int[ops.size()];
            for (int i = 0; i < spins.length; i++)
            {
                spins[i] = jitter.nextInt(MAX_JITTER_SPINS);
            }
            threads[t] = new Thread(() ->
            {
                // attached before the barrier but not online until its first op: nobody's shootdown waits for it
                try (Cpu cpu = mm.attachCpu())
                {
                    final Interpreter interpreter = new Interpreter(cpu);
                    ready.incrementAndGet();
                    while (go.get() == 0)
                    {
                        Thread.onSpinWait();
                    }
                    for (int i = 0; i < ops.size(); i++)
                    {
                        for (int s = spins[i]; s > 0; s--)
                        {
                            Thread.onSpinWait();
                        }
                        final Op op = ops.get(i);
                        final long growths = cpu.stackGrowths();
                        final long called = clock.getAndIncrement();
                        final Outcome outcome = op.apply(cpu, interpreter);
                        final long returned = clock.getAndIncrement();
                        recorded.add(new History.Event(tid, i, op, called, returned, outcome,
                            op.isTouch() && cpu.stackGrowths() != growths));
                    }
                }
                catch (final Throwable ex)
                {
                    errors.add(ex);
                }
            }, "check-" + t);
            threads[t].setDaemon(true);
            threads[t].start();
        }
        while (ready.get() < n)
        {
            Thread.onSpinWait();
        }
        go.set(1);
        final Thread reclaim = backgroundReclaim(mm, threads, errors);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_SECONDS);
        for (final Thread thread : reclaim == null ? threads : append(threads, reclaim))
        {
            try
            {
                thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while running a scenario", ex);
            }
            if (thread.isAlive())
            {
                throw new Hang("a scenario thread hung for " + HANG_SECONDS + " s:\n" + ProgramText.program(scenario, null));
            }
        }
        for (final Throwable error : errors)
        {
            problems.add("exception: " + error);
        }
        final List<History.Event> events = new ArrayList<>(recorded);
        events.sort((a, b) -> Long.compare(a.called(), b.called()));
        return events;
    }

    /**
     * With a swap area, kswapd's work beside the scenario's threads: the machine's reclaim
     * ({@link io.mmemu.vm.Reclaimer#reclaim}, A bits harvested, unreferenced pages swapped out) in
     * a loop until every scenario thread has ended. Not part of the history: reclaim changes no
     * outcome a sequential order could tell, so any effect it has on one is a bug. Null without swap.
     */
    private static Thread backgroundReclaim(final AddressSpace mm, final Thread[] threads,
        final ConcurrentLinkedQueue<Throwable> errors)
    {
        if (mm.memory().swap() == null)
        {
            return null;
        }
        final Thread reclaim = new Thread(() ->
        {
            try
            {
                while (anyAlive(threads))
                {
                    mm.machine().reclaimer().reclaim(RECLAIM_BATCH);
                }
            }
            catch (final Throwable ex)
            {
                errors.add(ex);
            }
        }, "check-kswapd");
        reclaim.setDaemon(true);
        reclaim.start();
        return reclaim;
    }

    /** Pages the background reclaim takes at a time: a scenario maps a few dozen. */
    private static final int RECLAIM_BATCH = 4;

    private static boolean anyAlive(final Thread[] threads)
    {
        for (final Thread thread : threads)
        {
            if (thread.isAlive())
            {
                return true;
            }
        }
        return false;
    }

    private static Thread[] append(final Thread[] threads, final Thread one)
    {
        final Thread[] all = java.util.Arrays.copyOf(threads, threads.length + 1);
        all[threads.length] = one;
        return all;
    }

    /**
     * Whether the scenario maps shared memory: its page cache holds frames no table reaches, so the
     * checker's frame accounting (frames in use = frames reached) does not apply mid-life; the
     * count after close still must come back.
     */
    private static boolean sharesMemory(final Scenario scenario)
    {
        for (int t = -1; t < scenario.threads().size(); t++)
        {
            for (final Op op : scenario.ops(t))
            {
                if (op.call() == Call.MMAP && (op.argument(3) & Mman.MAP_TYPE) == Mman.MAP_SHARED)
                {
                    return true;
                }
            }
        }
        return false;
    }
}
