package io.mmemu.vm;

/**
 * Identity of Linux's {@code anon_vma}: VMAs that share one (pieces of one faulted mapping, or a
 * neighbour that adopted it) may merge; two VMAs faulted separately may not. mmemu has no reverse
 * map to keep, so identity is all there is.
 */
final class AnonVma
{
    private static long nextId;
    final long id;

    AnonVma()
    {
        synchronized (AnonVma.class)
        {
            id = ++nextId;
        }
    }

    @Override
    public String toString()
    {
        return "anon_vma#" + id;
    }
}
