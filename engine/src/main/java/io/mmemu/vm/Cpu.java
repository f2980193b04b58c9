package io.mmemu.vm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

import io.mmemu.mmu.Mmu;
import io.mmemu.mmu.Tlb;
import io.mmemu.pgtable.MmuGather;
import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.pgtable.PagingMode;
import io.mmemu.pgtable.TlbFlush;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.Kasan;
import io.mmemu.phys.PhysicalMemory;
import org.agrona.concurrent.IdleStrategy;

/**
 * An emulated CPU running in one {@link AddressSpace}, used by one thread: it makes the memory
 * syscalls (Linux's return convention: a value, or {@code -errno}) and memory accesses through its
 * TLB (a status from {@link Signal}; the value read is in {@link #value()}). Accesses allocate
 * nothing and throw nothing.
 * <p>
 * The hardware side (TLB, page walk, A/D bits) is its {@link Mmu}; the shootdown protocol that
 * keeps the CPUs' TLBs coherent is its {@link TlbShootdown}: a CPU answers other CPUs' requests at
 * the start of every access. So a thread about to wait for something outside the emulator (a
 * barrier, a join, I/O) must call {@link #offline()} first, as a real CPU would take IPIs while idle.
 */
public final class Cpu implements AutoCloseable, WaitContext
{
    private static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;
    /** Aligned 8-byte user data accesses. */
    private static final VarHandle WORD = ValueLayout.JAVA_LONG.varHandle();

    final AddressSpace mm;
    /** mm's TASK_SIZE, kept here for the TLB-miss path's bound check. */
    private final long taskSize;
    final int id;
    final PhysicalMemory memory;
    final FrameCache cache;
    final PageTableEditor editor;
    final PageWalker walker;
    /** MADV_PAGEOUT's way to drop a page-cache page it unmapped (one per CPU: no allocation per call). */
    final io.mmemu.pgtable.CacheEviction pageoutEviction;
    final MmuGather gather;
    final Mmu mmu;
    final Tlb tlb;
    final CpuStats stats = new CpuStats();
    /** This CPU's side of the shootdown protocol. */
    final TlbShootdown shootdowns;
    /** This CPU's flush hook for gathers: a shootdown initiated from here. */
    final TlbFlush shootdown = this::shootdown;
    private final MemorySegment frames;

    /** Owner thread only, as every field here but those of {@link #shootdowns} (see there). */
    private long value;
    private long faultAddress;
    private boolean closed;
    /**
     * Pages this CPU's writer has charged to the machine's commitment and not yet put into the
     * tree ({@link AddressSpace#charge}); 0 outside a writer's span.
     */
    long commitReserve;

    Cpu(final AddressSpace mm, final int id)
    {
        this.mm = mm;
        this.taskSize = mm.taskSize();
        this.id = id;
        this.memory = mm.memory();
        this.cache = memory.newCache();
        this.editor = new PageTableEditor(memory, cache, id + 1L);
        this.walker = editor.walker();
        final io.mmemu.phys.PhysicalMemory physical = memory;
        this.pageoutEviction = (pfn, pages) -> MappedFile.pageoutEvict(physical, pages, pfn);
        this.gather = new MmuGather(memory, cache);
        this.frames = memory.frames();
        this.mmu = new Mmu(walker, mm.cr3(), id);
        this.tlb = mmu.tlb();
        this.shootdowns = new TlbShootdown(mm, id, tlb, editor);
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

    /** mincore: one byte per page of the range into {@code vec}, 1 when resident ({@link Mincore}); 0 or -errno. */
    public int mincore(final long addr, final long length, final byte[] vec)
    {
        enter();
        return Mincore.mincore(this, addr, length, vec);
    }

    /**
     * fork (and clone without CLONE_VM): a new address space in the same physical memory, with this
     * one's kernel configuration and locking, holding a copy-on-write copy of this one ({@link Fork}).
     * The child has no CPU yet: attach its threads' CPUs, and close it when the child exits.
     * Returns null when memory ran out (fork's ENOMEM), with nothing left behind.
     */
    public AddressSpace fork()
    {
        enter();
        final AddressSpace child = AddressSpace.create(mm.locking(), mm.section(), mm.kernel(), mm.machine())
            .thp(mm.thp()).thpUseZeroPage(mm.thpUseZeroPage());
        if (!Fork.dupMmap(this, child))
        {
            child.close();
            return null;
        }
        return child;
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
        return frame(va, write, false);
    }

    /** {@link #frame(long, boolean)}, for an access by the kernel on the process's behalf when {@code gup}. */
    private long frame(final long va, final boolean write, final boolean gup)
    {
        enter();
        final long frame = tlb.lookup(va, write);
        if (frame != Tlb.MISS)
        {
            if (Kasan.ENABLED)
            {
                mmu.checkHit(va, frame);
            }
            return frame;
        }
        return fill(va, write, gup);
    }

    private static void checkAligned(final long va)
    {
        if ((va & 7) != 0)
        {
            throw new IllegalArgumentException("unaligned 8-byte access at 0x" + Long.toHexString(va));
        }
    }

    /**
     * Faults {@code va} in without storing or loading anything, as get_user_pages does for
     * MAP_POPULATE, MAP_LOCKED and MADV_POPULATE_(READ|WRITE): unlike a user access, it never
     * grows a stack (gup's VMA lookup refuses an address below a VM_GROWSDOWN VMA). The caller
     * ({@link Populate}) holds the mmap lock for reading; returns a {@link Signal} code, or
     * {@link Faults#GUP_NO_MEMORY} when the fault found no frame (the caller lets go of the lock,
     * then calls {@link Faults#outOfMemory}).
     */
    int faultIn(final long va, final boolean write)
    {
        final long frame = frame(va, write, true);
        return frame < 0 ? (int)(-1 - frame) : Signal.NONE;
    }

    /** The value of the last successful read. */
    public long value()
    {
        return value;
    }

    /**
     * How many times this CPU's faults have grown a stack (a VM_GROWSDOWN VMA moved its start
     * down). A growth is a change of the address space of its own: the access that caused it
     * happens after it, and other CPUs' operations may come in between.
     */
    public long stackGrowths()
    {
        return stats.stackGrowths;
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
     * either makes progress or returns a signal. A handler that made progress has usually filled
     * the TLB already ({@link #fillAfterFault}); otherwise the MMU walks again. Returns the TLB
     * frame word, or {@code -1 - signal}; the fill has checked the frame (Kasan).
     */
    private long fill(final long va, final boolean write, final boolean gup)
    {
        // one unsigned comparison on the common path: every address below TASK_SIZE is canonical
        if (Long.compareUnsigned(va, taskSize) >= 0)
        {
            if (!PagingMode.isCanonical(va, mm.paging()))
            {
                // #GP, not #PF: the kernel reports SI_KERNEL with no address
                faultAddress = 0;
                return -1L - Signal.SI_KERNEL;
            }
            faultAddress = va;
            return -1L - Signal.SEGV_MAPERR;
        }
        while (true)
        {
            // before every walk, not once: a fault that blocked went offline, which flushed the TLB
            // and emptied the published span; a walk after it must widen the span again
            shootdowns.cover(va);
            final int status = mmu.fill(va, write);
            if (status == Mmu.FILLED)
            {
                return tlb.lookup(va, write);
            }
            if (status == Mmu.RETRY)
            {
                continue;
            }
            if (status == Mmu.BAD_ENTRY)
            {
                faultAddress = va;
                return -1L - Signal.BUS_ADRERR;
            }
            final int fault = Faults.handle(this, va, write, gup);
            if (fault != Signal.NONE)
            {
                faultAddress = va;
                return -1L - fault;
            }
            final long frame = tlb.lookup(va, write);
            if (frame != Tlb.MISS)
            {
                return frame;
            }
        }
    }

    /**
     * Called by the fault handler once it has made progress at {@code va}'s PTE {@code slot},
     * still holding the VMA (its read lock, or the mmap lock), which keeps the slot's table in
     * place: the access's retry translates from that slot instead of walking down to it again.
     * The span is published first, as before any walk (the fault may have gone offline while it
     * waited), so a change of the entry after this read is shot down here. Any outcome but a
     * fill leaves the TLB as it was, and the access walks again.
     */
    void fillAfterFault(final long va, final boolean write, final long slot)
    {
        shootdowns.cover(va);
        mmu.fillPte(va, write, slot);
    }

    // ---------------------------------------------------------------- shootdown protocol

    /** Called at the start of every access and syscall: come online, or answer a pending flush. */
    void enter()
    {
        shootdowns.enter();
    }

    void goOnline()
    {
        shootdowns.goOnline();
    }

    void goOffline()
    {
        shootdowns.goOffline();
    }

    /** Leaves the set of CPUs that must acknowledge shootdowns (flushing this TLB). */
    public void offline()
    {
        // the thread leaves the emulator (lru_add_drain_cpu, as for a CPU going down): the pages in
        // its add batch join the lists, where reclaim from other threads finds them
        memory.drainAddBatch(cache);
        if (shootdowns.isOnline())
        {
            shootdowns.goOffline();
        }
    }

    /**
     * Invalidates every other CPU's translations of {@code [start, end)} in this address space
     * and waits until each online one has acknowledged; flushes our own first.
     */
    void shootdown(final long start, final long end)
    {
        shootdowns.initiate(start, end);
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
        shootdowns.poll();
    }

    /** Whether another CPU's shootdown waits for this CPU's answer. Called by the owning thread. */
    boolean flushPending()
    {
        return shootdowns.flushPending();
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
        shootdowns.close();
        closed = true;
        mm.detach(this);
        memory.retireCache(cache);
    }
}
