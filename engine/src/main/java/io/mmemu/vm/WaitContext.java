package io.mmemu.vm;

import org.agrona.concurrent.IdleStrategy;

/**
 * What a thread does while it waits on another CPU inside the emulator: how it idles, what it
 * must keep answering while it spins (TLB shootdown requests), and how it leaves and rejoins the
 * set of CPUs that must answer them when it blocks. {@link Cpu} is the real one.
 */
interface WaitContext
{
    IdleStrategy idle();

    /** Called on every spin of a wait loop. */
    void pollWhileWaiting();

    /** Called before blocking (parking on a completion). */
    void beforeBlocking();

    /** Called after blocking. */
    void afterBlocking();
}
