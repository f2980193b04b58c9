package io.mmemu.vm;

import java.util.IdentityHashMap;

import io.mmemu.pgtable.MmuGather;
import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.pgtable.SwapEntry;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;

/**
 * The reverse map of anonymous pages (mm/rmap.c), for a page several entries map — after fork, in
 * several processes: from the page to every entry that maps it, through its {@link AnonVma}'s
 * family (the root's member processes, and in each the VMAs of the family whose linear range holds
 * the page's index). Reclaim ({@link Reclaimer}) hands it the pages its scan found shared and
 * unreferenced, each with one reference the scan took under a PT lock; {@link #reclaim} consumes it.
 * <p>
 * One page, two walks, one process at a time (a CPU attached to it for the walk, no other lock held
 * meanwhile; each VMA under its read lock, or the process under the mmap read lock, so its tables
 * stay; both only tried, as rmap's anon_vma and mmap trylocks are: a process a writer holds is
 * skipped, which keeps the page in the first walk and leaves it mapped there in the second):
 * <ol>
 *   <li>folio_referenced: every entry mapping the page has its A bit tested and cleared, with the
 *       TLB flush. A set bit activates the page; a writable mapping of a page that is not
 *       exclusive, a hugetlb leaf, or a VMA a writer holds (rmap's trylock contended) keeps it.</li>
 *   <li>try_to_unmap: a swap slot is allocated naming the page (faults on its entries wait for the
 *       write-out), and every entry still mapping the page becomes the same swap entry (exclusive
 *       only for an exclusive page), the slot's count one per entry, each process's TLB flushed; a
 *       2 MiB leaf is split first. Then the page is written to the slot and one reference per
 *       entry unmapped dropped (their mapcounts went with the entries).</li>
 * </ol>
 * An exclusive page has one mapping, which may be writable: once it is unmapped and flushed, no
 * store reaches the page, so the write-out that follows holds its last bytes.
 * Why this is safe without holding every mapping at once: while a page is mapped by more than one
 * entry, or not exclusive, no entry maps it writable (fork write-protects both sides; a write
 * fault copies it or, holding the only reference, reuses it), and the isolation's reference keeps any
 * write fault from reusing it until the end. So its bytes do not change from the first unmap to the
 * write-out, and an entry the walk could not reach (a VMA a writer holds, a process forked after the
 * walk read the members) keeps the page mapped, with the same bytes the unmapped entries will read
 * back: the page is then only partly reclaimed, never torn. Kept references also keep the PFN from
 * being reused while any step looks at it.
 */
final class Rmap implements AutoCloseable
{
    /** {@link #reclaim} results. */
    static final int KEPT = 0;
    static final int PARTLY_UNMAPPED = 1;
    static final int RECLAIMED = 2;
    static final int SWAP_FULL = 3;
    static final int REFERENCED = 4;
    /** {@link #harvest}: mapped, and unreferenced since the last look. */
    private static final int MAPPED = 5;

    private final PhysicalMemory memory;
    private final FrameCache cache;
    /** The CPUs walks attached, one per process visited (owner thread only). */
    private final IdentityHashMap<AddressSpace, Cpu> cpus = new IdentityHashMap<>();
    private AnonVma root;
    /** The file whose page is walked (rmap_walk_file), or null for an anonymous page's family. */
    private MappedFile file;
    private long index;
    private long pfn;
    /** The walk's state: the swap entry being installed (0: the reference harvest), entries unmapped, why the page is kept. */
    private long swapEntry;
    private int unmapped;
    private boolean referenced;
    private boolean busy;

    /** @param cache where released pages go (the reclaiming thread's) */
    Rmap(final PhysicalMemory memory, final FrameCache cache)
    {
        this.memory = memory;
        this.cache = cache;
    }

    /**
     * Reclaims anonymous page {@code pfn} of {@code anon}'s family at linear index {@code index},
     * on which the caller holds one reference (its isolation from the LRU; kept: the caller puts
     * the page back or lets it go). The caller holds no lock and no online CPU (the walks flush
     * other CPUs and wait for them). Returns {@link #RECLAIMED} when no entry maps the page any
     * more, {@link #PARTLY_UNMAPPED} when some do, {@link #REFERENCED} when an entry had used it
     * since the last look (folio_referenced: it goes to the active list), {@link #KEPT} when it could
     * not be reached whole or taken, {@link #SWAP_FULL} when no slot was free.
     */
    int reclaim(final AnonVma anon, final long index, final long pfn)
    {
        final AddressSpace[] members = anon.members();
        try
        {
            final int harvest = harvest(anon.root(), null, index, pfn, members);
            if (harvest != MAPPED)
            {
                return harvest;
            }
            final SwapArea swap = memory.swap();
            final long slot = swap.allocate(pfn);
            if (slot == SwapArea.NO_SLOT)
            {
                return SWAP_FULL;
            }
            swapEntry = SwapEntry.of(0, slot);
            for (final AddressSpace mm : members)
            {
                visit(mm);
            }
            if (unmapped == 0)
            {
                swap.cancel(slot);
                return KEPT;
            }
            // every unmapped entry's TLB was flushed, and no entry maps the page writable: its bytes are final
            final boolean whole = memory.mapcount(pfn) == 0;
            swap.writeOut(slot, memory.frames());
            return whole ? RECLAIMED : PARTLY_UNMAPPED;
        }
        finally
        {
            // one reference per unmapped entry (its mapcount went with the entry); the caller's stays
            for (int i = 0; i < unmapped; i++)
            {
                memory.releaseData(cache, pfn, false);
            }
        }
    }

    /**
     * Reclaims page-cache page {@code pfn} of {@code file} at page offset {@code index}, on which the
     * caller holds its isolation's reference (kept). The same two walks over the processes that map
     * the file (i_mmap): the A bits harvested ({@link #REFERENCED} activates the page), then every
     * entry mapping the page cleared and each process flushed; then, if no entry maps it any more and
     * nothing else holds it, the page is dropped from the cache ({@link MappedFile#evict}, written
     * back first when an entry's D bit made it dirty; mmemu's reclaim writes file pages back as
     * kswapd and the flusher do): {@link #RECLAIMED}. Otherwise
     * {@link #PARTLY_UNMAPPED} (a fault finds it in the cache again) or {@link #KEPT}.
     */
    int reclaimFile(final MappedFile file, final long index, final long pfn)
    {
        final AddressSpace[] mappers = file.mappers();
        final int harvest = harvest(null, file, index, pfn, mappers);
        if (harvest != MAPPED)
        {
            return harvest;
        }
        swapEntry = PageTableEditor.RMAP_DROP;
        for (final AddressSpace mm : mappers)
        {
            visit(mm);
        }
        // every entry unmapped was flushed: their references go before the page's holders are judged
        for (int i = 0; i < unmapped; i++)
        {
            memory.releaseData(cache, pfn, false);
        }
        if (file.evict(memory, cache, index, pfn, true))
        {
            return RECLAIMED;
        }
        return unmapped > 0 ? PARTLY_UNMAPPED : KEPT;
    }

    /**
     * Starts a walk of page {@code pfn} at {@code index} of family {@code root} or of {@code file}
     * over {@code processes}, with its first pass, folio_referenced: {@link #REFERENCED}, {@link #KEPT}
     * (an entry could not be looked at), or {@link #MAPPED} when no entry had used the page.
     */
    private int harvest(final AnonVma root, final MappedFile file, final long index, final long pfn,
        final AddressSpace[] processes)
    {
        this.root = root;
        this.file = file;
        this.index = index;
        this.pfn = pfn;
        this.unmapped = 0;
        this.referenced = false;
        this.busy = false;
        this.swapEntry = 0;
        for (final AddressSpace mm : processes)
        {
            visit(mm);
        }
        return referenced ? REFERENCED : busy ? KEPT : MAPPED;
    }

    /** Entries the last {@link #reclaim} unmapped (more than one: a page fork shared). */
    int unmapped()
    {
        return unmapped;
    }

    /** One process's entries of the page: the current walk's step at each, then one flush. */
    private void visit(final AddressSpace mm)
    {
        final Cpu cpu = cpuFor(mm);
        if (cpu == null)
        {
            // it exited: its entries are gone
            return;
        }
        try
        {
            final boolean perVma = mm.perVma();
            // trylocks only: a fault of this process may be waiting for the write-out of a slot
            // another walk holds, behind a writer this one would queue after
            if (!perVma && !mm.rangeLock().tryLockShared())
            {
                busy = true;
                return;
            }
            try
            {
                final MmuGather tlb = cpu.gather;
                tlb.begin(cpu.shootdown);
                try
                {
                    for (final Vma vma : mm.tree().toArray())
                    {
                        if (!maps(vma))
                        {
                            continue;
                        }
                        if (perVma && !vma.tryReadLock())
                        {
                            // a writer holds it (rmap's trylock contended): folio_referenced keeps the page
                            busy = true;
                            continue;
                        }
                        try
                        {
                            step(cpu.editor, mm.cr3(), vma.start + ((index - vma.pgoff) << 12), tlb);
                        }
                        finally
                        {
                            if (perVma)
                            {
                                vma.readUnlock();
                            }
                        }
                    }
                }
                finally
                {
                    // no PT lock held: the flush of the A bits cleared or the entries unmapped here
                    tlb.finish();
                }
            }
            finally
            {
                if (!perVma)
                {
                    mm.rangeLock().unlockShared();
                }
            }
        }
        finally
        {
            // kept for this Rmap's next page, offline meanwhile: no shootdown waits for it
            cpu.goOffline();
        }
    }

    /** Whether {@code vma} may map the walked page: of its family (or file), its linear range holding the index. */
    private boolean maps(final Vma vma)
    {
        if (index < vma.pgoff || index - vma.pgoff >= vma.pages())
        {
            return false;
        }
        if (file != null)
        {
            return vma.file != null && vma.file.inode() == file;
        }
        final AnonVma anon = vma.anonVma();
        return anon != null && anon.root() == root;
    }

    /**
     * The CPU this Rmap visits {@code mm} through, online: attached at the first visit and kept
     * until {@link #close} (an attached CPU's counters stay with its process: one per page would
     * pile up); null once the process has exited. A process that exits after the attach has an
     * empty VMA tree by the time its tables go, so a visit then finds nothing to walk.
     */
    private Cpu cpuFor(final AddressSpace mm)
    {
        final Cpu kept = cpus.get(mm);
        if (kept != null)
        {
            kept.goOnline();
            return kept;
        }
        try
        {
            final Cpu cpu = mm.attachCpu();
            cpus.put(mm, cpu);
            return cpu;
        }
        catch (final IllegalStateException exited)
        {
            return null;
        }
    }

    /** Detaches the CPUs this Rmap's walks used. */
    @Override
    public void close()
    {
        for (final Cpu cpu : cpus.values())
        {
            cpu.close();
        }
        cpus.clear();
    }

    private void step(final PageTableEditor editor, final long cr3, final long va, final MmuGather tlb)
    {
        switch (editor.rmapOne(cr3, va, pfn, swapEntry, unmapped > 0, tlb))
        {
            case PageTableEditor.RMAP_REFERENCED -> referenced = true;
            case PageTableEditor.RMAP_BUSY -> busy = true;
            case PageTableEditor.RMAP_UNMAPPED -> unmapped++;
            default ->
            {
                // absent, or mapped and unreferenced: nothing to record
            }
        }
    }
}
