package io.mmemu.vm;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Mode;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.Signal;
import org.openjdk.jcstress.annotations.State;

/**
 * No lost wake-up: a fault waiting on a VMA that a writer took is released when the writer
 * unlocks it, whichever comes first — the writer's lock, the fault's wait, or the unlock.
 */
@JCStressTest(Mode.Termination)
@Outcome(id = "TERMINATED", expect = Expect.ACCEPTABLE, desc = "the waiter woke")
@Outcome(id = "STALE", expect = Expect.FORBIDDEN, desc = "the waiter stayed blocked after the unlock")
@State
public class VmaCompletionWakes
{
    private final Vma vma = NoWait.vma().lockedCopy();

    @Actor
    public void fault()
    {
        while (!vma.tryReadLock())
        {
            vma.await(NoWait.INSTANCE);
        }
        vma.readUnlock();
    }

    @Signal
    public void writerFinishes()
    {
        vma.unlock();
    }
}
