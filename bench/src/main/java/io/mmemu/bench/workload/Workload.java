package io.mmemu.bench.workload;

/**
 * The loops `mmemu bench` and bench/run run on both sides, modelled on will-it-scale's: one op of
 * {@link #PAGE_FAULT1} (and {@link #PAGE_FAULT1_GUARD}) is a page written for the first time (a fault), of {@link #MMAP1} an
 * anonymous mmap + munmap pair left untouched; page_fault2/page_fault3/mmap2 do the same on a private
 * or shared mapping of a per-thread tmp file; {@link #SEED} is page_fault1 with every fault timed
 * while another thread unmaps a fully populated large mapping (the seed's story).
 */
public enum Workload
{
    PAGE_FAULT1("page_fault1", false, false),
    /**
     * page_fault1 with a PROT_NONE guard page after each mapping, so that the threads' mappings stay
     * separate VMAs: will-it-scale's threads map side by side and their mappings merge into one VMA,
     * whose lock every thread's faults then share. Each mapping is made PROT_NONE with its guard page,
     * then all but that page is made writable (mprotect), and it is unmapped with its guard page:
     * mapping it writable first would merge it for a moment with the writable mapping of the thread
     * placed next to it, whose faults would then wait for that (as they would on Linux).
     */
    PAGE_FAULT1_GUARD("page_fault1_guard", false, false),
    /**
     * page_fault1 over MADV_HUGEPAGE memory: each mapping (2 MiB larger than the size, so that an
     * aligned run of blocks fits) is advised MADV_HUGEPAGE and written once per 2 MiB block of its
     * aligned part: one op is a 2 MiB fault (a transparent huge page, under the madvise policy).
     */
    PAGE_FAULT1_THP("page_fault1_thp", false, false),
    /** page_fault1 on a private mapping of the thread's tmp file: each write copies a page-cache page. */
    PAGE_FAULT2("page_fault2", true, false),
    /** page_fault1 on a shared mapping of the thread's tmp file: each write dirties a page-cache page. */
    PAGE_FAULT3("page_fault3", true, true),
    MMAP1("mmap1", false, false),
    /** mmap1 of the thread's tmp file, MAP_SHARED. */
    MMAP2("mmap2", true, true),
    SEED("seed", false, false),
    /**
     * The seed with transparent huge pages on (issue 16): the large mapping and every thread's
     * mapping advised MADV_HUGEPAGE (under the madvise policy, the host's here), the large one
     * populated after the advice (MADV_POPULATE_WRITE), so it is huge pages whole; each op is still
     * a written 4 KiB page, the first of each 2 MiB block a huge page fault.
     */
    SEED_THP("seed_thp", false, false);

    private final String cliName;
    private final boolean onFile;
    private final boolean shared;

    Workload(final String cliName, final boolean onFile, final boolean shared)
    {
        this.cliName = cliName;
        this.onFile = onFile;
        this.shared = shared;
    }

    /** Whether each thread maps its own tmp file (will-it-scale: mkstemp, ftruncate to the size, unlink). */
    public boolean onFile()
    {
        return onFile;
    }

    /** MAP_SHARED rather than MAP_PRIVATE. */
    public boolean shared()
    {
        return shared;
    }

    /** Every workload's name, for messages. */
    public static final String NAMES =
        "page_fault1, page_fault1_guard, page_fault1_thp, page_fault2, page_fault3, mmap1, mmap2, seed or seed_thp";

    /** Whether each mapping carries a PROT_NONE guard page after it ({@link #PAGE_FAULT1_GUARD}). */
    public boolean guarded()
    {
        return this == PAGE_FAULT1_GUARD;
    }

    /** Whether its memory is advised MADV_HUGEPAGE ({@link #PAGE_FAULT1_THP}, {@link #SEED_THP}). */
    public boolean hugePages()
    {
        return this == PAGE_FAULT1_THP || this == SEED_THP;
    }

    /** Whether it is the seed's story: timed faults beside the munmap of a large mapping ({@link #SEED}, {@link #SEED_THP}). */
    public boolean seed()
    {
        return this == SEED || this == SEED_THP;
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
        throw new IllegalArgumentException("unknown workload '" + name + "' (" + NAMES + ")");
    }
}
