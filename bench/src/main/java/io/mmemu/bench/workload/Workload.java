package io.mmemu.bench.workload;

/**
 * The loops `mmemu bench` and bench/run run on both sides, modelled on will-it-scale's: one op of
 * {@link #PAGE_FAULT1} is a page written for the first time (a fault), of {@link #MMAP1} an
 * anonymous mmap + munmap pair left untouched; {@link #SEED} is page_fault1 with every fault timed
 * while another thread unmaps a fully populated large mapping (the seed's story).
 */
public enum Workload
{
    PAGE_FAULT1("page_fault1"),
    MMAP1("mmap1"),
    SEED("seed");

    private final String cliName;

    Workload(final String cliName)
    {
        this.cliName = cliName;
    }

    /** The name on the command line and in the host program's arguments. */
    public String cliName()
    {
        return cliName;
    }

    public static Workload fromCliName(final String name)
    {
        for (final Workload w : values())
        {
            if (w.cliName.equals(name))
            {
                return w;
            }
        }
        throw new IllegalArgumentException("unknown workload '" + name + "' (page_fault1, mmap1 or seed)");
    }
}
