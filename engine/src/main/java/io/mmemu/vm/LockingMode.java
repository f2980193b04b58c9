package io.mmemu.vm;

/** How faults are serialised against VMA changes. */
public enum LockingMode
{
    /**
     * Linux before 6.4: every fault takes the mmap lock for reading; every writer holds it for
     * writing for its whole operation, zap included.
     */
    MMAP_LOCK("mmap-lock"),
    /**
     * The seed's design (Wilcox, 2018): writers lock only the VMAs they change, with a completion;
     * faults take no mmap lock, wait on a locked VMA's completion and look the address up again.
     * munmap and MAP_FIXED zap section by section without the mmap lock, owning their whole range
     * (holes included) through the {@link RangeLock} meanwhile.
     */
    PER_VMA("per-vma");

    private final String cliName;

    LockingMode(final String cliName)
    {
        this.cliName = cliName;
    }

    public String cliName()
    {
        return cliName;
    }

    public static LockingMode fromCliName(final String name)
    {
        for (final LockingMode mode : values())
        {
            if (mode.cliName.equals(name))
            {
                return mode;
            }
        }
        throw new IllegalArgumentException("locking mode must be mmap-lock or per-vma, not '" + name + "'");
    }
}
