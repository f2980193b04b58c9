package io.mmemu.vm;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Mode;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.Signal;
import org.openjdk.jcstress.annotations.State;

/**
 * A VMA that a writer locks and then retires (it left the tree) releases its waiter too, which
 * then sees it still locked and would look its address up again.
 */
@JCStressTest(Mode.Termination)
@Outcome(id = "TERMINATED", expect = Expect.ACCEPTABLE, desc = "the waiter woke")
@Outcome(id = "STALE", expect = Expect.FORBIDDEN, desc = "the waiter stayed blocked after the retire")
@State
public class VmaRetireWakes
{
    private final Vma vma = NoWait.vma();

    public VmaRetireWakes()
    {
        vma.writeLock(NoWait.INSTANCE);
    }

    @Actor
    public void fault()
    {
        if (!vma.tryReadLock())
        {
            vma.await(NoWait.INSTANCE);
        }
    }

    @Signal
    public void writerRetires()
    {
        vma.retire();
    }
}
