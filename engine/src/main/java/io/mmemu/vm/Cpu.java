package io.mmemu.vm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import io.mmemu.mmu.Mmu;
import io.mmemu.mmu.Tlb;
import io.mmemu.pgtable.MmuGather;
import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.pgtable.TlbFlush;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import org.agrona.concurrent.IdleStrategy;

/**
 * An emulated CPU running in one {@link AddressSpace}, used by one thread: it makes the memory
 * syscalls (Linux's return convention: a value, or {@code -errno}) and memory accesses through its
 * TLB (a status from {@link Signal}; the value read is in {@link #value()}). Accesses allocate
 * nothing and throw nothing.
 * <p>
 * <b>Shootdown protocol.</b> A CPU is <i>online</i> from its first call until {@link #offline()}
 * or {@link #close()}. To invalidate translations, an initiator bumps every other CPU's
 * {@code flushRequest} (volatile), then waits until each online CPU's {@code flushAck} reaches
 * its request or the CPU goes offline. An online CPU polls its request word at the start of every
 * access (an opaque load of its own field: nothing on the fast path is shared or fenced) and,
 * when it moved, flushes its TLB and publishes the ack with a volatile store. The access that was
 * in flight when the request arrived has completed by then (program order before the ack's
 * release), which is what makes freeing frames after the acks safe. Going online and offline are
 * volatile stores followed by volatile loads on both sides (Dekker): either the initiator sees
 * the CPU online and waits, or the CPU sees the request when it comes online — it flushes its
 * whole TLB then anyway. An initiator services its own requests while it waits, so two
 * simultaneous shootdowns cannot deadlock; a CPU that blocks (on the mmap lock) goes offline first.
 * So a thread about to wait for something outside the emulator (a barrier, a join, I/O) must call
 * {@link #offline()} first, as a real CPU would take IPIs while idle.
 */
public final class Cpu implements AutoCloseable, WaitContext
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
    private static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;
    /** Aligned 8-byte user data accesses. */
    private static final VarHandle WORD = ValueLayout.JAVA_LONG.varHandle();

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            FLUSH_REQUEST = lookup.findVarHandle(Cpu.class, "flushRequest", long.class);
            FLUSH_ACK = lookup.findVarHandle(Cpu.class, "flushAck", long.class);
            ONLINE = lookup.findVarHandle(Cpu.class, "online", boolean.class);
            SPAN_LO = lookup.findVarHandle(Cpu.class, "spanLo", long.class);
            SPAN_HI = lookup.findVarHandle(Cpu.class, "spanHi", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    final AddressSpace mm;
    final int id;
    final PhysicalMemory memory;
    final FrameCache cache;
    final PageTableEditor editor;
    final PageWalker walker;
    final MmuGather gather;
    final Mmu mmu;
    final Tlb tlb;
    final CpuStats stats = new CpuStats();
    /** This CPU's flush hook for gathers: a shootdown initiated from here. */
    final TlbFlush shootdown = this::shootdown;
    private final MemorySegment frames;

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
     * This is Linux's mm_cpumask, at a finer grain: disjoint workloads send no IPIs to each other.
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

    /** Per CPU of a shootdown: the request number it must acknowledge, 0 for none; all 0 between shootdowns. */
    private long[] shootdownTargets = new long[0];
    private long value;
    private long faultAddress;
    private boolean closed;

    Cpu(final AddressSpace mm, final int id)
    {
        this.mm = mm;
        this.id = id;
        this.memory = mm.memory();
        this.cache = memory.newCache();
        this.editor = new PageTableEditor(memory, cache, id + 1L);
        this.walker = editor.walker();
        this.gather = new MmuGather(memory, cache);
        this.frames = memory.frames();
        this.mmu = new Mmu(walker, mm.cr3());
        this.tlb = mmu.tlb();
        editor.recordHoldsTo(nanos -> CpuStats.record(stats.ptlHold, nanos));
        // a long zap or populate answers other CPUs' shootdowns between tables, as an interrupt would
        editor.takeInterruptsWith(this::pollWhileWaiting);
        mm.register(stats);
    }

    public AddressSpace addressSpace()
    {
        return mm;
    }

    public int id()
    {
        return id;
    }

    // ---------------------------------------------------------------- syscalls

    /**
     * mmap with a file descriptor number: the engine keeps no fd table, so only MAP_ANONYMOUS
     * mappings succeed (the fd is ignored then, as the kernel ignores it); anything else is EBADF.
     * File mappings take an {@link OpenFile}.
     */
    public long mmap(final long addr, final long length, final int prot, final int flags, final int fd, final long offset)
    {
        enter();
        return Mmap.mmap(this, addr, length, prot, flags, null, offset);
    }

    /** mmap of {@code file} (what the fd refers to; null is a bad fd), or of anonymous memory with MAP_ANONYMOUS. */
    public long mmap(final long addr, final long length, final int prot, final int flags, final OpenFile file,
        final long offset)
    {
        enter();
        return Mmap.mmap(this, addr, length, prot, flags, file, offset);
    }

    /** brk: the new program break, or the old one when the request is refused (the kernel's convention). */
    public long brk(final long brk)
    {
        enter();
        return Brk.brk(this, brk);
    }

    public long munmap(final long addr, final long length)
    {
        enter();
        return Mmap.munmap(this, addr, length);
    }

    public long mprotect(final long addr, final long length, final int prot)
    {
        enter();
        return Mprotect.mprotect(this, addr, length, prot);
    }

    public long mremap(final long oldAddr, final long oldLength, final long newLength, final int flags, final long newAddr)
    {
        enter();
        return Mremap.mremap(this, oldAddr, oldLength, newLength, flags, newAddr);
    }

    public long madvise(final long addr, final long length, final int advice)
    {
        enter();
        return Madvise.madvise(this, addr, length, advice);
    }

    // ---------------------------------------------------------------- memory accesses

    /** Reads the byte at {@code va}; on {@link Signal#NONE} the byte (0..255) is in {@link #value()}. */
    public int readByte(final long va)
    {
        final long frame = frame(va, false);
        if (frame < 0)
        {
            return (int)(-1 - frame);
        }
        value = (frame & Tlb.PHANTOM) != 0 ? 0 : frames.get(BYTE, (frame & ~Tlb.FLAGS_MASK) | (va & 0xFFF)) & 0xFF;
        return Signal.NONE;
    }

    public int writeByte(final long va, final int b)
    {
        final long frame = frame(va, true);
        if (frame < 0)
        {
            return (int)(-1 - frame);
        }
        if ((frame & Tlb.PHANTOM) == 0)
        {
            final long address = (frame & ~Tlb.FLAGS_MASK) | (va & 0xFFF);
            frames.set(BYTE, address, (byte)b);
            memory.markWritten(address);
        }
        return Signal.NONE;
    }

    /** Reads the 8-byte-aligned long at {@code va} into {@link #value()} (a single-copy-atomic access). */
    public int readLong(final long va)
    {
        checkAligned(va);
        final long frame = frame(va, false);
        if (frame < 0)
        {
            return (int)(-1 - frame);
        }
        // opaque: an emulated aligned 8-byte load is single-copy atomic, as on x86
        value = (frame & Tlb.PHANTOM) != 0 ? 0 : (long)WORD.getOpaque(frames, (frame & ~Tlb.FLAGS_MASK) | (va & 0xFFF));
        return Signal.NONE;
    }

    /** Writes the 8-byte-aligned long at {@code va} (single-copy atomic). */
    public int writeLong(final long va, final long v)
    {
        checkAligned(va);
        final long frame = frame(va, true);
        if (frame < 0)
        {
            return (int)(-1 - frame);
        }
        if ((frame & Tlb.PHANTOM) == 0)
        {
            final long address = (frame & ~Tlb.FLAGS_MASK) | (va & 0xFFF);
            WORD.setOpaque(frames, address, v);
            memory.markWritten(address);
        }
        return Signal.NONE;
    }

    /**
     * The translation every access starts with: answer a pending shootdown, look the TLB up, and
     * on a miss walk (and fault). Returns the TLB frame word, or {@code -1 - signal}.
     */
    private long frame(final long va, final boolean write)
    {
        enter();
        final long frame = mmu.lookup(va, write);
        if (frame != Tlb.MISS)
        {
            return frame;
        }
        final int status = fill(va, write);
        return status != Signal.NONE ? -1L - status : mmu.lookup(va, write);
    }

    private static void checkAligned(final long va)
    {
        if ((va & 7) != 0)
        {
            throw new IllegalArgumentException("unaligned 8-byte access at 0x" + Long.toHexString(va));
        }
    }

    /** Faults {@code va} in for writing without storing anything (MAP_POPULATE, MADV_POPULATE_WRITE). */
    int touchForWrite(final long va)
    {
        final long frame = frame(va, true);
        return frame < 0 ? (int)(-1 - frame) : Signal.NONE;
    }

    /** The value of the last successful read. */
    public long value()
    {
        return value;
    }

    /** The faulting address of the last access that raised a signal. */
    public long faultAddress()
    {
        return faultAddress;
    }

    /**
     * The TLB miss path: the MMU walks the tables (and sets A/D); when it finds nothing usable the
     * fault handler runs and the access tries again. Every outcome of the walk is handled here: a
     * lost A/D race walks again, malformed tables are SIGBUS, the rest is a fault, whose handler
     * either makes progress or returns a signal.
     */
    private int fill(final long va, final boolean write)
    {
        if (!PageTableEntry.isCanonical(va))
        {
            // #GP, not #PF: the kernel reports SI_KERNEL with no address
            faultAddress = 0;
            return Signal.SI_KERNEL;
        }
        if (va < 0 || va >= AddressSpace.TASK_SIZE)
        {
            faultAddress = va;
            return Signal.SEGV_MAPERR;
        }
        final long granule = va >>> SPAN_SHIFT;
        while (true)
        {
            // before every walk, not once: a fault that blocked went offline, which flushed the TLB
            // and emptied the published span; a walk after it must widen the span again
            if (granule < lo || granule >= hi)
            {
                widenSpan(granule);
            }
            final int status = mmu.fill(va, write);
            if (status == Mmu.FILLED)
            {
                return Signal.NONE;
            }
            if (status == Mmu.RETRY)
            {
                continue;
            }
            if (status == Mmu.BAD_ENTRY)
            {
                faultAddress = va;
                return Signal.BUS_ADRERR;
            }
            final int fault = Faults.handle(this, va, write);
            if (fault != Signal.NONE)
            {
                faultAddress = va;
                return fault;
            }
            // a fault that backed out (a race lost, a hole being punched) lets the access retry:
            // answer shootdowns meanwhile, the CPU that made us back out may be waiting for us
            pollWhileWaiting();
        }
    }

    // ---------------------------------------------------------------- shootdown protocol

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

    /** Whether this CPU's TLB may hold a translation in {@code [start, end)}. */
    private boolean mayCache(final long start, final long end)
    {
        final long l = (long)SPAN_LO.getVolatile(this);
        final long h = (long)SPAN_HI.getVolatile(this);
        return l < h && (start >>> SPAN_SHIFT) < h && ((end - 1) >>> SPAN_SHIFT) >= l;
    }

    /** Called at the start of every access and syscall: come online, or answer a pending flush. */
    private void enter()
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
            throw new IllegalStateException("CPU " + id + " is closed");
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

    /** Leaves the set of CPUs that must acknowledge shootdowns (flushing this TLB). */
    public void offline()
    {
        if (isOnline)
        {
            goOffline();
        }
    }

    /**
     * Invalidates every other CPU's translations of this address space and waits until each
     * online one has acknowledged (Linux's flush_tlb_mm_range with IPIs); flushes our own first.
     */
    void shootdown(final long start, final long end)
    {
        flushTlb();
        // StoreLoad: the entries changed before this are visible before reading the others' spans
        VarHandle.fullFence();
        final Cpu[] all = mm.cpus();
        if (shootdownTargets.length < all.length)
        {
            // grows only when CPUs were attached since the last shootdown: the fault path allocates nothing
            shootdownTargets = new long[all.length];
        }
        final long[] targets = shootdownTargets;
        for (int i = 0; i < all.length; i++)
        {
            final Cpu other = all[i];
            if (other != this && other.mayCache(start, end))
            {
                // volatile RMW: the initiator's half of the Dekker pair, ordered before reading ONLINE
                targets[i] = (long)FLUSH_REQUEST.getAndAdd(other, 1L) + 1;
            }
        }
        final IdleStrategy idle = editor.idle();
        for (int i = 0; i < all.length; i++)
        {
            final long target = targets[i];
            if (target == 0)
            {
                continue;
            }
            targets[i] = 0;
            final Cpu other = all[i];
            idle.reset();
            while ((boolean)ONLINE.getVolatile(other) && (long)FLUSH_ACK.getVolatile(other) < target)
            {
                pollWhileWaiting();
                idle.idle();
            }
        }
    }

    @Override
    public IdleStrategy idle()
    {
        return editor.idle();
    }

    /** Answers a pending shootdown, if any: loops that wait for other CPUs must keep doing so. */
    @Override
    public void pollWhileWaiting()
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

    @Override
    public void beforeBlocking()
    {
        goOffline();
    }

    @Override
    public void afterBlocking()
    {
        goOnline();
    }

    public Tlb tlb()
    {
        return tlb;
    }

    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        offline();
        closed = true;
        mm.detach(this);
        memory.retireCache(cache);
    }
}
