package io.mmemu.program;

import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.MmStats;

/**
 * One process of a running program: the address space its threads share, and its name (its main
 * thread's: {@code main}, then {@code main.1} for the first child {@code main} forked, and so on).
 * A forked process exits when its main thread's block ends (the block has joined every thread and
 * waited for every child it started): its counters are kept for the report and its address space is
 * closed, so the frames it alone held go back and the ones it shared become its parent's again.
 */
final class ProgramProcess
{
    private final String name;
    private final AddressSpace space;
    /** The counters at exit; null while the process runs. Written once by its main thread, read by the run's sampler. */
    private volatile MmStats exited;
    /** Guarded by this: children forked so far, for their names. */
    private int forks;

    ProgramProcess(final String name, final AddressSpace space)
    {
        this.name = name;
        this.space = space;
    }

    String name()
    {
        return name;
    }

    AddressSpace space()
    {
        return space;
    }

    /** The name of this process's next child. */
    synchronized String nextChildName()
    {
        return name + "." + ++forks;
    }

    /** The counters: final once exited, live (approximate) before. */
    MmStats stats()
    {
        final MmStats done = exited;
        return done != null ? done : space.stats();
    }

    /** Whether the process has exited (its address space is closed). */
    boolean exited()
    {
        return exited != null;
    }

    /**
     * Exit of a forked process, or of any process the OOM killer killed: its threads' CPUs are
     * closed; keeps its counters, frees its address space.
     */
    void exit()
    {
        exited = space.stats();
        space.close();
    }
}
