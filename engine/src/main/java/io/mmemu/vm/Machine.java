package io.mmemu.vm;

import java.util.Objects;

import io.mmemu.phys.PhysicalMemory;

/**
 * What the emulated kernel keeps machine-wide, shared by every address space (process) on one
 * {@link PhysicalMemory}: the memory {@link Commitment}, the {@link OomKiller} with its list of
 * processes, and the {@link Reclaimer} (kswapd: stop it with {@code reclaimer().close()} before
 * the memory is closed). Give the memory its swap area before the machine is made. A forked child is created on its parent's machine.
 */
public final class Machine
{
    private final PhysicalMemory memory;
    private final Commitment commitment;
    private final OomKiller oomKiller;
    private final Reclaimer reclaimer;
    private final Mappings mappings = new Mappings();

    /** A machine with {@code memory} as its RAM and {@code overcommit} as its policy. */
    public Machine(final PhysicalMemory memory, final Overcommit overcommit)
    {
        this.memory = Objects.requireNonNull(memory, "memory");
        this.commitment = new Commitment(memory, overcommit);
        this.oomKiller = new OomKiller(memory);
        this.reclaimer = new Reclaimer(memory, mappings);
    }

    public PhysicalMemory memory()
    {
        return memory;
    }

    public Commitment commitment()
    {
        return commitment;
    }

    public OomKiller oomKiller()
    {
        return oomKiller;
    }

    /** Page reclaim: watermarks, kswapd, direct reclaim, into the memory's swap area (if it has one). */
    public Reclaimer reclaimer()
    {
        return reclaimer;
    }

    /** What LRU pages' mapping words name (folio->mapping): anon_vma roots, files. */
    Mappings mappings()
    {
        return mappings;
    }
}
