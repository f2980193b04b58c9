package io.mmemu.vm;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import io.mmemu.mmu.Tlb;
import io.mmemu.pgtable.PageTableEditor;
import org.agrona.concurrent.IdleStrategy;

/**
 * One CPU's side of the TLB shootdown protocol (Linux's flush_tlb_mm_range with IPIs), for the
 * CPUs of one {@link AddressSpace}.
 * <p>
 * A CPU is <i>online</i> from its first access or syscall until it goes offline (it blocks, or its
 * thread waits outside the emulator, or it closes). To invalidate translations, an initiator
 * bumps every other CPU's {@code flushRequest} (volatile), then waits until each online CPU's
 * {@code flushAck} reaches its request or the CPU goes offline. An online CPU polls its request
 * word at the start of every access ({@link #enter}: an opaque load of its own field, nothing on
 * the fast path is shared or fenced) and, when it moved, flushes its TLB and publishes the ack
 * with a volatile store. The access that was in flight when the request arrived has completed by
 * then (program order before the ack's release), which is what makes freeing frames after the
 * acks safe. Going online and offline are volatile stores followed by volatile loads on both sides
 * (Dekker): either the initiator sees the CPU online and waits, or the CPU sees the request when
 * it comes online — it flushes its whole TLB then anyway. An initiator services its own requests
 * while it waits, so two simultaneous shootdowns cannot deadlock.
 * <p>
 * Each CPU also publishes the span (2 MiB granules) its TLB may cover, widened with a fence before
 * any walk outside it; initiators skip CPUs whose span misses their range (Linux's mm_cpumask,
 * finer).
 * <p>
 * Threads: the volatile words are written by the owning thread (ack, online, span) or by
 * initiators (request, by atomic add); every other field is the owning thread's alone.
 */
final class TlbShootdown
{
    private static final VarHandle FLUSH_REQUEST;
    private static final VarHandle FLUSH_ACK;
    private static final VarHandle ONLINE;
    private static final VarHandle SPAN_LO;
    private static final VarHandle SPAN_HI;
    /**
     * Granule of the cached-span bookkeeping: 2 MiB (one PT page), fine enough that threads
     * working on neighbouring regions do not interrupt each other, coarse enough that sequential
     * faulting widens it (a fence) once per 512 pages.
     */
    private static final int SPAN_SHIFT = 21;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            FLUSH_REQUEST = lookup.findVarHandle(TlbShootdown.class, "flushRequest", long.class);
            FLUSH_ACK = lookup.findVarHandle(TlbShootdown.class, "flushAck", long.class);
            ONLINE = lookup.findVarHandle(TlbShootdown.class, "online", boolean.class);
            SPAN_LO = lookup.findVarHandle(TlbShootdown.class, "spanLo", long.class);
            SPAN_HI = lookup.findVarHandle(TlbShootdown.class, "spanHi", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final AddressSpace mm;
    private final int cpuId;
    private final Tlb tlb;
    /** The owning CPU's editor: how it idles, and whether it holds a PT lock (assertions). */
    private final PageTableEditor editor;
    private final IdleStrategy idle;

    @SuppressWarnings("unused") // accessed through FLUSH_REQUEST
    private volatile long flushRequest;
    @SuppressWarnings("unused") // accessed through FLUSH_ACK
    private volatile long flushAck;
    @SuppressWarnings("unused") // accessed through ONLINE
    private volatile boolean online;
    /**
     * The virtual span, in 2 MiB granules, this TLB may hold translations for: [spanLo, spanHi).
     * Widened (volatile store, then a full fence) before a walk that may fill outside it; reset
     * when the TLB is flushed. An initiator fences, then skips CPUs whose span misses its range:
     * either it sees the widened span, or the CPU's walk sees the initiator's cleared entries.
     */
    @SuppressWarnings("unused") // accessed through SPAN_LO
    private volatile long spanLo = Long.MAX_VALUE;
    @SuppressWarnings("unused") // accessed through SPAN_HI
    private volatile long spanHi;

    /** Owner-thread copies: whether we are online, the request last acknowledged, the span. */
    private boolean isOnline;
    private long acked;
    private long lo = Long.MAX_VALUE;
    private long hi;
    /** Owner thread: closed for good, never online again. */
    private boolean closed;
    /**
     * Owner thread, while it initiates: per CPU of the shootdown, the request number it must
     * acknowledge, 0 for none; all 0 between shootdowns.
     */
    private long[] targets = new long[0];

    TlbShootdown(final AddressSpace mm, final int cpuId, final Tlb tlb, final PageTableEditor editor)
    {
        this.mm = mm;
        this.cpuId = cpuId;
        this.tlb = tlb;
        this.editor = editor;
        this.idle = editor.idle();
    }

    /** At the start of every access and syscall: come online, or answer a pending flush. */
    void enter()
    {
        if (!isOnline)
        {
            goOnline();
        }
        else if (flushPending())
        {
            serviceFlush();
        }
    }

    /** Before a walk for {@code va}: make sure the published span covers it. */
    void cover(final long va)
    {
        final long granule = va >>> SPAN_SHIFT;
        if (granule < lo || granule >= hi)
        {
            widenSpan(granule);
        }
    }

    private void widenSpan(final long granule)
    {
        lo = Math.min(lo, granule);
        hi = Math.max(hi, granule + 1);
        SPAN_LO.setVolatile(this, lo);
        SPAN_HI.setVolatile(this, hi);
        // StoreLoad: the widened span is visible before this CPU reads any entry in it
        VarHandle.fullFence();
    }

    private void flushTlb()
    {
        tlb.flushAll();
        lo = Long.MAX_VALUE;
        hi = 0;
        SPAN_HI.setVolatile(this, 0L);
        SPAN_LO.setVolatile(this, Long.MAX_VALUE);
    }

    /** Whether this CPU's TLB may hold a translation in {@code [start, end)}. Any thread. */
    private boolean mayCache(final long start, final long end)
    {
        final long l = (long)SPAN_LO.getVolatile(this);
        final long h = (long)SPAN_HI.getVolatile(this);
        return l < h && (start >>> SPAN_SHIFT) < h && ((end - 1) >>> SPAN_SHIFT) >= l;
    }

    private void serviceFlush()
    {
        final long request = (long)FLUSH_REQUEST.getVolatile(this);
        flushTlb();
        acked = request;
        // volatile store: every access this CPU made before happens-before the initiator's read of the ack
        FLUSH_ACK.setVolatile(this, request);
    }

    void goOnline()
    {
        if (closed)
        {
            throw new IllegalStateException("CPU " + cpuId + " is closed");
        }
        ONLINE.setVolatile(this, true);
        isOnline = true;
        // the volatile store above and this volatile load form the CPU's half of the Dekker pair
        final long request = (long)FLUSH_REQUEST.getVolatile(this);
        flushTlb();
        acked = request;
        FLUSH_ACK.setVolatile(this, request);
    }

    void goOffline()
    {
        flushTlb();
        isOnline = false;
        ONLINE.setVolatile(this, false);
    }

    boolean isOnline()
    {
        return isOnline;
    }

    /** Offline for good: a later access or syscall is misuse. */
    void close()
    {
        if (isOnline)
        {
            goOffline();
        }
        closed = true;
    }

    /**
     * Invalidates every other CPU's translations of {@code [start, end)} and waits until each
     * online one that may cache them has acknowledged; flushes our own first. Never called with a
     * PT lock held: the CPUs waited for may be waiting for that lock.
     */
    void initiate(final long start, final long end)
    {
        assert editor.holdsNoLock() : "a shootdown waited for with a PT lock held";
        flushTlb();
        // StoreLoad: the entries changed before this are visible before reading the others' spans
        VarHandle.fullFence();
        final Cpu[] all = mm.cpus();
        if (targets.length < all.length)
        {
            // grows only when CPUs were attached since the last shootdown: the fault path allocates nothing
            targets = new long[all.length];
        }
        final long[] requested = targets;
        for (int i = 0; i < all.length; i++)
        {
            final TlbShootdown other = all[i].shootdowns;
            if (other != this && other.mayCache(start, end))
            {
                // volatile RMW: the initiator's half of the Dekker pair, ordered before reading ONLINE
                requested[i] = (long)FLUSH_REQUEST.getAndAdd(other, 1L) + 1;
            }
        }
        for (int i = 0; i < all.length; i++)
        {
            final long target = requested[i];
            if (target == 0)
            {
                continue;
            }
            requested[i] = 0;
            final TlbShootdown other = all[i].shootdowns;
            idle.reset();
            while ((boolean)ONLINE.getVolatile(other) && (long)FLUSH_ACK.getVolatile(other) < target)
            {
                poll();
                idle.idle();
            }
        }
    }

    /** Answers a pending shootdown, if any: loops that wait for other CPUs must keep doing so. */
    void poll()
    {
        if (flushPending())
        {
            serviceFlush();
        }
    }

    /** Whether another CPU's shootdown waits for this CPU's answer. Called by the owning thread. */
    boolean flushPending()
    {
        return (long)FLUSH_REQUEST.getOpaque(this) != acked;
    }
}
