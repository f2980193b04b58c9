package io.mmemu.vm;

/**
 * A populating mmap (MAP_POPULATE without MAP_NONBLOCK, or MAP_LOCKED) one step at a time, as
 * Linux's vm_mmap_pgoff runs it: do_mmap under the mmap write lock, then, after
 * mmap_write_unlock, mm_populate of the range it mapped, whose errors are ignored. Another
 * thread's call may take effect between the two (an madvise that merges the new VMA with a
 * neighbour before the populate faults it, say). {@link Cpu#mmap} runs both steps; this is for a
 * sequential model that has to put other calls between them (the linearizability checker). The
 * steps are the engine's own, as {@link Cpu#mmap} runs them.
 */
public final class MmapSteps
{
    private MmapSteps()
    {
    }

    /**
     * Whether an mmap with {@code flags} that returned {@code result} has a populate step (it
     * succeeded, and its flags populate).
     */
    public static boolean populates(final int flags, final long result)
    {
        return Mmap.populates(flags, result);
    }

    /**
     * The mmap without its populate step, on {@code cpu} (anonymous only, as {@link Cpu#mmap} with
     * an fd number): what it returns, which is what the whole mmap returns.
     */
    public static long map(final Cpu cpu, final long addr, final long length, final int prot, final int flags,
        final long offset)
    {
        cpu.enter();
        return Mmap.map(cpu, addr, length, prot, flags, null, offset);
    }

    /**
     * The populate step alone, of an mmap with {@code length} and {@code flags} whose first step
     * returned {@code result}: faults the range in on the VMAs there now (private writable ones
     * for write, others for read; failures ignored). Nothing when {@link #populates} is false.
     */
    public static void populate(final Cpu cpu, final long result, final long length, final int flags)
    {
        cpu.enter();
        Mmap.populate(cpu, result, length, flags);
    }
}
