package io.mmemu.program;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.BooleanSupplier;

/**
 * Everything a program thread may block on — events, barriers, joins, sleeps — behind one
 * monitor, so that a run can tell when it is stuck: when every live program thread is blocked and
 * no blocked thread's condition holds, nothing can ever wake one (conditions change only under this
 * monitor), and the run stops with a deadlock error naming each waiter. A stop ({@link #stop})
 * wakes every waiter, which then unwinds with {@link Stopped}.
 * <p>
 * Invariants, under the monitor: {@code live} counts registered threads that have not exited;
 * {@code blocked} holds exactly the threads inside {@link #await} whose condition was false when
 * last checked. Event post counts only grow; they are also readable without the monitor (an
 * {@link AtomicLongArray}: volatile reads) for {@code until} loops.
 */
final class Scheduler
{
    /** Thrown to unwind a thread when the run stops; preallocated, no stack trace. */
    static final class Stopped extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        static final Stopped INSTANCE = new Stopped();

        private Stopped()
        {
            super("run stopped", null, false, false);
        }
    }

    /** A barrier's group: the threads of one {@code parallel} block still running. */
    static final class Group
    {
        int parties;
        int arrived;
        long generation;

        Group(final int parties)
        {
            this.parties = parties;
        }
    }

    private record Waiter(String who, String what, BooleanSupplier condition)
    {
    }

    private final AtomicLongArray posts;
    private final List<Waiter> blocked = new ArrayList<>();
    private int live;
    private volatile boolean stopped;
    private String deadlock;

    Scheduler(final int events)
    {
        this.posts = new AtomicLongArray(Math.max(events, 1));
    }

    /** Whether the run was told to stop (a deadline of the whole run, Ctrl-C, an error, a deadlock). */
    boolean stopped()
    {
        return stopped;
    }

    synchronized void stop()
    {
        stopped = true;
        notifyAll();
    }

    /** The deadlock that stopped the run, or null. */
    synchronized String deadlock()
    {
        return deadlock;
    }

    /** Counts a thread in before it starts, so that a deadlock is never declared while it is on its way. */
    synchronized void register()
    {
        live++;
    }

    /** A thread ends: it leaves its barrier group (which may complete a barrier) and the live count. */
    synchronized void exit(final Group group)
    {
        live--;
        if (group != null)
        {
            group.parties--;
            if (group.arrived > 0 && group.arrived >= group.parties)
            {
                advance(group);
            }
        }
        notifyAll();
        checkDeadlock();
    }

    synchronized int live()
    {
        return live;
    }

    synchronized void post(final int event)
    {
        posts.incrementAndGet(event);
        notifyAll();
    }

    long posts(final int event)
    {
        return posts.get(event);
    }

    /** Waits until {@code event} has been posted {@code count} times. */
    void awaitPosts(final ProgramThread thread, final int event, final long count, final String what)
    {
        await(thread, what, () -> posts.get(event) >= count);
    }

    /** Waits for the other threads of the group to arrive (threads that ended do not count). */
    void arrive(final ProgramThread thread, final Group group, final String what)
    {
        final long generation;
        synchronized (this)
        {
            generation = group.generation;
            group.arrived++;
            if (group.arrived >= group.parties)
            {
                advance(group);
                return;
            }
        }
        await(thread, what, () -> group.generation != generation);
    }

    private void advance(final Group group)
    {
        group.generation++;
        group.arrived = 0;
        notifyAll();
    }

    /** Waits until the condition holds; it must read only state changed under this monitor. */
    void await(final ProgramThread thread, final String what, final BooleanSupplier condition)
    {
        synchronized (this)
        {
            if (condition.getAsBoolean())
            {
                return;
            }
        }
        // a CPU that waits for something outside the emulator must not hold up TLB shootdowns
        thread.offline();
        synchronized (this)
        {
            final Waiter waiter = new Waiter(thread.name(), what, condition);
            blocked.add(waiter);
            try
            {
                while (!condition.getAsBoolean())
                {
                    if (stopped)
                    {
                        throw Stopped.INSTANCE;
                    }
                    checkDeadlock();
                    if (stopped)
                    {
                        throw Stopped.INSTANCE;
                    }
                    waitUninterruptibly(0);
                }
            }
            finally
            {
                blocked.remove(waiter);
            }
        }
    }

    /** Waits until the condition holds, whether or not the run stops (joins of threads that are unwinding). */
    void awaitEvenIfStopped(final ProgramThread thread, final String what, final BooleanSupplier condition)
    {
        try
        {
            await(thread, what, condition);
        }
        catch (final Stopped stop)
        {
            thread.offline();
            synchronized (this)
            {
                while (!condition.getAsBoolean())
                {
                    waitUninterruptibly(0);
                }
            }
            throw stop;
        }
    }

    /** Sleeps for {@code nanos}, or until the run stops. */
    void sleep(final ProgramThread thread, final long nanos)
    {
        thread.offline();
        final long end = System.nanoTime() + nanos;
        synchronized (this)
        {
            for (long left = nanos; left > 0; left = end - System.nanoTime())
            {
                if (stopped)
                {
                    throw Stopped.INSTANCE;
                }
                waitUninterruptibly(Math.max(1, left / 1_000_000));
            }
        }
    }

    /** Caller holds the monitor. */
    private void checkDeadlock()
    {
        if (stopped || live == 0 || blocked.size() < live)
        {
            return;
        }
        for (final Waiter waiter : blocked)
        {
            if (waiter.condition().getAsBoolean())
            {
                return;
            }
        }
        final StringBuilder sb = new StringBuilder("deadlock: every thread waits and none can go on:");
        for (final Waiter waiter : blocked)
        {
            sb.append(' ').append(waiter.who()).append(" at ").append(waiter.what()).append(';');
        }
        sb.setLength(sb.length() - 1);
        deadlock = sb.toString();
        stop();
    }

    private void waitUninterruptibly(final long millis)
    {
        try
        {
            wait(millis);
        }
        catch (final InterruptedException ex)
        {
            // Ctrl-C stops through stop(), not interrupts; keep the flag for the thread's owner
            Thread.currentThread().interrupt();
            stopped = true;
        }
    }
}
