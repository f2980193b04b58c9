package io.mmemu.program;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import io.mmemu.script.Call;
import io.mmemu.script.Interpreter;
import io.mmemu.script.Outcome;
import io.mmemu.script.Touch;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Signal;

import static io.mmemu.phys.PhysicalMemory.PAGE_SIZE;

/**
 * One thread of a running program: its own emulated {@link Cpu}, its frame of variables (a copy
 * of its starter's at the start), its random stream, and the statements it executes. A signal
 * ends the statement that raised it and is counted; the thread goes on with the next statement
 * (after {@code signals fatal}, an unexpected one stops the run).
 */
final class ProgramThread implements Runnable
{
    private final Run run;
    /** The process this thread runs in: its address space. */
    private final ProgramProcess process;
    /** Whether this thread is a forked process's main thread: the process exits when it ends. */
    private final boolean forkedMain;
    private final Scheduler scheduler;
    private final String name;
    private final List<Node> body;
    private final long[] frame;
    private final Scheduler.Group group;
    private final SplittableRandom random;
    /** Per event: how many times this thread waited for it (its k-th wait needs k posts). */
    private final long[] waits;
    /** Per named thread: the instance this thread started last, for {@code join}. */
    private final Handle[] started;
    /** Child processes this thread forked and has not waited for yet (their main threads). */
    private final List<ProgramThread> forked = new ArrayList<>(0);
    private boolean fatalSignals;
    /** Calls made, and their number when the innermost loop last began an iteration. */
    private long calls;
    private long callsAtLastIteration = -1;
    private Cpu cpu;
    private Touch touch;
    private Interpreter interpreter;

    /** A started thread, for joins. */
    static final class Handle
    {
        /** Written under the scheduler's monitor. */
        boolean done;
    }

    private final Handle handle = new Handle();

    ProgramThread(final Run run, final ProgramProcess process, final String name, final List<Node> body,
        final long[] frame, final Scheduler.Group group, final SplittableRandom random, final boolean fatalSignals)
    {
        this(run, process, false, name, body, frame, group, random, fatalSignals);
    }

    private ProgramThread(final Run run, final ProgramProcess process, final boolean forkedMain, final String name,
        final List<Node> body, final long[] frame, final Scheduler.Group group, final SplittableRandom random,
        final boolean fatalSignals)
    {
        this.run = run;
        this.process = process;
        this.forkedMain = forkedMain;
        this.scheduler = run.scheduler();
        this.name = name;
        this.body = body;
        this.frame = frame;
        this.group = group;
        this.random = random;
        this.fatalSignals = fatalSignals;
        this.waits = new long[run.program().events().size()];
        this.started = new Handle[run.program().threads().size()];
    }

    String name()
    {
        return name;
    }

    Handle handle()
    {
        return handle;
    }

    /** Leaves the shootdown set before blocking (see {@link Cpu}): a no-op before the CPU exists. */
    void offline()
    {
        if (cpu != null)
        {
            cpu.offline();
        }
    }

    @Override
    public void run()
    {
        try
        {
            try (Cpu attached = process.space().attachCpu())
            {
                cpu = attached;
                touch = new Touch(attached, scheduler::stopped);
                interpreter = new Interpreter(attached);
                block(body);
            }
            finally
            {
                if (forkedMain)
                {
                    // the block joined every thread and child of this process: no CPU is left in it
                    process.exit();
                }
            }
        }
        catch (final Throwable ex)
        {
            failed(ex);
        }
        finally
        {
            synchronized (scheduler)
            {
                handle.done = true;
            }
            scheduler.exit(group);
        }
    }

    /** Reports what ended this thread, unless it is the run stopping. */
    private void failed(final Throwable ex)
    {
        if (ex instanceof Scheduler.Stopped || process.space().oomKilled())
        {
            // the run stopping, or the OOM killer's SIGKILL ending every thread of this process
            return;
        }
        if (ex instanceof ProgramError error)
        {
            run.fail(error.format(run.program().name()));
            return;
        }
        final StackTraceElement[] stack = ex.getStackTrace();
        run.fail("internal error in thread " + name + ": " + ex + (stack.length == 0 ? "" : " at " + stack[0]));
    }

    /** Runs a block, then joins the threads it started that are still running. */
    private void block(final List<Node> nodes)
    {
        List<ProgramThread> children = null;
        try
        {
            for (final Node node : nodes)
            {
                if (scheduler.stopped())
                {
                    throw Scheduler.Stopped.INSTANCE;
                }
                if (node instanceof Node.Thread t)
                {
                    if (children == null)
                    {
                        children = new ArrayList<>(2);
                    }
                    final ProgramThread child = spawn(t.name(), t.body(), 0, 1, null, t);
                    started[t.index()] = child.handle;
                    children.add(child);
                }
                else if (node instanceof Node.Fork f)
                {
                    if (children == null)
                    {
                        children = new ArrayList<>(2);
                    }
                    final ProgramThread child = fork(f);
                    forked.add(child);
                    children.add(child);
                }
                else
                {
                    execute(node);
                }
            }
        }
        catch (final Throwable ex)
        {
            // stop the run before joining the children, so that they unwind too
            failed(ex);
            throw Scheduler.Stopped.INSTANCE;
        }
        finally
        {
            if (children != null)
            {
                joinAll(children, "the end of a block");
            }
        }
    }

    private void execute(final Node node)
    {
        switch (node)
        {
            case Node.CallNode c -> call(c);
            case Node.Assign a -> frame[a.slot()] = a.value().evaluate(frame);
            case Node.Repeat r ->
            {
                final long count = r.count().evaluate(frame);
                for (long i = 0; Long.compareUnsigned(i, count) < 0 && !loopEnd(); i++)
                {
                    if (r.indexSlot() != Node.NO_SLOT)
                    {
                        frame[r.indexSlot()] = i;
                    }
                    block(r.body());
                }
            }
            case Node.For f ->
            {
                final long start = System.nanoTime();
                while (System.nanoTime() - start < f.nanos() && !loopEnd())
                {
                    block(f.body());
                }
            }
            case Node.Until u ->
            {
                while (scheduler.posts(u.event()) <= waits[u.event()] && !loopEnd())
                {
                    block(u.body());
                }
            }
            case Node.Parallel p -> parallel(p);
            case Node.Join j ->
            {
                final Handle target = started[j.index()];
                if (target == null)
                {
                    throw new ProgramError(j.line(), j.column(), "thread '" + j.name() + "' was not started before this join");
                }
                scheduler.awaitEvenIfStopped(this, at(j, "join " + j.name()), () -> target.done);
            }
            case Node.Barrier b -> scheduler.arrive(this, group, at(b, "barrier"));
            case Node.Post p -> scheduler.post(p.event());
            case Node.Wait w ->
            {
                final long count = ++waits[w.event()];
                scheduler.awaitPosts(this, w.event(), count, at(w, "wait " + run.program().events().get(w.event())));
            }
            case Node.Sleep s -> scheduler.sleep(this, s.nanos());
            case Node.Signals s -> fatalSignals = s.fatal();
            case Node.Show s -> ViewStatements.show(run, name, cpu, s, frame);
            case Node.Save s -> ViewStatements.save(run, name, cpu, s);
            case Node.WaitChildren w ->
            {
                final List<ProgramThread> children = List.copyOf(forked);
                forked.clear();
                joinAll(children, at(w, "wait"));
            }
            case Node.Thread t -> throw new IllegalStateException("threads start in block()");
            case Node.Fork f -> throw new IllegalStateException("processes start in block()");
        }
    }

    /**
     * Whether a loop must start no new iteration: the run's duration is over; throws when the run
     * stops. A loop whose last iteration made no call leaves the shootdown set: its CPU is not
     * polling for flush requests, and a writer's shootdown must not wait for it (the next call
     * brings it back online with an empty TLB).
     */
    private boolean loopEnd()
    {
        if (scheduler.stopped())
        {
            throw Scheduler.Stopped.INSTANCE;
        }
        if (calls == callsAtLastIteration)
        {
            offline();
        }
        callsAtLastIteration = calls;
        return run.loopsEnd();
    }

    private void parallel(final Node.Parallel p)
    {
        final long count = p.count() == null ? run.options().threads() : p.count().evaluate(frame);
        if (count < 1 || count > Run.MAX_THREADS)
        {
            throw new ProgramError(p.line(), p.column(), "parallel takes 1 to " + Run.MAX_THREADS + " threads, not " + count);
        }
        final Scheduler.Group barrier = new Scheduler.Group((int)count);
        final List<ProgramThread> children = new ArrayList<>((int)count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                children.add(spawn(name + "/" + i, p.body(), i, (int)count, barrier, p));
            }
        }
        catch (final Throwable ex)
        {
            // stop the run before joining the children started so far, so that they unwind
            failed(ex);
            throw Scheduler.Stopped.INSTANCE;
        }
        finally
        {
            // threads not started (the run stopped meanwhile) leave the barrier's group
            for (long i = children.size(); i < count; i++)
            {
                synchronized (scheduler)
                {
                    barrier.parties--;
                }
            }
            joinAll(children, at(p, "the end of parallel"));
        }
    }

    private ProgramThread spawn(final String childName, final List<Node> childBody, final int tid, final int nthreads,
        final Scheduler.Group barrier, final Node where)
    {
        final long[] childFrame = frame.clone();
        childFrame[Program.TID_SLOT] = tid;
        childFrame[Program.NTHREADS_SLOT] = nthreads;
        final ProgramThread child = new ProgramThread(run, process, childName, childBody, childFrame, barrier, random.split(),
            fatalSignals);
        run.start(child, where);
        return child;
    }

    /**
     * {@code fork { ... }}: this thread's CPU forks its address space (the parent's other threads
     * go on meanwhile: the copy is one state of it); the child's main thread runs the body with a
     * copy of the variables, as {@code tid} 0 of 1, in the new process.
     */
    private ProgramThread fork(final Node.Fork f)
    {
        final io.mmemu.vm.AddressSpace space = cpu.fork();
        calls++;
        if (space == null)
        {
            throw new ProgramError(f.line(), f.column(), "fork: ENOMEM, the emulated memory has no room for the child's page tables");
        }
        final ProgramProcess child = new ProgramProcess(process.nextChildName(), space);
        run.forked(child);
        final long[] childFrame = frame.clone();
        childFrame[Program.TID_SLOT] = 0;
        childFrame[Program.NTHREADS_SLOT] = 1;
        final ProgramThread main = new ProgramThread(run, child, true, child.name(), f.body(), childFrame, null,
            random.split(), fatalSignals);
        try
        {
            run.start(main, f);
        }
        catch (final ProgramError ex)
        {
            // the child never runs: its address space goes now
            child.exit();
            throw ex;
        }
        return main;
    }

    private void joinAll(final List<ProgramThread> children, final String what)
    {
        for (final ProgramThread child : children)
        {
            scheduler.awaitEvenIfStopped(this, what, () -> child.handle.done);
        }
    }

    private String at(final Node node, final String what)
    {
        return "'" + what + "' (line " + node.line() + ")";
    }

    // ---------------------------------------------------------------- calls

    private void call(final Node.CallNode c)
    {
        final List<Expr> expressions = c.arguments();
        final long[] arguments = new long[expressions.size()];
        for (int i = 0; i < arguments.length; i++)
        {
            arguments[i] = expressions.get(i).evaluate(frame);
        }
        final Outcome outcome = c.call() == Call.TOUCH ? touch(c, arguments) : interpreter.execute(c.call(), arguments);
        calls++;
        run.countStatement(outcome.signal());
        if (outcome.signal() == Signal.SIGKILL || cpu.addressSpace().oomKilled())
        {
            // uncatchable: the process ends whatever the statement expected
            run.oomKilled(c, outcome);
            throw Scheduler.Stopped.INSTANCE;
        }
        if (scheduler.stopped())
        {
            throw Scheduler.Stopped.INSTANCE; // a touch cut short by a stop proves nothing: no expectation checked
        }
        if (c.slot() != Node.NO_SLOT)
        {
            frame[c.slot()] = outcome.value();
        }
        boolean met = c.expectations().isEmpty();
        for (final Expectation expectation : c.expectations())
        {
            if (expectation.metBy(outcome, frame))
            {
                met = true;
                break;
            }
        }
        if (!met)
        {
            final long address = outcome.signal() != Signal.NONE ? outcome.faultAddress()
                : arguments.length > 0 ? arguments[0] : 0;
            run.expectationFailed(c, FailureGroups.Kind.OUTCOME, unmet(c, outcome, expected(c)), address);
        }
        if (c.call() == Call.TOUCH && touch.mismatches() > 0)
        {
            run.expectationFailed(c, FailureGroups.Kind.BYTES, mismatch(touch.mismatches(),
                c.pattern().value().evaluate(frame), touch.mismatchSeen(), touch.mismatchAddress()), touch.mismatchAddress());
        }
        if (outcome.signal() != Signal.NONE && fatalSignals && (c.expectations().isEmpty() || !met))
        {
            run.fatal(c, Signal.describe(outcome.signal(), outcome.faultAddress()));
            throw Scheduler.Stopped.INSTANCE;
        }
    }

    private Outcome touch(final Node.CallNode c, final long[] a)
    {
        final TouchPattern pattern = c.pattern();
        final long stride = pattern.stride() == null ? PAGE_SIZE : pattern.stride().evaluate(frame);
        if (stride == 0)
        {
            throw new ProgramError(c.line(), c.column(), "touch's stride is 0");
        }
        int value = Touch.DEFAULT_BYTE;
        int check = Touch.NO_CHECK;
        if (pattern.value() != null)
        {
            final long v = pattern.value().evaluate(frame);
            if (v < 0 || v > 0xff)
            {
                throw new ProgramError(c.line(), c.column(), "touch's value must be a byte, 0 to 255, not " + v);
            }
            value = (int)v;
            check = (int)v;
        }
        if (pattern.random() == null)
        {
            return touch.sequential(a[0], a[1], (int)a[2], stride, value, check);
        }
        final SplittableRandom positions = pattern.seed() == null ? random : new SplittableRandom(pattern.seed().evaluate(frame));
        return touch.random(a[0], a[1], (int)a[2], stride, pattern.random().evaluate(frame), positions, value, check);
    }

    /** What a statement did and what it should have done: {@code TEXT = RESULT, expected EXPECTED}. */
    static String unmet(final Node.CallNode c, final Outcome outcome, final String expected)
    {
        return c.text() + " = " + io.mmemu.script.ResultFormat.result(c.call(), outcome, io.mmemu.script.Window.NONE) +
            ", expected " + expected;
    }

    /** The reads of a touch that saw another byte than its {@code value}. */
    static String mismatch(final long count, final long value, final int seen, final long address)
    {
        return count + " read(s) saw another byte than " + value + ", the first 0x" + Integer.toHexString(seen) +
            " at 0x" + Long.toHexString(address);
    }

    private String expected(final Node.CallNode c)
    {
        final StringBuilder sb = new StringBuilder();
        for (final Expectation expectation : c.expectations())
        {
            sb.append(sb.isEmpty() ? "" : " or ").append(expectation.describe(frame));
        }
        return sb.toString();
    }
}
