package io.mmemu.program;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.LongAdder;

import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Commitment;
import io.mmemu.vm.Machine;
import io.mmemu.vm.MmStats;
import io.mmemu.vm.Signal;

/**
 * One run of a {@link Program} ({@code mmemu run}): a fresh emulated machine and address space,
 * the program's main thread and every thread it starts, and, on the calling thread, a sampler
 * that keeps the peaks, the live counters and the progress line up to date until the program ends.
 * Then the {@link Report}.
 * <p>
 * {@link #stop} (Ctrl-C, a test's watchdog) may be called from any thread: every program thread
 * unwinds at its next statement, loop iteration, wait or touch poll, and {@link #execute} still
 * returns the report of what ran.
 */
public final class Run
{
    /** At most this many program threads at once (and in one parallel block). */
    public static final int MAX_THREADS = 1024;
    /** The first failed expectations are kept with their messages; the rest are counted. */
    public static final int KEPT_FAILURES = 20;
    /** How often the sampler looks at the machine. */
    private static final long SAMPLE_MILLIS = 100;

    /** Told at every sample, on the thread that called {@link #execute}. */
    @FunctionalInterface
    public interface Progress
    {
        Progress NONE = sample -> { };

        void sample(Sample sample);
    }

    /**
     * What the sampler saw (approximate while threads run).
     *
     * @param elapsedNanos since the program started
     * @param faults       page faults so far
     * @param tablePages   page-table pages in use
     * @param dataFrames   data frames in use
     */
    public record Sample(long elapsedNanos, long faults, long tablePages, long dataFrames)
    {
    }

    private final Program program;
    private final RunOptions options;
    private final Scheduler scheduler;
    private final ViewOutput views;
    private final LongAdder statements = new LongAdder();
    private final LongAdder[] signals = new LongAdder[Signal.SIGKILL + 1];
    private final LongAdder failedExpectations = new LongAdder();
    private final List<String> failures = new ArrayList<>();
    private final FailureGroups failureGroups = new FailureGroups();
    private volatile AddressSpace space;
    /** The machine's reclaimer, stopped (kswapd joined) when the run ends. */
    private volatile io.mmemu.vm.Reclaimer reclaimer;
    /** Every process of the run, the main one first, in the order they were forked. */
    private final java.util.concurrent.CopyOnWriteArrayList<ProgramProcess> processes =
        new java.util.concurrent.CopyOnWriteArrayList<>();
    /** When the program started ({@link System#nanoTime}), for the views' headers. */
    private volatile long startNanos;
    private volatile long loopsDeadline = Long.MAX_VALUE;
    private volatile boolean loopsOver;
    private String error;
    private String fatal;
    private volatile boolean interrupted;

    /** A run whose views ({@code show}) go to standard output, file names relative to the current directory. */
    public Run(final Program program, final RunOptions options)
    {
        this(program, options, ViewOutput.to(System.out));
    }

    /** A run whose views go to {@code views}. */
    public Run(final Program program, final RunOptions options, final ViewOutput views)
    {
        this.program = program;
        this.options = options;
        this.views = views;
        this.scheduler = new Scheduler(program.events().size());
        for (int i = 0; i < signals.length; i++)
        {
            signals[i] = new LongAdder();
        }
    }

    /**
     * Runs the program to its end (or until {@link #stop}) and reports.
     *
     * @throws IllegalArgumentException when the machine cannot be built (physical memory too small or too large)
     * @throws IOException              when the live counters file cannot be created
     */
    public Report execute(final Progress progress) throws IOException
    {
        return execute(progress, space -> { });
    }

    /** What to do with the address space once the program's threads are done, before it is freed. */
    @FunctionalInterface
    public interface AtEnd
    {
        void accept(AddressSpace space) throws IOException;
    }

    /** As {@link #execute(Progress)}, handing the final address space to {@code atEnd} (views, dumps). */
    public Report execute(final Progress progress, final AtEnd atEnd) throws IOException
    {
        try (PhysicalMemory memory = withSwap(PhysicalMemory.create(options.physicalMemory(), options.backing()));
             LiveCounters counters = options.counters() == null ? null : LiveCounters.create(options.counters(), program.name()))
        {
            // Not closed: close() would unmap everything page by page; closing the memory frees it all at once.
            // the pools are taken at boot, before any address space (hugepages= on the kernel command line)
            options.hugetlb().applyTo(memory);
            final Machine machine = new Machine(memory, options.overcommit());
            reclaimer = machine.reclaimer();
            final Commitment commitment = machine.commitment();
            final AddressSpace mm = AddressSpace.create(options.locking(), options.section(), options.kernel(), machine);
            mm.thp(options.thp());
            space = mm;
            final long start = System.nanoTime();
            startNanos = start;
            if (options.durationNanos() != RunOptions.NO_DURATION)
            {
                loopsDeadline = start + options.durationNanos();
            }
            final long[] frame = new long[program.slots()];
            frame[Program.NTHREADS_SLOT] = 1;
            final ProgramProcess process = new ProgramProcess("main", mm);
            processes.add(process);
            final ProgramThread main = new ProgramThread(this, process, "main", program.body(), frame, null,
                new SplittableRandom(options.seed()), false);
            final Thread thread = start(main, null);

            long peakTables = 0;
            long peakData = 0;
            while (true)
            {
                final MmStats live = processes.size() == 1 ? mm.stats() : total();
                final Sample sample = new Sample(System.nanoTime() - start, live.faults(), memory.tablePages(),
                    memory.dataFrames());
                peakTables = Math.max(peakTables, sample.tablePages());
                peakData = Math.max(peakData, sample.dataFrames());
                if (counters != null)
                {
                    counters.update(sample.elapsedNanos(), live, sample.tablePages(), sample.dataFrames(),
                        statements.sum(), failedExpectations.sum(), scheduler.live());
                }
                if (!thread.isAlive())
                {
                    break;
                }
                progress.sample(sample);
                join(thread);
            }
            final long wall = System.nanoTime() - start;
            // kswapd stops before the views and the final counts: they read a quiescent machine
            machine.reclaimer().close();
            atEnd.accept(mm);
            awaitThreadsAfterKill();
            for (final ProgramProcess p : processes)
            {
                if (p.space().oomKilled() && !p.exited())
                {
                    // exit_mmap: a killed process's threads are gone, and everything it held comes back
                    p.exit();
                }
            }
            final MmStats stats = total();
            final List<Report.ProcessFigures> perProcess = new ArrayList<>(processes.size());
            for (final ProgramProcess p : processes)
            {
                perProcess.add(Report.ProcessFigures.of(p.name(), p.stats()));
            }
            final long tables = memory.tablePages();
            final long data = memory.dataFrames();
            final String deadlock = scheduler.deadlock();
            synchronized (this)
            {
                return new Report(program, options, wall, stats, Math.max(peakTables, tables), tables,
                    Math.max(peakData, data), data, ProcessMemory.peakRss(), ProcessMemory.rss(), statements.sum(),
                    new long[] {signals[Signal.SEGV_MAPERR].sum(), signals[Signal.SEGV_ACCERR].sum(),
                        signals[Signal.SI_KERNEL].sum(), signals[Signal.BUS_ADRERR].sum()},
                    failedExpectations.sum(), List.copyOf(failures), failureGroups.snapshot(),
                    error != null ? error : deadlock, fatal, interrupted, null, perProcess,
                    new Report.Pressure(commitment.committedPages(), commitment.committedPeakPages(),
                        commitment.commitLimitPages(), machine.oomKiller().kills(),
                        Report.Reclaim.of(memory, machine.reclaimer(), stats.faults()), Report.HugePages.of(memory)));
            }
        }
        finally
        {
            scheduler.stop();
            if (reclaimer != null)
            {
                reclaimer.close();
            }
        }
    }

    /** The run's memory with the swap area the options ask for attached (swapon before anything runs). */
    private PhysicalMemory withSwap(final PhysicalMemory memory)
    {
        try
        {
            final io.mmemu.phys.SwapArea area = options.swap().create();
            return area == null ? memory : memory.attachSwap(area);
        }
        catch (final RuntimeException ex)
        {
            memory.close();
            throw ex;
        }
    }

    /** Every process's counters together. */
    private MmStats total()
    {
        final List<MmStats> all = new ArrayList<>(processes.size());
        for (final ProgramProcess p : processes)
        {
            all.add(p.stats());
        }
        return MmStats.total(all);
    }

    /** A process forked by a program thread: counted in the report from now on. */
    void forked(final ProgramProcess child)
    {
        processes.add(child);
    }

    private static void join(final Thread thread)
    {
        try
        {
            thread.join(SAMPLE_MILLIS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running a program", ex);
        }
    }

    /** Stops the run (Ctrl-C): threads unwind, {@link #execute} reports what ran. Any thread may call it. */
    public void stop()
    {
        interrupted = true;
        scheduler.stop();
    }

    // ---------------------------------------------------------------- for the program threads

    Program program()
    {
        return program;
    }

    RunOptions options()
    {
        return options;
    }

    Scheduler scheduler()
    {
        return scheduler;
    }

    ViewOutput views()
    {
        return views;
    }

    /** Time since the program started. */
    long elapsedNanos()
    {
        return System.nanoTime() - startNanos;
    }

    AddressSpace space()
    {
        return space;
    }

    /** Whether loops must start no new iteration: the run's duration is over. */
    boolean loopsEnd()
    {
        if (loopsOver)
        {
            return true;
        }
        if (System.nanoTime() - loopsDeadline >= 0 && loopsDeadline != Long.MAX_VALUE)
        {
            loopsOver = true;
        }
        return loopsOver;
    }

    /** Starts a program thread; {@code where} (null for main) is the statement, for the thread limit's error. */
    Thread start(final ProgramThread thread, final Node where)
    {
        synchronized (scheduler)
        {
            if (scheduler.live() >= MAX_THREADS)
            {
                throw new ProgramError(where == null ? 0 : where.line(), where == null ? 0 : where.column(),
                    "more than " + MAX_THREADS + " threads at once");
            }
            scheduler.register();
        }
        final Thread java = new Thread(thread, "mmemu-" + thread.name());
        java.setDaemon(true);
        try
        {
            java.start();
        }
        catch (final OutOfMemoryError ex)
        {
            // no native thread: it never runs, so it leaves now (joins and deadlock detection see it gone)
            synchronized (scheduler)
            {
                thread.handle().done = true;
            }
            scheduler.exit(null);
            throw new ProgramError(where == null ? 0 : where.line(), where == null ? 0 : where.column(),
                "cannot start another thread: " + ex.getMessage());
        }
        return java;
    }

    void countStatement(final int signal)
    {
        statements.increment();
        if (signal != Signal.NONE)
        {
            signals[signal].increment();
        }
    }

    /** Counts a failed expectation of {@code node} at {@code address} (see {@link FailureGroup}). */
    synchronized void expectationFailed(final Node.CallNode node, final FailureGroups.Kind kind, final String what,
        final long address)
    {
        failedExpectations.increment();
        final String statement = program.name() + ":" + node.line() + ":" + node.column();
        if (failures.size() < KEPT_FAILURES)
        {
            failures.add(at(program, node) + what);
        }
        failureGroups.add(statement, node, kind, what, address);
    }

    /** An unexpected signal after {@code signals fatal}: the run stops, as a process killed by it. */
    void fatal(final Node.CallNode node, final String signal)
    {
        synchronized (this)
        {
            if (fatal == null)
            {
                fatal = at(program, node) + node.text() + " raised " + signal;
            }
        }
        scheduler.stop();
    }

    /**
     * The OOM killer chose this run's process: it ends, as a process killed by SIGKILL, whatever
     * its statements expected ({@code signals fatal} or not).
     */
    void oomKilled(final Node.CallNode node, final io.mmemu.script.Outcome outcome)
    {
        synchronized (this)
        {
            if (fatal == null)
            {
                fatal = OOM_KILLED + " (" + at(program, node) + node.text() + (outcome.signal() == Signal.SIGKILL ?
                    ": a fault at 0x" + Long.toHexString(outcome.faultAddress()) + " found no memory)" : ")");
            }
        }
        scheduler.stop();
    }

    /**
     * After an OOM kill, the threads the run's stop ends (a killed process's threads included) are
     * waited for, so that a killed address space is closed with none of its CPUs left; bounded, as
     * a thread stuck elsewhere is reported by the run itself.
     */
    private void awaitThreadsAfterKill()
    {
        boolean killed = false;
        for (final ProgramProcess p : processes)
        {
            killed |= p.space().oomKilled();
        }
        final long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (killed && scheduler.live() > 0 && System.nanoTime() < deadline)
        {
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
        }
    }

    /** How a report says the OOM killer ended the run. */
    public static final String OOM_KILLED = "killed by the OOM killer";

    /** {@code NAME:LINE:COLUMN: }, the start of a message about a statement. */
    static String at(final Program program, final Node node)
    {
        return program.name() + ":" + node.line() + ":" + node.column() + ": ";
    }

    /** A program error (or a bug) in a thread: the run stops and reports the first. */
    void fail(final String message)
    {
        synchronized (this)
        {
            if (error == null)
            {
                error = message;
            }
        }
        scheduler.stop();
    }
}
