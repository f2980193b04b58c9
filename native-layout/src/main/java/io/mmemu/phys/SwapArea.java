package io.mmemu.phys;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One swap area (mm/swapfile.c's {@code swap_info_struct}, type 0): {@code slots} page-sized slots
 * of storage — emulated memory reserved lazily from the host, or a sparse host file — and one
 * state word per slot, Linux's {@code swap_map} fused with the swap cache of pages under
 * writeback:
 * <pre>
 *  bits  0..15  swap count: the page-table entries naming the slot (swap_map; swap_duplicate adds one)
 *  bits 16..55  PFN of the page being written to the slot (its swap-cache page), 0 when written
 *  0            the slot is free
 * </pre>
 * Slot 0 is never handed out (Linux keeps the swap header there), so a swap entry of offset 0 never
 * names data. A slot is free exactly when its word is 0; whoever makes it 0 (the last
 * {@link #free}, or {@link #writeOut} finding no entry left) returns it. The bytes of a slot change
 * only between its allocation and the end of its write-out, while its word names the page; a fault
 * that finds the entry reads the slot only once the page is gone from the word (its write-out done),
 * and under the PT lock of the entry, which holds the slot's count up: the bytes it reads are the
 * page's last contents (see {@code PageTableEditor.swapIn}).
 * <p>
 * Allocation is lock-free: a CAS of a free word from 0, scanning from a rotating hint
 * (scan_swap_map_slots without clusters). Nothing here allocates on the heap.
 */
public final class SwapArea implements AutoCloseable
{
    /** The first offset handed out (slot 0 holds the swap header). */
    public static final long FIRST_SLOT = 1;
    /** What {@link #allocate} returns when every slot is taken. */
    public static final long NO_SLOT = 0;
    /** SWAP_MAP_MAX: the count a slot's word holds. */
    public static final int MAX_COUNT = 0xFFFF;
    private static final long COUNT_MASK = 0xFFFFL;
    private static final int PFN_SHIFT = 16;
    private static final long PFN_MASK = (1L << 40) - 1;
    private static final VarHandle STATE = ValueLayout.JAVA_LONG.varHandle().withInvokeExactBehavior();

    private final Arena arena = Arena.ofShared();
    private final long slots;
    private final MemorySegment map;
    private final MemorySegment storage;
    private final String where;
    /** Slots not in use; guards the scan from looping on a full area. */
    private final AtomicLong freeSlots;
    /** Where the next allocation's scan starts (a hint: read and written racily). */
    private long hint = FIRST_SLOT;
    private final AtomicLong swapOuts = new AtomicLong();
    private final AtomicLong swapIns = new AtomicLong();

    private SwapArea(final long bytes, final Path file)
    {
        if (bytes < 2 * PhysicalMemory.PAGE_SIZE || (bytes & (PhysicalMemory.PAGE_SIZE - 1)) != 0)
        {
            throw new IllegalArgumentException("swap must be a multiple of 4 KiB and at least two pages: " + bytes);
        }
        this.slots = bytes >>> PhysicalMemory.PAGE_SHIFT;
        if (slots - 1 > (1L << 40))
        {
            throw new IllegalArgumentException("swap beyond 4 PiB: " + bytes);
        }
        this.map = NativeMemory.reserve(pageAlign(slots * Long.BYTES), arena);
        if (file == null)
        {
            this.storage = NativeMemory.reserve(bytes, arena);
            this.where = "memory";
        }
        else
        {
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.SPARSE))
            {
                // a sparse file: only the slots written take disk blocks
                this.storage = channel.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
            }
            catch (final IOException ex)
            {
                arena.close();
                throw new IllegalArgumentException("cannot map swap file " + file + ": " + ex.getMessage(), ex);
            }
            this.where = file.toString();
        }
        this.freeSlots = new AtomicLong(slots - FIRST_SLOT);
    }

    /** A swap area of {@code bytes} in emulated memory (lazily backed by the host). */
    public static SwapArea inMemory(final long bytes)
    {
        return new SwapArea(bytes, null);
    }

    /** A swap area of {@code bytes} in a sparse host file, created (or truncated) at {@code file}. */
    public static SwapArea inFile(final long bytes, final Path file)
    {
        return new SwapArea(bytes, file);
    }

    /** Where the slots live: "memory" or the file's path. */
    public String where()
    {
        return where;
    }

    /** Slots in the area, the header's included. */
    public long slots()
    {
        return slots;
    }

    /** SwapTotal: the usable slots. */
    public long totalPages()
    {
        return slots - FIRST_SLOT;
    }

    /** SwapFree: slots not in use. */
    public long freePages()
    {
        return freeSlots.get();
    }

    /** pswpout: pages written to the area. */
    public long swapOuts()
    {
        return swapOuts.get();
    }

    /** pswpin: pages read from the area. */
    public long swapIns()
    {
        return swapIns.get();
    }

    /**
     * get_swap_page for the page at {@code pfn} about to be written out: a free slot whose word now
     * says count 1 and names the page. {@link #NO_SLOT} when the area is full.
     */
    public long allocate(final long pfn)
    {
        assert pfn > 0 && pfn <= PFN_MASK;
        final long taken = 1 | pfn << PFN_SHIFT;
        while (true)
        {
            final long free = freeSlots.get();
            if (free == 0)
            {
                return NO_SLOT;
            }
            // take the right to one slot first, so the scan below always finds one
            if (freeSlots.compareAndSet(free, free - 1))
            {
                break;
            }
        }
        long slot = hint;
        while (true)
        {
            if (slot >= slots)
            {
                slot = FIRST_SLOT;
            }
            // volatile CAS from 0: a free slot is ours alone once this succeeds
            if ((long)STATE.get(map, slot << 3) == 0 && (boolean)STATE.compareAndSet(map, slot << 3, 0L, taken))
            {
                hint = slot + 1;
                return slot;
            }
            slot++;
        }
    }

    /**
     * Writes the page named by {@code slot}'s word (its entry is in place and the TLBs flushed, so
     * nobody writes the page any more) into the slot, then drops the page from the word with a
     * release: a fault that then reads the word without it sees the bytes. Frees the slot when no
     * entry names it any more (the range was unmapped meanwhile).
     */
    public void writeOut(final long slot, final MemorySegment frames)
    {
        final long word = (long)STATE.getVolatile(map, slot << 3);
        final long pfn = (word >>> PFN_SHIFT) & PFN_MASK;
        assert pfn != 0 : "writing out a slot no page is being written to";
        MemorySegment.copy(frames, pfn << PhysicalMemory.PAGE_SHIFT, storage, slot << PhysicalMemory.PAGE_SHIFT,
            PhysicalMemory.PAGE_SIZE);
        swapOuts.incrementAndGet();
        // volatile add (release): the copy happens-before any reader that sees the PFN gone
        final long after = (long)STATE.getAndAdd(map, slot << 3, -(pfn << PFN_SHIFT)) - (pfn << PFN_SHIFT);
        if (after == 0)
        {
            freeSlots.incrementAndGet();
        }
    }

    /**
     * Whether {@code slot}'s page is still being written out (a fault must wait: the bytes are not
     * there yet). An acquire load: false means the slot's bytes are complete.
     */
    public boolean underWriteback(final long slot)
    {
        return ((long)STATE.getAcquire(map, slot << 3) >>> PFN_SHIFT) != 0;
    }

    /**
     * Reads the slot into frame {@code pfn} (swap_read_folio). The caller holds the PT lock of an
     * entry naming the slot, which keeps it allocated, and has seen {@link #underWriteback} false.
     */
    public void readIn(final long slot, final MemorySegment frames, final long pfn)
    {
        MemorySegment.copy(storage, slot << PhysicalMemory.PAGE_SHIFT, frames, pfn << PhysicalMemory.PAGE_SHIFT,
            PhysicalMemory.PAGE_SIZE);
        swapIns.incrementAndGet();
    }

    /**
     * Hands back a slot just {@link #allocate allocated} whose entry could not be installed (the
     * entry changed under the caller): nothing names it, nothing was written.
     */
    public void cancel(final long slot)
    {
        // volatile store: the slot is free again for any scan that reads 0
        STATE.setVolatile(map, slot << 3, 0L);
        freeSlots.incrementAndGet();
    }

    /**
     * swap_duplicate: one more entry names {@code slot} (fork copied one, or reclaim unmapped one
     * more entry of the page being written to it). The slot must be held: by an entry, or by its
     * page under writeback — which may be its only holder, when every entry reclaim had already
     * unmapped into the slot was zapped before it reached the next one (Linux's SWAP_HAS_CACHE).
     */
    public void duplicate(final long slot)
    {
        // volatile add: other entries of the slot may be freed concurrently
        final long before = (long)STATE.getAndAdd(map, slot << 3, 1L);
        if (before == 0 || (before & COUNT_MASK) == MAX_COUNT)
        {
            throw new IllegalStateException("swap slot " + slot + " duplicated at count " + (before & COUNT_MASK));
        }
    }

    /** swap_free: an entry naming {@code slot} is gone; the last one (with no write-out left) frees it. */
    public void free(final long slot)
    {
        final long before = (long)STATE.getAndAdd(map, slot << 3, -1L);
        if ((before & COUNT_MASK) == 0)
        {
            throw new IllegalStateException("swap slot " + slot + " freed more often than named");
        }
        if (before == 1)
        {
            freeSlots.incrementAndGet();
        }
    }

    /** The slot's swap count (entries naming it). */
    public int count(final long slot)
    {
        return (int)((long)STATE.getVolatile(map, slot << 3) & COUNT_MASK);
    }

    /** Whether {@code slot} is a data slot of this area. */
    public boolean isValid(final long slot)
    {
        return slot >= FIRST_SLOT && slot < slots;
    }

    /** Calls {@code action} with every slot in use and its count (the checker's accounting). */
    public void forEachUsed(final SlotAction action)
    {
        for (long slot = FIRST_SLOT; slot < slots; slot++)
        {
            final long word = (long)STATE.getVolatile(map, slot << 3);
            if (word != 0)
            {
                action.slot(slot, (int)(word & COUNT_MASK), (word >>> PFN_SHIFT) != 0);
            }
        }
    }

    /** What {@link #forEachUsed} hands each slot in use. */
    @FunctionalInterface
    public interface SlotAction
    {
        void slot(long slot, int count, boolean underWriteback);
    }

    @Override
    public void close()
    {
        arena.close();
    }

    private static long pageAlign(final long bytes)
    {
        return (bytes + PhysicalMemory.PAGE_SIZE - 1) & ~(PhysicalMemory.PAGE_SIZE - 1);
    }
}
