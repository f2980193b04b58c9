package io.mmemu.vm;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * A fault that gets the VMA's read lock sees the writer's changes all or nothing: the writer's
 * drain waits for it, and a fault that comes after the unlock sees both stores (the unlock is a
 * release, the fault's CAS an acquire). Plain fields stand for the VMA state a writer changes.
 */
@JCStressTest
@Outcome(id = "0, 0", expect = Expect.ACCEPTABLE, desc = "fault ran before the writer locked")
@Outcome(id = "1, 1", expect = Expect.ACCEPTABLE, desc = "fault ran after the writer unlocked")
@Outcome(id = "-1, -1", expect = Expect.ACCEPTABLE, desc = "fault found the VMA locked and would wait")
@Outcome(id = "1, 0", expect = Expect.FORBIDDEN, desc = "fault inside a writer's critical section")
@Outcome(id = "0, 1", expect = Expect.FORBIDDEN, desc = "fault saw the writer's stores out of order")
@State
public class VmaLockExclusion
{
    private final Vma vma = NoWait.vma();
    private int x;
    private int y;

    @Actor
    public void writer()
    {
        vma.writeLock(NoWait.INSTANCE);
        x = 1;
        y = 1;
        vma.unlock();
    }

    @Actor
    public void fault(final II_Result r)
    {
        if (vma.tryReadLock())
        {
            r.r1 = y;
            r.r2 = x;
            vma.readUnlock();
        }
        else
        {
            r.r1 = -1;
            r.r2 = -1;
        }
    }
}
