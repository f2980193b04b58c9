package io.mmemu.vm;

/**
 * Outcomes of a memory access by an emulated CPU: 0, or the signal the kernel would deliver, as
 * status codes (hot paths return these, they never throw).
 */
public final class Signal
{
    public static final int NONE = 0;
    /** SIGSEGV, address not mapped. */
    public static final int SEGV_MAPERR = 1;
    /** SIGSEGV, access not permitted by the mapping (PROT_NONE, write to read-only...). */
    public static final int SEGV_ACCERR = 2;
    /** SIGBUS: the fault could not be served (past the end of a file, a huge leaf the handler cannot change, bad tables). */
    public static final int BUS_ADRERR = 3;
    /** SIGSEGV raised by the kernel itself (a general-protection fault: a non-canonical address), si_addr 0. */
    public static final int SI_KERNEL = 4;
    /**
     * SIGKILL from the OOM killer: the process was chosen as the victim when a fault found no
     * memory. Not a signal a program can catch or expect: its process ends.
     */
    public static final int SIGKILL = 5;

    private Signal()
    {
    }

    public static String signalName(final int code)
    {
        return code == BUS_ADRERR ? "SIGBUS" : code == SIGKILL ? "SIGKILL" : "SIGSEGV";
    }

    public static String codeName(final int code)
    {
        return switch (code)
        {
            case SEGV_MAPERR -> "SEGV_MAPERR";
            case SEGV_ACCERR -> "SEGV_ACCERR";
            case BUS_ADRERR -> "BUS_ADRERR";
            case SI_KERNEL -> "SI_KERNEL";
            case SIGKILL -> "SI_KERNEL";
            default -> "NONE";
        };
    }

    /**
     * As strace prints a delivered signal: {@code SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x1000}}; the
     * OOM killer's {@code SIGKILL {si_code=SI_KERNEL, si_addr=...}} names the access it ended.
     */
    public static String describe(final int code, final long address)
    {
        return signalName(code) + " {si_code=" + codeName(code) + ", si_addr=0x" + Long.toHexString(address) + "}";
    }
}
