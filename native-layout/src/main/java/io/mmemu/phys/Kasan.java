package io.mmemu.phys;

/**
 * The use-after-free checking mode, after Linux's KASAN: {@code -Dmmemu.kasan=true} (on in every
 * test run, off by default). When on, a data frame freed back to the allocator is poisoned (its
 * bytes filled with {@link #POISON}, and it is cleared whole when handed out again), and every
 * TLB fill and every TLB hit checks that the frame it reaches is still owned
 * ({@link PhysicalMemory#isOwned}); a frame that is not is reported
 * ({@link PhysicalMemory#reportUseAfterFree}), and the invariant checker fails on any report.
 * <p>
 * A static final constant: when off, the JIT removes every check, and the hot paths are as
 * without it.
 */
public final class Kasan
{
    public static final boolean ENABLED = Boolean.getBoolean("mmemu.kasan");
    /** The byte freed data frames are filled with (the kernel's POISON_FREE). */
    public static final byte POISON = 0x6b;

    private Kasan()
    {
    }
}
