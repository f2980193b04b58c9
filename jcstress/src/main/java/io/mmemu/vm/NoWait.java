package io.mmemu.vm;

import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/** A wait context for a jcstress actor: no CPU to keep answering, nothing to do around blocking. */
final class NoWait implements WaitContext
{
    static final NoWait INSTANCE = new NoWait();
    private final IdleStrategy idle = new BusySpinIdleStrategy();

    @Override
    public IdleStrategy idle()
    {
        return idle;
    }

    @Override
    public void pollWhileWaiting()
    {
    }

    @Override
    public void beforeBlocking()
    {
    }

    @Override
    public void afterBlocking()
    {
    }

    static Vma vma()
    {
        return new Vma(0x100000000000L, 0x100000001000L, VmFlags.VM_READ | VmFlags.VM_WRITE, 0x100000000L, null, null, null);
    }
}
