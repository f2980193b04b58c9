package io.mmemu.check;

import java.util.ArrayList;
import java.util.List;

import io.mmemu.pgtable.PagingMode;
import io.mmemu.phys.Backing;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.LockingMode;
import io.mmemu.vm.ThpMode;

/**
 * A concurrent program to check: how the machine is built, the operations the main thread makes
 * before any other thread starts ({@link #setup}), and each thread's operations, in program order.
 *
 * @param startBrk where the heap starts (as exec would have set it), 0 for none
 * @param thp      the transparent-huge-page policy of the address space
 * @param paging   the page-table levels ({@link PagingMode}: 4, or 5 with LA57)
 */
public record Scenario(LockingMode locking, Backing backing, long section, long startBrk, List<Op> setup,
    List<List<Op>> threads, ThpMode thp, int paging)
{
    public Scenario
    {
        setup = List.copyOf(setup);
        threads = threads.stream().map(List::copyOf).toList();
        java.util.Objects.requireNonNull(thp, "thp");
        PagingMode.checked(paging);
    }

    /** A scenario with four-level tables. */
    public Scenario(final LockingMode locking, final Backing backing, final long section, final long startBrk,
        final List<Op> setup, final List<List<Op>> threads, final ThpMode thp)
    {
        this(locking, backing, section, startBrk, setup, threads, thp, PagingMode.FOUR_LEVEL);
    }

    /** A scenario without transparent huge pages. */
    public Scenario(final LockingMode locking, final Backing backing, final long section, final long startBrk,
        final List<Op> setup, final List<List<Op>> threads)
    {
        this(locking, backing, section, startBrk, setup, threads, ThpMode.NEVER);
    }

    /** The kernel both the run and the model emulate: mainline, with this scenario's paging. */
    public KernelConfig kernel()
    {
        return KernelConfig.MAINLINE.withPaging(paging);
    }

    public int operations()
    {
        int n = setup.size();
        for (final List<Op> thread : threads)
        {
            n += thread.size();
        }
        return n;
    }

    public Scenario withSetup(final List<Op> ops)
    {
        return new Scenario(locking, backing, section, startBrk, ops, threads, thp, paging);
    }

    public Scenario withThreads(final List<List<Op>> ops)
    {
        return new Scenario(locking, backing, section, startBrk, setup, ops, thp, paging);
    }

    /** This scenario with thread {@code t}'s ops replaced ({@code t} = -1: the setup). */
    public Scenario withOps(final int t, final List<Op> ops)
    {
        if (t < 0)
        {
            return withSetup(ops);
        }
        final List<List<Op>> copy = new ArrayList<>(threads);
        copy.set(t, ops);
        return withThreads(copy);
    }

    /** Thread {@code t}'s ops ({@code t} = -1: the setup). */
    public List<Op> ops(final int t)
    {
        return t < 0 ? setup : threads.get(t);
    }
}
