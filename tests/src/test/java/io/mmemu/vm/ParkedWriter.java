package io.mmemu.vm;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.ToLongFunction;

/**
 * A writer (a syscall) on its own thread and CPU that parks, offline, at the first page-table
 * boundary of its range operation where {@code parkWhen} holds, until {@link #release}: the
 * editor's interrupt hook is where a kernel walking a range takes interrupts, so parking there
 * holds no PTE lock. Makes a race with the writer half done deterministic.
 */
final class ParkedWriter
{
    final CountDownLatch parked = new CountDownLatch(1);
    final CountDownLatch resume = new CountDownLatch(1);
    final Thread thread;
    volatile long result = Long.MIN_VALUE;

    /** Starts {@code call} and returns once it has parked (or finished without reaching a boundary). */
    ParkedWriter(final AddressSpace mm, final String name, final BooleanSupplier parkWhen, final ToLongFunction<Cpu> call,
        final ConcurrentLinkedQueue<Throwable> errors)
    {
        thread = new Thread(() ->
        {
            try (Cpu cpu = mm.attachCpu())
            {
                final AtomicBoolean once = new AtomicBoolean();
                cpu.editor.takeInterruptsWith(() ->
                {
                    cpu.pollWhileWaiting();
                    if (parkWhen.getAsBoolean() && once.compareAndSet(false, true))
                    {
                        cpu.beforeBlocking();
                        parked.countDown();
                        awaitUninterruptibly(resume);
                        cpu.afterBlocking();
                    }
                });
                result = call.applyAsLong(cpu);
                cpu.editor.takeInterruptsWith(cpu::pollWhileWaiting);
            }
            catch (final Throwable ex)
            {
                errors.add(ex);
            }
            finally
            {
                parked.countDown();
            }
        }, name);
        thread.start();
        awaitUninterruptibly(parked);
    }

    void release()
    {
        resume.countDown();
    }

    /**
     * Races {@code racer}, on a thread and CPU of its own, against this parked writer: waits until
     * the racer has finished or blocks (on the writer), releases the writer and joins both.
     * Returns whether the racer finished while the writer was parked (it saw the writer half done).
     */
    boolean race(final AddressSpace mm, final Consumer<Cpu> racer, final ConcurrentLinkedQueue<Throwable> errors)
        throws InterruptedException
    {
        final Thread racing = new Thread(() ->
        {
            try (Cpu cpu = mm.attachCpu())
            {
                racer.accept(cpu);
            }
            catch (final Throwable ex)
            {
                errors.add(ex);
            }
        }, "racer");
        racing.start();
        awaitFinishedOrWaiting(racing);
        final boolean finishedWhileParked = !racing.isAlive();
        release();
        thread.join();
        racing.join();
        return finishedWhileParked;
    }

    /** Returns once {@code thread} has finished or blocks (waiting for the parked writer). */
    static void awaitFinishedOrWaiting(final Thread thread)
    {
        while (thread.isAlive() && thread.getState() != Thread.State.WAITING)
        {
            Thread.onSpinWait();
        }
    }

    static void awaitUninterruptibly(final CountDownLatch latch)
    {
        while (true)
        {
            try
            {
                latch.await();
                return;
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
    }
}
