package io.mmemu.vm;

import java.lang.foreign.MemorySegment;

import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.pgtable.SwapEntry;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.phys.SwapArea;

import static io.mmemu.pgtable.PageTableEntry.DIRTY;
import static io.mmemu.pgtable.PageTableEntry.SOFT_DIRTY;
import static io.mmemu.pgtable.PageTableEntry.SPECIAL;
import static io.mmemu.pgtable.PageTableEntry.WRITABLE;
import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * The page-fault handler (mm/memory.c's handle_mm_fault, with x86's
 * access_error checks). Returns {@link Signal#NONE} when the access should be retried, or the
 * signal to deliver. Exception-free, and allocation-free but for one case: the first anonymous
 * page of a VMA that has no anon_vma yet and whose neighbours have none to share gets a new
 * {@link AnonVma} (Linux's anon_vma_prepare allocates there too); later faults in it allocate nothing.
 * <ul>
 *   <li>no VMA, or below a VMA that cannot grow down to it: SEGV_MAPERR;</li>
 *   <li>a write to a VMA without VM_WRITE, any access to one without VM_READ|VM_WRITE|VM_EXEC: SEGV_ACCERR;</li>
 *   <li>private anonymous read of an empty entry: the shared zero page, read-only;</li>
 *   <li>private anonymous write of an empty entry, or of the zero page: a fresh zeroed page,
 *       writable and dirty (breaking the zero page's copy-on-write needs a shootdown: other CPUs
 *       may cache the old read-only translation);</li>
 *   <li>shared mappings (of files, or shmem): the page from the object's page cache, read in (or
 *       allocated zeroed) on first touch; SIGBUS past the end of the file;</li>
 *   <li>private file mappings: reads map the page-cache page read-only; writes copy it;</li>
 *   <li>a write to an anonymous page fork shared (read-only in both processes): reused when
 *       the other mappings are gone, copied otherwise (do_wp_page, Linux 6.x's anon-exclusive rules);</li>
 *   <li>no frame to be had (VM_FAULT_OOM), for a page or a page table: the {@link OomKiller} kills
 *       a process, with nothing half-done here; the access tries again, or, when this process is
 *       the victim, gets {@link Signal#SIGKILL}.</li>
 * </ul>
 */
final class Faults
{
    private Faults()
    {
    }

    /**
     * Handles one fault, counting it (a fault that raises a signal counts) and, unless the address
     * space's {@linkplain AddressSpace#timeFaults fault timing} is off, timing it.
     *
     * @param gup the kernel faults the page in for the process (get_user_pages: MAP_POPULATE,
     *            MADV_POPULATE_*), not the process itself, holding the mmap lock for reading
     *            ({@link #forGup}); a fault that finds no frame then returns {@link #GUP_NO_MEMORY}
     *            for the caller to call {@link #outOfMemory} once it has let go of that lock.
     */
    static int handle(final Cpu cpu, final long va, final boolean write, final boolean gup)
    {
        final CpuStats stats = cpu.stats;
        if (cpu.mm.oomKilled())
        {
            // a fatal signal is pending: the thread dies instead of faulting in what the OOM
            // reaper took (on Linux it never runs again; here its next fault is where it learns)
            stats.faults++;
            stats.countSignal(Signal.SIGKILL);
            return Signal.SIGKILL;
        }
        final boolean timed = cpu.mm.timesFaults();
        final long t0 = timed ? System.nanoTime() : 0;
        int signal = gup ? forGup(cpu, va, write) : cpu.mm.perVma() ? perVma(cpu, va, write) : underMmapLock(cpu, va, write, timed);
        stats.faults++;
        if (signal != Signal.NONE)
        {
            if (signal == NO_MEMORY)
            {
                // a gup fault's caller still holds the mmap lock, which the OOM reaper may need
                signal = gup ? GUP_NO_MEMORY : outOfMemory(cpu);
            }
            stats.countSignal(signal);
        }
        if (timed)
        {
            CpuStats.record(stats.faultLatency, System.nanoTime() - t0);
        }
        return signal;
    }

    /**
     * What a fault that found no frame (VM_FAULT_OOM) comes to, run once the fault's locks are
     * gone: direct reclaim first; when it frees nothing, the OOM killer chooses. {@link Signal#NONE}:
     * the access tries again; {@link Signal#SIGKILL}: this process was the victim.
     */
    static int outOfMemory(final Cpu cpu)
    {
        return cpu.mm.machine().reclaimer().direct(cpu) || cpu.mm.machine().oomKiller().outOfMemory(cpu)
            ? Signal.NONE : Signal.SIGKILL;
    }

    /**
     * A fault get_user_pages makes for {@link Populate}, which holds the mmap lock for reading and
     * has made sure that no other writer owns the address (nor the rest of its range) — so the
     * tree it reads stands, the VMA found is not write-locked and a hole is final (no
     * {@link RangeLock#settled} wait, which would wait holding the lock the writer needs). As in
     * Linux, such a fault takes no VMA lock, in either mode: the mmap lock excludes every writer
     * that could lock one. An address below a VM_GROWSDOWN VMA is a hole: gup_vma_lookup never
     * expands a stack. Nothing here waits for another writer (a fault that would have to is the
     * caller's to let go of the lock for: {@link #GUP_NO_MEMORY}).
     */
    private static int forGup(final Cpu cpu, final long va, final boolean write)
    {
        assert cpu.mm.rangeLock().holdsShared() : "a get_user_pages fault without the mmap read lock";
        final Vma vma = cpu.mm.tree().find(va);
        if (vma == null || va < vma.start)
        {
            return Signal.SEGV_MAPERR;
        }
        assert !vma.isLocked() : "a get_user_pages fault met " + vma + ", write-locked by a writer the populate did not wait for";
        final int signal = inVma(cpu, vma, va, write);
        // prepareAnonVma never gives up under the mmap lock
        assert signal != RETRY : "a get_user_pages fault retried";
        return signal;
    }

    /**
     * The seed's fault: a lockless lookup, then the VMA's read lock. A VMA locked by a writer
     * (being replaced, unmapped or changed) is waited for, and the address looked up again: a
     * MAP_FIXED replacement is found then (never a spurious SIGSEGV), an unmapped range is not.
     * <p>
     * <b>A refusal waits for the writer that may have caused it.</b> A writer publishes a VMA's
     * new flags before it changes the page tables (mprotect: vma_modify_flags, then
     * change_protection and its TLB flush, VMA after VMA), and the VMAs it publishes are not
     * write-locked. On Linux they are: every VMA a writer changes stays write-locked until
     * mmap_write_unlock, so a fault that finds one falls back to the mmap lock and waits for the
     * whole operation. So a refusal read from the flags (SEGV_ACCERR), like a hole, stands only once
     * no writer owns {@code va} ({@link #settledAt}); else a refusal by the new flags would come
     * before a later access that still goes through a translation the writer has not changed yet,
     * which no order gives. A success granted by new flags needs no wait: any access the old
     * protection refuses afterwards is a refusal, and waits.
     */
    private static int perVma(final Cpu cpu, final long va, final boolean write)
    {
        final AddressSpace mm = cpu.mm;
        while (true)
        {
            final VmaTree tree = mm.tree();
            final Vma vma = tree.find(va);
            if (vma == null || (va < vma.start && (vma.flags & VmFlags.VM_GROWSDOWN) == 0))
            {
                if (!settledAt(cpu, tree, va))
                {
                    cpu.stats.faultRetries++;
                    continue;
                }
                return Signal.SEGV_MAPERR;
            }
            if (va < vma.start)
            {
                if (!Stack.expand(cpu, va))
                {
                    return Signal.SEGV_MAPERR;
                }
                continue;
            }
            if (!vma.tryReadLock())
            {
                cpu.stats.faultWaits++;
                vma.await(cpu);
                cpu.stats.faultRetries++;
                continue;
            }
            final int signal;
            try
            {
                signal = inVma(cpu, vma, va, write);
            }
            finally
            {
                vma.readUnlock();
            }
            final int result = signal == Signal.NONE ? signal : afterPerVma(cpu, tree, va, write, signal);
            if (result != RETRY)
            {
                return result;
            }
        }
    }

    /**
     * Per-VMA mode, what a fault under a VMA's read lock that did not succeed comes to (out of
     * {@link #perVma}'s loop, which every fault runs): {@link #RETRY} to look the address up
     * again, or the fault's answer.
     */
    private static int afterPerVma(final Cpu cpu, final VmaTree tree, final long va, final boolean write, final int signal)
    {
        final int result;
        if (signal != RETRY)
        {
            result = signal;
        }
        else
        {
            // VM_FAULT_RETRY from vmf_anon_prepare: again under the mmap lock, as the arch fault
            // handler falls back to lock_mm_and_find_vma
            cpu.stats.faultRetries++;
            result = underMmapReadLock(cpu, va, write);
            if (result == RETRY)
            {
                return RETRY;
            }
        }
        if (result == Signal.SEGV_ACCERR && !settledAt(cpu, tree, va))
        {
            // the flags that refused may be a writer's whose page-table change is not done
            cpu.stats.faultRetries++;
            return RETRY;
        }
        return result;
    }

    /**
     * Per-VMA mode, for a refusal read from {@code tree} (a hole, or a VMA's flags): whether it
     * stands. {@link RangeLock#settled}: false, having waited for it, when another writer owns
     * {@code va} (its tree may be an intermediate one, its new flags may not be in the page tables
     * yet); true when none does and {@code tree} is still the published one (so it is some writer's
     * last). Caller holds no PT lock and no VMA read lock (the writer it waits for may be draining
     * that VMA); {@link RangeLock#settled} asserts it holds no mmap lock when it waits.
     */
    private static boolean settledAt(final Cpu cpu, final VmaTree tree, final long va)
    {
        assert cpu.editor.holdsNoLock() : "waiting for a writer with a PT lock held";
        return cpu.mm.rangeLock().settled(cpu, va) && cpu.mm.tree() == tree;
    }

    /**
     * Per-VMA mode, a fault whose VMA needs an anon_vma while a writer held or waited for the mmap
     * lock ({@link #prepareAnonVma}): the fault again, holding the mmap lock for reading, so that
     * the anon_vma is assigned where no writer can be deciding a merge. A writer may have dropped
     * the mmap lock in the middle of its operation with its VMAs write-locked (MAP_FIXED's
     * replacement, munmap's placeholders), so the VMA is read-locked as well; a locked one, or no
     * VMA at {@code va}, is left to the lockless path (after the writer, without the mmap lock):
     * {@link #RETRY}.
     */
    private static int underMmapReadLock(final Cpu cpu, final long va, final boolean write)
    {
        final AddressSpace mm = cpu.mm;
        final Vma vma;
        final boolean timed = mm.timesFaults();
        mm.lockRead(cpu);
        final long locked = timed ? System.nanoTime() : 0;
        try
        {
            vma = mm.tree().find(va);
            if (vma == null || !vma.contains(va))
            {
                return RETRY;
            }
            if (vma.tryReadLock())
            {
                try
                {
                    return inVma(cpu, vma, va, write);
                }
                finally
                {
                    vma.readUnlock();
                }
            }
        }
        finally
        {
            mm.unlockRead();
            readHoldEnded(cpu, timed, locked);
        }
        // the writer that locked it may need the mmap lock to finish: wait without it
        cpu.stats.faultWaits++;
        vma.await(cpu);
        return RETRY;
    }

    /** Linux before 6.4: the whole fault under the mmap lock held for reading. */
    private static int underMmapLock(final Cpu cpu, final long va, final boolean write, final boolean timed)
    {
        final AddressSpace mm = cpu.mm;
        mm.lockRead(cpu);
        final long locked = timed ? System.nanoTime() : 0;
        boolean held = true;
        try
        {
            final Vma vma = mm.tree().find(va);
            if (vma == null)
            {
                return Signal.SEGV_MAPERR;
            }
            if (va < vma.start)
            {
                if ((vma.flags & VmFlags.VM_GROWSDOWN) == 0)
                {
                    return Signal.SEGV_MAPERR;
                }
                mm.unlockRead();
                held = false;
                readHoldEnded(cpu, timed, locked);
                // Linux 6.5+: expanding a stack upgrades to the mmap write lock, then the access retries
                return Stack.expand(cpu, va) ? Signal.NONE : Signal.SEGV_MAPERR;
            }
            return inVma(cpu, vma, va, write);
        }
        finally
        {
            if (held)
            {
                mm.unlockRead();
                readHoldEnded(cpu, timed, locked);
            }
        }
    }

    private static void readHoldEnded(final Cpu cpu, final boolean timed, final long locked)
    {
        if (timed)
        {
            CpuStats.record(cpu.stats.mmapReadHold, System.nanoTime() - locked);
        }
    }

    /** The fault proper, with the VMA held (by its read lock or the mmap lock). */
    private static int inVma(final Cpu cpu, final Vma vma, final long va, final boolean write)
    {
        assert !cpu.mm.perVma() || vma.hasReaders() || cpu.mm.rangeLock().holdsShared()
            : "a per-VMA fault without the VMA's read lock or the mmap lock";
        assert cpu.editor.holdsNoLock() : "a fault entered with a PT lock held";
        if (write ? (vma.flags & VmFlags.VM_WRITE) == 0 : !vma.isAccessible())
        {
            return Signal.SEGV_ACCERR;
        }
        if ((vma.flags & VmFlags.VM_HUGETLB) != 0)
        {
            // hugetlb_fault: the whole huge page, from the pool
            return HugetlbFault.fault(cpu, vma, va, write);
        }
        final long page = va & ~0xFFFL;
        if (vma.isAnonymous() && cpu.mm.thp() != ThpMode.NEVER)
        {
            // __handle_mm_fault's create_huge_pmd: a 2 MiB leaf where the policy and the VMA allow one
            final int huge = HugeMemory.fault(cpu, vma, page, write);
            if (huge != HugeMemory.FALLBACK)
            {
                return huge;
            }
        }
        // the PTE slot to fill, its page table allocated on the way down (no frame: the OOM killer)
        final PageWalker walker = cpu.walker;
        final int status = walker.walkAlloc(cpu.mm.cr3(), page);
        if (status != PageWalker.WALK_PTE)
        {
            return noPteSlot(cpu, vma, page, write, status);
        }
        final long slot = walker.slot();
        final long table = walker.tablePfn();
        final int signal;
        if (vma.isAnonymous())
        {
            signal = anonymous(cpu, vma, page, write ? PhysicalMemory.lineBit(va) : 0, table, slot);
        }
        else
        {
            signal = vma.isShared() ? shared(cpu, vma, page, write, table, slot) : privateFile(cpu, vma, page, write, table, slot);
        }
        if (signal == Signal.NONE)
        {
            // the access's retry, from the slot just filled while the VMA still holds its table
            cpu.fillAfterFault(va, write, slot);
        }
        return signal;
    }

    /**
     * {@link #inVma}'s walk to {@code page} ended above a PTE slot ({@code status}, the walker
     * still at that entry): no frame for a table, or a large leaf that refused the access.
     */
    private static int noPteSlot(final Cpu cpu, final Vma vma, final long page, final boolean write, final int status)
    {
        if (status == PageWalker.WALK_NO_MEMORY)
        {
            // no frame for a page table: VM_FAULT_OOM
            return NO_MEMORY;
        }
        final PageWalker walker = cpu.walker;
        if (status == PageWalker.WALK_LARGE && walker.level() == PageTableEntry.LEVEL_PMD && vma.isAnonymous())
        {
            // a transparent huge page whose leaf refused this access (write-protected)
            return HugeMemory.leafFault(cpu, vma, page, write, walker.slot(), walker.entry());
        }
        // WALK_LARGE otherwise: a 1 GiB leaf, or a 2 MiB one over no anonymous memory, whose bits
        // refuse this access (the MMU translates through it otherwise). The handler cannot
        // change one, so retrying would find the same leaf forever: SIGBUS, as for malformed tables
        return Signal.BUS_ADRERR;
    }

    /** @param written for a write fault, the {@linkplain PhysicalMemory#lineBit line} its store goes to; 0 for a read. */
    private static int anonymous(final Cpu cpu, final Vma vma, final long page, final long written, final long table,
        final long slot)
    {
        final boolean write = written != 0;
        final MemorySegment frames = cpu.memory.frames();
        final long e = PageWalker.read(frames, slot);
        assert !PageTableEntry.isMoving(e) : MET_FROZEN;
        final long prot = PageProtection.of(vma.flags);
        final PhysicalMemory memory = cpu.memory;
        if (e == 0)
        {
            if (!write && cpu.mm.kernel().zeroPage())
            {
                return install(cpu, table, slot, 0, PageTableEntry.leaf(memory.zeroPagePfn(), prot | SPECIAL), NO_FRAME);
            }
            if (!prepareAnonVma(cpu.mm, vma))
            {
                return RETRY;
            }
            final long pfn = memory.allocateAnon(cpu.cache, Mappings.anonWord(vma), Mappings.linearIndex(vma, page), written);
            if (pfn == NO_FRAME)
            {
                return NO_MEMORY;
            }
            // do_anonymous_page: a writable VMA's new page is mapped writable and dirty, even on a read
            final long bits = (vma.flags & VmFlags.VM_WRITE) != 0 ? prot | WRITABLE | dirty(cpu) : prot;
            return install(cpu, table, slot, 0, PageTableEntry.leaf(pfn, bits), pfn);
        }
        if (!PageTableEntry.isMapped(e))
        {
            return swapIn(cpu, vma, page, write, table, slot, e);
        }
        if (!write || !PageTableEntry.isPresent(e) || PageTableEntry.isWritable(e))
        {
            return Signal.NONE;
        }
        if (PageTableEntry.pfn(e) == memory.zeroPagePfn())
        {
            return zeroPageCow(cpu, vma, page, table, slot, e, prot);
        }
        return writeProtected(cpu, vma, page, table, slot, e);
    }

    /**
     * A write to the zero page mapped read-only at {@code e} (do_wp_page's wp_page_copy from the
     * zero page): a new zeroed page replaces it, and the old translation is shot down.
     */
    private static int zeroPageCow(final Cpu cpu, final Vma vma, final long page, final long table, final long slot,
        final long e, final long prot)
    {
        if (!prepareAnonVma(cpu.mm, vma))
        {
            return RETRY;
        }
        final long pfn = cpu.memory.allocateAnon(cpu.cache, Mappings.anonWord(vma), Mappings.linearIndex(vma, page));
        if (pfn == NO_FRAME)
        {
            return NO_MEMORY;
        }
        if (installWon(cpu, table, slot, e, PageTableEntry.leaf(pfn, prot | WRITABLE | dirty(cpu)), pfn))
        {
            // a COW that lost the race broke nothing: the winner counts and flushes
            cpu.stats.zeroPageCow++;
            // ptep_clear_flush: other CPUs may still read the zero page through a stale entry
            cpu.shootdown(page, page + PhysicalMemory.PAGE_SIZE);
        }
        return Signal.NONE;
    }

    /**
     * do_wp_page on an anonymous page (of an anonymous VMA, or a private file mapping's own copy)
     * mapped read-only in a writable VMA: an {@linkplain PhysicalMemory#isAnonExclusive exclusive}
     * page just becomes writable again (wp_page_reuse); one that fork shared is reused when its
     * other mappings are gone (wp_can_reuse_anon_folio: this entry holds the only reference), and
     * copied otherwise (wp_page_copy).
     */
    private static int writeProtected(final Cpu cpu, final Vma vma, final long page, final long table,
        final long slot, final long e)
    {
        final PhysicalMemory memory = cpu.memory;
        final long old = PageTableEntry.pfn(e);
        if (memory.isAnonExclusive(old))
        {
            return upgrade(cpu, table, slot, e);
        }
        if (memory.refcount(old) == 1 && cpu.editor.reuseIfUnshared(table, slot, e, WRITABLE | dirty(cpu)))
        {
            cpu.stats.cowReuses++;
            return Signal.NONE;
        }
        if (!prepareAnonVma(cpu.mm, vma))
        {
            return RETRY;
        }
        final long copy = memory.allocateAnon(cpu.cache, Mappings.anonWord(vma), Mappings.linearIndex(vma, page));
        if (copy == NO_FRAME)
        {
            // nothing done yet: reclaim, then the OOM killer (an anonymous fault never SIGBUSes for memory)
            return NO_MEMORY;
        }
        if (memory.isBacked(copy))
        {
            // the old page is shared, so read-only everywhere: nobody writes it while it is copied
            // (if this entry changed meanwhile, the install below fails and the copy is dropped)
            MemorySegment.copy(memory.frames(), old << 12, memory.frames(), copy << 12, PhysicalMemory.PAGE_SIZE);
            memory.markDirty(copy);
        }
        final long bits = PageProtection.of(vma.flags) | WRITABLE | dirty(cpu);
        if (installWon(cpu, table, slot, e, PageTableEntry.leaf(copy, bits), copy))
        {
            cpu.stats.cowBreaks++;
            assert cpu.editor.holdsNoLock() : "a shootdown with a PT lock held";
            // ptep_clear_flush: other CPUs may still read the old page through a stale entry; it is
            // released (freed, if the other side is gone too) only after they cannot
            memory.unmapData(old);
            cpu.shootdown(page, page + PhysicalMemory.PAGE_SIZE);
            memory.releaseData(cpu.cache, old, false);
        }
        return Signal.NONE;
    }

    /**
     * do_swap_page: the entry names a swap slot. A fresh page (exclusive: only this entry will map
     * it) gets the slot's bytes and replaces the entry, and the entry's count on the slot is given
     * up ({@link PageTableEditor#swapIn}, under the PT lock); counted as a major fault. While the
     * slot's page is still being written out the fault waits (answering shootdowns: the writer's
     * flush may be waiting for this CPU) and the access retries. The page is writable when the VMA
     * is (and soft-dirty tracking does not need the write to fault), dirty only on a write; its
     * descriptor says DIRTY, so it is never freed as zero.
     */
    private static int swapIn(final Cpu cpu, final Vma vma, final long page, final boolean write, final long table,
        final long slot, final long e)
    {
        final PhysicalMemory memory = cpu.memory;
        final SwapArea swap = memory.swap();
        if (swap == null || SwapEntry.type(e) != 0 || !swap.isValid(SwapEntry.offset(e)))
        {
            // a non-present entry naming no slot: corrupted tables (VM_FAULT_SIGBUS, never a loop)
            return Signal.BUS_ADRERR;
        }
        if (swap.underWriteback(SwapEntry.offset(e)))
        {
            return awaitWriteback(cpu);
        }
        if (!prepareAnonVma(cpu.mm, vma))
        {
            return RETRY;
        }
        final long pfn = memory.allocateAnon(cpu.cache, Mappings.anonWord(vma), Mappings.linearIndex(vma, page));
        if (pfn == NO_FRAME)
        {
            return NO_MEMORY;
        }
        if (!memory.isBacked(pfn))
        {
            // tables-only backing never swaps out (phantom frames have no bytes), so no swap entry exists there
            backOut(cpu, pfn);
            return Signal.BUS_ADRERR;
        }
        memory.markDirty(pfn);
        final boolean softDirty = (e & SwapEntry.SOFT_DIRTY) != 0;
        long bits = PageProtection.of(vma.flags) | (softDirty ? SOFT_DIRTY : 0) | (write ? dirty(cpu) : 0);
        if ((vma.flags & VmFlags.VM_WRITE) != 0 && (write || softDirty || !cpu.mm.kernel().softDirty()))
        {
            bits |= WRITABLE;
        }
        switch (cpu.editor.swapIn(table, slot, e, PageTableEntry.leaf(pfn, bits), pfn))
        {
            case PageTableEditor.SWAPPED_IN ->
            {
                cpu.mm.machine().reclaimer().countMajorFault();
                return Signal.NONE;
            }
            case PageTableEditor.SWAP_UNDER_WRITEBACK ->
            {
                backOut(cpu, pfn);
                return awaitWriteback(cpu);
            }
            default ->
            {
                // the entry changed (another thread swapped it in, or it was unmapped): retry
                backOut(cpu, pfn);
                return Signal.NONE;
            }
        }
    }

    /** The slot a swap entry names is still being written out: answer shootdowns, let the access retry. */
    private static int awaitWriteback(final Cpu cpu)
    {
        cpu.pollWhileWaiting();
        Thread.onSpinWait();
        return Signal.NONE;
    }

    /**
     * A fault holds its VMA (read lock, or the mmap lock) and a move holds both of its VMAs (write
     * locks, or the mmap write lock) from the freeze to the thaw, so no fault meets a frozen entry
     * ({@link PageTableEntry#moving}). Were one met, it is mapped and not present, so every path
     * here retries the access on it: never a swap-in, never a fresh page over it.
     */
    static final String MET_FROZEN = "a fault met an entry a move has frozen, outside the move's locks";

    /**
     * VM_FAULT_OOM, what the fault proper returns when it found no frame (for a page or a page
     * table) and left nothing half-done; {@link #handle} turns it into the OOM killer's verdict
     * once the fault's locks are gone, as pagefault_out_of_memory runs after the mmap lock is
     * dropped. Not a signal: it never leaves this class.
     */
    static final int NO_MEMORY = -1;

    /**
     * VM_FAULT_RETRY: a per-VMA fault that needs what only the mmap lock may give (an anon_vma,
     * {@link #prepareAnonVma}) and could not take it; nothing was done, the VMA's read lock is
     * given up and the fault runs again under the mmap lock. Not a signal: it never leaves this class.
     */
    static final int RETRY = -2;

    /**
     * What {@link #handle} returns for a get_user_pages fault that found no frame: {@link #NO_MEMORY}
     * passed up (through {@code Cpu.faultIn}) to {@link Populate}, which lets go of the mmap lock
     * and then calls {@link #outOfMemory}. Not a signal: a positive value no {@link Signal} code takes.
     */
    static final int GUP_NO_MEMORY = 64;

    private static int shared(final Cpu cpu, final Vma vma, final long page, final boolean write, final long table,
        final long slot)
    {
        final PhysicalMemory memory = cpu.memory;
        final long e = PageWalker.read(memory.frames(), slot);
        assert !PageTableEntry.isMoving(e) : MET_FROZEN;
        if (e != 0)
        {
            return write && PageTableEntry.isPresent(e) && !PageTableEntry.isWritable(e) ? upgrade(cpu, table, slot, e) : Signal.NONE;
        }
        final MappedFile inode = vma.file.inode();
        final long pgoff = vma.pgoff + ((page - vma.start) >>> 12);
        if (pgoff >= inode.sizePages())
        {
            // past the end of the file (or of the shmem object a mapping grew past): VM_FAULT_SIGBUS
            return Signal.BUS_ADRERR;
        }
        final long stamp = inode.invalidationStamp();
        if (MappedFile.isInvalidating(stamp))
        {
            return punchInProgress(cpu);
        }
        final long pfn = inode.mapPage(memory, cpu.cache, pgoff, cpu.mm.machine().reclaimer());
        if (pfn == NO_FRAME)
        {
            return NO_MEMORY;
        }
        final long prot = PageProtection.of(vma.flags) | (write ? dirty(cpu) : 0);
        if (installCached(cpu, table, slot, PageTableEntry.leaf(pfn, prot), pfn, inode, stamp) && !write)
        {
            faultAround(cpu, vma, page, table, slot, stamp);
        }
        return Signal.NONE;
    }

    /**
     * A private file mapping (do_read_fault / do_cow_fault / do_wp_page): reads map the page-cache
     * page read-only, whatever the VMA allows; a write gets a private copy of the cache page (an
     * anonymous page from then on), or, on a page that is already the VMA's own copy, reuses it.
     */
    private static int privateFile(final Cpu cpu, final Vma vma, final long page, final boolean write, final long table,
        final long slot)
    {
        final PhysicalMemory memory = cpu.memory;
        final MappedFile inode = vma.file.inode();
        final long pgoff = vma.pgoff + ((page - vma.start) >>> 12);
        final long e = PageWalker.read(memory.frames(), slot);
        assert !PageTableEntry.isMoving(e) : MET_FROZEN;
        if (e != 0 && !PageTableEntry.isMapped(e))
        {
            // the VMA's own copy, swapped out
            return swapIn(cpu, vma, page, write, table, slot, e);
        }
        if (e != 0 && (!write || !PageTableEntry.isPresent(e) || PageTableEntry.isWritable(e)))
        {
            return Signal.NONE;
        }
        if (e != 0 && PageTableEntry.pfn(e) != inode.find(pgoff))
        {
            // the VMA's own (anonymous) copy: reused, or copied if fork shares it
            return writeProtected(cpu, vma, page, table, slot, e);
        }
        if (pgoff >= inode.sizePages())
        {
            return Signal.BUS_ADRERR;
        }
        if (write && !prepareAnonVma(cpu.mm, vma))
        {
            // do_cow_fault's vmf_anon_prepare, before the cache page is taken
            return RETRY;
        }
        final long stamp = inode.invalidationStamp();
        if (MappedFile.isInvalidating(stamp))
        {
            return punchInProgress(cpu);
        }
        final long cached = inode.mapPage(memory, cpu.cache, pgoff, cpu.mm.machine().reclaimer());
        if (cached == NO_FRAME)
        {
            return NO_MEMORY;
        }
        final long prot = PageProtection.of(vma.flags);
        if (!write)
        {
            if (installCached(cpu, table, slot, PageTableEntry.leaf(cached, prot), cached, inode, stamp))
            {
                faultAround(cpu, vma, page, table, slot, stamp);
            }
            return Signal.NONE;
        }
        final long copy = memory.allocateAnon(cpu.cache, Mappings.anonWord(vma), Mappings.linearIndex(vma, page));
        if (copy != NO_FRAME && memory.isBacked(copy))
        {
            MemorySegment.copy(memory.frames(), cached << 12, memory.frames(), copy << 12, PhysicalMemory.PAGE_SIZE);
            memory.markDirty(copy);
        }
        // the cache page was mapped for the copy only (or, on a write to a read-only entry, is the
        // one the entry maps and loses that mapping below)
        memory.unmapData(cached);
        if (copy == NO_FRAME)
        {
            memory.releaseData(cpu.cache, cached, false);
            return NO_MEMORY;
        }
        final boolean won = installWon(cpu, table, slot, e, PageTableEntry.leaf(copy, prot | WRITABLE | dirty(cpu)), copy);
        memory.releaseData(cpu.cache, cached, false);
        if (won && e != 0)
        {
            // the entry mapped the cache page: drop that mapping once no CPU can still use it
            memory.unmapData(cached);
            cpu.shootdown(page, page + PhysicalMemory.PAGE_SIZE);
            memory.releaseData(cpu.cache, cached, false);
        }
        return Signal.NONE;
    }

    /** fault_around_bytes: 64 KiB. */
    private static final long FAULT_AROUND_PAGES = 16;

    /**
     * do_fault_around for a read fault on a file or shared memory: the pages of the aligned 16-page window
     * (clipped to the VMA and to this page table) that are already in the page cache are mapped
     * too, read as the fault would map them, so the neighbours do not fault later.
     */
    private static void faultAround(final Cpu cpu, final Vma vma, final long page, final long table, final long slot,
        final long stamp)
    {
        final long pteOff = (page >>> 12) & 511;
        final long vmaOff = (page - vma.start) >>> 12;
        final long from = Math.max(pteOff & ~(FAULT_AROUND_PAGES - 1), pteOff - Math.min(pteOff, vmaOff));
        final long to = Math.min(Math.min(from + FAULT_AROUND_PAGES, 512), pteOff + vma.pages() - vmaOff);
        final PhysicalMemory memory = cpu.memory;
        final MappedFile inode = vma.file.inode();
        final long prot = PageProtection.of(vma.flags);
        for (long pte = from; pte < to; pte++)
        {
            if (pte == pteOff)
            {
                continue;
            }
            final long pgoff = vma.pgoff + vmaOff + (pte - pteOff);
            final long s = slot + ((pte - pteOff) << 3);
            if (pgoff >= inode.sizePages() || PageWalker.read(memory.frames(), s) != 0)
            {
                continue;
            }
            // the reference is taken under the page cache's lock: a punch may drop the cache's own
            // right after, and the stamp then keeps the entry out (or the punch's zap removes it)
            final long pfn = inode.mapCached(memory, pgoff);
            if (pfn != NO_FRAME)
            {
                installCached(cpu, table, s, PageTableEntry.leaf(pfn, prot), pfn, inode, stamp);
            }
        }
    }

    /**
     * Replaces {@code expected} with {@code update} by the leaf-write rule
     * ({@link PageTableEditor#setLeaf}); if another CPU changed the entry first, backs out (the new
     * page, if any, is unmapped and released) and lets the access retry.
     */
    private static int install(final Cpu cpu, final long table, final long slot, final long expected, final long update,
        final long newPfn)
    {
        installWon(cpu, table, slot, expected, update, newPfn);
        return Signal.NONE;
    }

    /** {@link #install}, saying whether this CPU's update went in. */
    private static boolean installWon(final Cpu cpu, final long table, final long slot, final long expected,
        final long update, final long newPfn)
    {
        final boolean won = cpu.editor.setLeaf(table, slot, expected, update);
        if (!won)
        {
            backOut(cpu, newPfn);
        }
        return won;
    }

    /**
     * Installs a page-cache page (mapped for this fault) in an empty entry, if no hole punch has
     * started or ended since {@code stamp} was read before the lookup; otherwise backs out.
     */
    private static boolean installCached(final Cpu cpu, final long table, final long slot, final long update,
        final long pfn, final MappedFile inode, final long stamp)
    {
        final boolean won = cpu.editor.setLeaf(table, slot, 0, update, inode.unchanged, stamp);
        if (!won)
        {
            backOut(cpu, pfn);
        }
        return won;
    }

    /**
     * A hole is being punched in the object (MADV_REMOVE): nothing is looked up until it ends; the
     * access retries, answering shootdowns (the punch's zap waits for them).
     */
    private static int punchInProgress(final Cpu cpu)
    {
        cpu.pollWhileWaiting();
        Thread.onSpinWait();
        return Signal.NONE;
    }

    /** Hands back the page a lost install prepared (a reference and a mapping), if any. */
    private static void backOut(final Cpu cpu, final long newPfn)
    {
        if (newPfn != NO_FRAME)
        {
            cpu.memory.unmapData(newPfn);
            cpu.memory.releaseData(cpu.cache, newPfn, true);
        }
    }

    private static int upgrade(final Cpu cpu, final long table, final long slot, final long e)
    {
        return install(cpu, table, slot, e, e | WRITABLE | dirty(cpu), NO_FRAME);
    }

    /** pte_mkdirty: D, and the soft-dirty bit when the kernel tracks it. */
    static long dirty(final Cpu cpu)
    {
        return cpu.mm.kernel().softDirty() ? DIRTY | SOFT_DIRTY : DIRTY;
    }

    /**
     * vmf_anon_prepare: the VMA gets an anon_vma (anon_vma_prepare), a neighbour's when it may
     * share one. Returns false, having done nothing, when the caller holds only the VMA's read lock
     * and the mmap lock is not to be had at once: the fault then returns {@link #RETRY}.
     * <p>
     * An anon_vma is assigned only under the mmap lock, held for reading at least (Linux: the mmap
     * read lock, and mm->page_table_lock against the other faults, here the CAS), because a writer
     * decides its merges under the mmap write lock from the anon_vmas it reads then
     * (is_mergeable_anon_vma: two VMAs with different ones never merge). A fault under the VMA's
     * read lock alone would race with that: a writer that found a neighbour without one would
     * merge it, after draining it, with a VMA whose anon_vma differs from the one the draining
     * fault gave it, and the merged VMA would map pages whose anon_vma it does not name. Under the
     * VMA read lock the mmap lock is only tried, as there (mmap_read_trylock): the writer holding it
     * may be draining this very VMA.
     */
    static boolean prepareAnonVma(final AddressSpace mm, final Vma vma)
    {
        // every fault but a VMA's first: a few bytecodes, so that the fault's compiled code keeps it inline
        return vma.anonVma() != null || assignAnonVma(mm, vma);
    }

    /** {@link #prepareAnonVma} for a VMA that had no anon_vma when looked at. */
    private static boolean assignAnonVma(final AddressSpace mm, final Vma vma)
    {
        final RangeLock lock = mm.rangeLock();
        final boolean vmaLocked = !lock.holdsShared() && !lock.holdsTree();
        assert !vmaLocked || vma.hasReaders() : "anon_vma_prepare without the VMA's read lock or the mmap lock";
        if (vmaLocked && !lock.tryLockShared())
        {
            return false;
        }
        try
        {
            if (vma.anonVma() == null)
            {
                final AnonVma adopted = VmaEditor.findMergeableAnonVma(mm, vma);
                final AnonVma anon = adopted != null ? adopted : new AnonVma();
                // before any page of it is mapped: the rmap must find this process
                anon.addMember(mm);
                vma.assignAnonVma(anon);
            }
            return true;
        }
        finally
        {
            if (vmaLocked)
            {
                lock.unlockShared();
            }
        }
    }
}
