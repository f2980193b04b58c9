package io.mmemu.mmu;

import java.lang.foreign.MemorySegment;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.Kasan;
import io.mmemu.phys.PhysicalMemory;

/**
 * One CPU's memory-management unit: its {@link Tlb}, and the hardware page walker that fills it
 * on a miss (the four- or five-level walk from CR3, the locked A/D update, the TLB insert). What an access
 * does when the walk finds nothing usable (the fault), and when other CPUs' translations must go
 * (the shootdown), is the operating system's part: {@code io.mmemu.vm.Cpu}.
 * <p>
 * Owned by one thread: every field is confined to it (the walker and TLB too); other CPUs reach
 * this TLB only through the shootdown protocol, which the owner answers. Nothing here allocates
 * or throws: {@link #fill} returns a status.
 * <p>
 * With {@link Kasan} on, every hit and every fill checks that the frame reached is still owned,
 * and reports a use after free to the physical memory when it is not (the access goes on, reading
 * the poison).
 */
public final class Mmu
{
    /** The translation is in the TLB now. */
    public static final int FILLED = 0;
    /**
     * No usable translation: a hole, an empty or not-present entry, or one whose permissions
     * refuse the access (not user, or read-only for a write). The fault handler decides.
     */
    public static final int FAULT = 1;
    /** The entry changed under the walk's A/D update: walk again. */
    public static final int RETRY = 2;
    /** The tables are malformed (an entry points outside physical memory): a machine check, SIGBUS. */
    public static final int BAD_ENTRY = 3;

    private final Tlb tlb = new Tlb();
    private final PageWalker walker;
    private final PhysicalMemory memory;
    /** For reports: the CPU this MMU belongs to. */
    private final int cpu;
    private final MemorySegment frames;
    private final long cr3;
    /** Physical addresses at and above this are phantom frames (tables-only backing): no bytes. */
    private final long backedLimit;
    /** End of physical memory: a leaf pointing at or past it is malformed. */
    private final long physicalLimit;

    public Mmu(final PageWalker walker, final long cr3, final int cpu)
    {
        this.memory = walker.memory();
        this.cpu = cpu;
        this.walker = walker;
        this.frames = memory.frames();
        this.cr3 = cr3;
        this.backedLimit = memory.backedFrames() << PhysicalMemory.PAGE_SHIFT;
        this.physicalLimit = memory.totalFrames() << PhysicalMemory.PAGE_SHIFT;
    }

    public Tlb tlb()
    {
        return tlb;
    }

    /**
     * {@link Kasan}'s check of a TLB hit, which the access front makes on the {@link Tlb} itself
     * (a hit is a probe of two arrays; no call through here on the path that is taken billions of
     * times): the frame of the hit translation must still be owned.
     */
    public void checkHit(final long va, final long frame)
    {
        checkOwned("TLB hit", va, frame);
    }

    /**
     * The TLB miss: walks the tables as the hardware walker does and, when the leaf allows the
     * access, sets A (and D for a write) by CAS — like the hardware's locked update, it loses to
     * any concurrent change of the entry, which is then {@link #RETRY} — and inserts the
     * translation. A large leaf (PS at PMD or PUD level) translates to its frame plus the offset of
     * {@code va} inside it; a 2 MiB leaf's translation goes into the TLB's 2 MiB array as well as
     * its 4 KiB piece, a 1 GiB leaf's only as the 4 KiB piece (hardware may splinter a page so).
     * <p>
     * The caller has published its TLB span covering {@code va} before the walk (the shootdown
     * protocol's side of the Dekker pair).
     */
    public int fill(final long va, final boolean write)
    {
        final int status = walker.walk(cr3, va);
        if (status != PageWalker.WALK_PTE && status != PageWalker.WALK_LARGE)
        {
            return status == PageWalker.WALK_BAD_ENTRY ? BAD_ENTRY : FAULT;
        }
        return translate(va, write, walker.slot(), walker.entry(), walker.level());
    }

    /**
     * The fill that ends a fault: the fault handler has just walked to {@code va}'s PTE slot (and
     * filled it), so the walk down to it is not made again; only the entry is read again, checked,
     * given A/D and inserted, as {@link #fill} does with the leaf it reaches. The caller holds
     * what keeps the slot's page table in place (the VMA's read lock, or the mmap lock) and has
     * published its TLB span covering {@code va} since it last went offline.
     */
    public int fillPte(final long va, final boolean write, final long slot)
    {
        return translate(va, write, slot, PageWalker.read(frames, slot), PageTableEntry.LEVEL_PTE);
    }

    /** The leaf {@code e} at {@code slot}, {@code level}, reached for {@code va}: check it, set A/D, insert it. */
    private int translate(final long va, final boolean write, final long slot, final long e, final int level)
    {
        if (!PageTableEntry.isPresent(e) || !PageTableEntry.isUser(e) || (write && !PageTableEntry.isWritable(e)))
        {
            return FAULT;
        }
        final long page = (PageTableEntry.leafAddress(e, level) | (va & (PageTableEntry.coverage(level) - 1))) & ~0xFFFL;
        if (page == 0 || page >= physicalLimit)
        {
            return BAD_ENTRY;
        }
        final long wanted = e | PageTableEntry.ACCESSED | (write ? PageTableEntry.DIRTY : 0);
        // volatile CAS, like the hardware's locked A/D update: orders with the PT lock holders'
        // release stores and exchanges; if the entry changed since the walk read it, walk again
        if (wanted != e && !PageWalker.casEntry(frames, slot, e, wanted))
        {
            return RETRY;
        }
        if (Kasan.ENABLED)
        {
            checkOwned("TLB fill", va, page);
        }
        final boolean writable = PageTableEntry.isWritable(wanted) && PageTableEntry.isDirty(wanted);
        if (level == PageTableEntry.LEVEL_PMD && page < backedLimit)
        {
            tlb.insertHuge(va, page, writable);
        }
        else
        {
            tlb.insert(va, page, writable, page >= backedLimit);
        }
        return FILLED;
    }

    /** {@link Kasan}: the frame of a translation in use must be owned, else a use after free is reported. */
    private void checkOwned(final String how, final long va, final long frame)
    {
        final long pfn = (frame & ~Tlb.FLAGS_MASK) >>> PhysicalMemory.PAGE_SHIFT;
        if (!memory.isOwned(pfn))
        {
            memory.reportUseAfterFree(how, va, pfn, cpu);
        }
    }
}
