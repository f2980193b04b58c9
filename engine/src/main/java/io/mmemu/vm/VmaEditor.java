package io.mmemu.vm;

import io.mmemu.pgtable.MmuGather;
import io.mmemu.pgtable.PageTableEditor;

import static io.mmemu.vm.VmFlags.VM_DONTEXPAND;
import static io.mmemu.vm.VmFlags.VM_IO;
import static io.mmemu.vm.VmFlags.VM_MIXEDMAP;
import static io.mmemu.vm.VmFlags.VM_PFNMAP;
import static io.mmemu.vm.VmFlags.VM_SOFTDIRTY;

/**
 * The VMA edits every syscall is made of, with mm/vma.c's rules: split, unmap a range, insert a
 * new range merging with its neighbours (vma_merge_new_range), change the flags of part of a VMA
 * merging at its ends (vma_modify_flags). Each edit publishes a new {@link VmaTree}.
 * <p>
 * Caller owns, through the {@link RangeLock}, every range it changes (what it merges with excepted:
 * unlocked neighbours, which no other writer can own) and holds the mmap lock for writing — except
 * where a method says otherwise. Both are asserted.
 */
final class VmaEditor
{
    /** Flags that make a VMA unmergeable (VM_SPECIAL). */
    static final int VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

    private VmaEditor()
    {
    }

    // ---------------------------------------------------------------- merge rules (mm/vma.c)

    /** is_mergeable_vma: same flags but soft-dirty, same backing, not special. */
    static boolean sameKind(final Vma vma, final int flags, final OpenFile file, final String name)
    {
        // a VMA locked by an operation in flight (a sectioned unmap, a MAP_FIXED replacement) is not ours to merge
        return !vma.isLocked() && ((vma.flags ^ flags) & ~VM_SOFTDIRTY) == 0 && (flags & VM_SPECIAL) == 0 &&
            vma.file == file && java.util.Objects.equals(vma.name, name);
    }

    /**
     * is_mergeable_anon_vma: compatible when both share one, or when one has none and the other
     * was not forked (a forked child VMA's anon_vma_chain is not singular: vma_had_uncowed_parents).
     */
    static boolean anonCompatible(final AnonVma a, final AnonVma b)
    {
        return a == b || (a == null && !b.forked()) || (b == null && !a.forked());
    }

    /** can_vma_merge_after: {@code prev} can absorb a range starting at its end. */
    static boolean canMergeAfter(final Vma prev, final long start, final int flags, final long pgoff,
        final OpenFile file, final String name, final AnonVma anon)
    {
        return prev != null && prev.end == start && sameKind(prev, flags, file, name) &&
            anonCompatible(prev.anonVma(), anon) && prev.pgoff + prev.pages() == pgoff;
    }

    /** can_vma_merge_before: {@code next} can absorb a range ending at its start. */
    static boolean canMergeBefore(final Vma next, final long end, final int flags, final long pgoff, final long pages,
        final OpenFile file, final String name, final AnonVma anon)
    {
        return next != null && next.start == end && sameKind(next, flags, file, name) &&
            anonCompatible(next.anonVma(), anon) && next.pgoff == pgoff + pages;
    }

    private static AnonVma pick(final AnonVma a, final AnonVma b)
    {
        return a != null ? a : b;
    }

    // ---------------------------------------------------------------- edits

    /**
     * Makes {@code addr} a VMA boundary if it falls strictly inside one.
     */
    static void splitAt(final Cpu cpu, final long addr)
    {
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree();
        final VmaTree tree = mm.tree();
        final int i = tree.indexAfter(addr);
        final Vma vma = tree.at(i);
        if (vma == null || vma.start >= addr)
        {
            return;
        }
        mm.rangeLock().lockVma(cpu, vma);
        mm.replace(cpu, i, i + 1, vma.slice(vma.start, addr), vma.slice(addr, vma.end));
    }

    /**
     * Unmaps {@code [start, end)}: removes the VMAs (splitting at the ends), zaps their pages and
     * frees the page tables that no remaining VMA can reach. Returns 0 or {@code -ENOMEM} when a
     * split would exceed max_map_count (checked before anything changes, as the kernel does).
     */
    static int unmap(final Cpu cpu, final long start, final long end)
    {
        if (start >= end)
        {
            return 0;
        }
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree() && mm.rangeLock().owns(cpu, start, end);
        final int split = splitEnds(cpu, start, end);
        if (split != 0)
        {
            return split == NOTHING_MAPPED ? 0 : split;
        }
        final VmaTree tree = mm.tree();
        final int from = tree.indexAfter(start);
        final int to = indexFrom(tree, from, end);
        final Vma[] removed = new Vma[to - from];
        for (int i = from; i < to; i++)
        {
            removed[i - from] = tree.get(i);
        }
        final Vma prev = tree.prev(from);
        final Vma next = tree.at(to);
        for (final Vma vma : removed)
        {
            mm.rangeLock().lockVma(cpu, vma);
        }
        mm.replace(cpu, from, to);
        zapAndFree(cpu, removed[0].start, removed[removed.length - 1].end,
            prev == null ? 0 : prev.end, next == null ? 0 : next.start);
        return 0;
    }

    /**
     * Per-VMA mode, first half of a sectioned unmap or MAP_FIXED replacement: splits at the ends,
     * drains and detaches the VMAs in {@code [start, end)} without touching their pages. With
     * {@code placeholders} they are replaced by locked copies that keep the range occupied (faults
     * there wait; other writers wait) until {@link #removePlaceholders}. Returns 0 or {@code -ENOMEM}.
     */
    static int detach(final Cpu cpu, final long start, final long end, final boolean placeholders)
    {
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree() && mm.rangeLock().owns(cpu, start, end);
        final int split = splitEnds(cpu, start, end);
        if (split != 0)
        {
            return split == NOTHING_MAPPED ? 0 : split;
        }
        final VmaTree tree = mm.tree();
        final int from = tree.indexAfter(start);
        final int to = indexFrom(tree, from, end);
        final Vma[] copies = new Vma[placeholders ? to - from : 0];
        for (int i = from; i < to; i++)
        {
            final Vma vma = tree.get(i);
            mm.rangeLock().lockVma(cpu, vma);
            if (placeholders)
            {
                copies[i - from] = mm.rangeLock().placeholder(cpu, vma);
            }
        }
        mm.replace(cpu, from, to, copies);
        return 0;
    }

    /**
     * Second half of a sectioned unmap, under the mmap write lock again: removes the placeholders
     * left by {@link #detach} (their pages are gone), frees the tables no VMA can reach and wakes
     * whoever waits on them.
     */
    static void removePlaceholders(final Cpu cpu, final long start, final long end)
    {
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree() && mm.rangeLock().owns(cpu, start, end);
        final VmaTree tree = mm.tree();
        final int from = tree.indexAfter(start);
        final int to = indexFrom(tree, from, end);
        for (int i = from; i < to; i++)
        {
            // the span is ours: nothing but our placeholders can lie in it
            assert tree.get(i).isLocked() && tree.get(i).start >= start && tree.get(i).end <= end : tree.get(i);
        }
        if (to == from)
        {
            return;
        }
        mm.replace(cpu, from, to);
    }

    /**
     * Frees the page tables under one of a sectioned unmap's placeholders, a section at a time,
     * each under the mmap lock held for reading (Linux frees tables after downgrading): writers
     * cannot change the neighbours meanwhile, faults (which never take it in per-VMA mode) are not
     * held up, and the placeholders still keep the range occupied. The floor and ceiling are the
     * nearest VMAs that are not this operation's placeholders, so tables shared with a neighbour
     * stay and tables shared between two placeholders go. Caller owns {@code [start, end)} and does
     * not hold the mmap lock.
     */
    static void freeTablesInSections(final Cpu cpu, final Vma placeholder, final long start, final long end)
    {
        final AddressSpace mm = cpu.mm;
        assert !mm.rangeLock().holdsTree() && mm.rangeLock().owns(cpu, start, end);
        final long section = mm.section();
        for (long from = placeholder.start; from < placeholder.end; )
        {
            final long to = placeholder.end - from > section ? from + section : placeholder.end;
            mm.rangeLock().lockShared(cpu);
            final long locked = System.nanoTime();
            try
            {
                final VmaTree tree = mm.tree();
                final int i = tree.indexAfter(placeholder.start);
                int below = i - 1;
                while (below >= 0 && isPlaceholder(tree.get(below), start, end))
                {
                    below--;
                }
                int above = i + 1;
                while (above < tree.size() && isPlaceholder(tree.get(above), start, end))
                {
                    above++;
                }
                final long floor = below >= 0 ? tree.get(below).end : 0;
                final long ceiling = above < tree.size() ? tree.get(above).start : 0;
                final MmuGather tlb = cpu.gather;
                tlb.begin(cpu.shootdown);
                cpu.editor.freeTables(mm.cr3(), from, to, floor, ceiling, tlb);
                tlb.finish();
            }
            finally
            {
                mm.rangeLock().unlockShared();
                CpuStats.record(cpu.stats.mmapReadHold, System.nanoTime() - locked);
            }
            from = to;
        }
    }

    /**
     * vms_clear_ptes' free_pgtables for a MAP_FIXED replacement in per-VMA mode, once the old pages
     * of {@code [start, end)} are zapped: the tables only the replaced VMAs reached are freed, as
     * Linux frees them before the new VMA goes in (a THP fault in the new VMA then finds an empty
     * PMD entry, not a PT page left behind). The new VMA {@code replacement} is still locked, so no
     * fault refills the range meanwhile. Floor and ceiling are the old neighbours: the end of the VMA
     * before the new one (or {@code start} when the new one merged with it), and likewise above; they
     * are read under the mmap lock held for reading, so no writer moves them meanwhile. Caller owns
     * {@code [start, end)} and does not hold the mmap lock.
     */
    static void freeReplacedTables(final Cpu cpu, final Vma replacement, final long start, final long end)
    {
        final AddressSpace mm = cpu.mm;
        assert !mm.rangeLock().holdsTree() && mm.rangeLock().owns(cpu, start, end) && replacement.isLocked();
        mm.rangeLock().lockShared(cpu);
        final long locked = System.nanoTime();
        try
        {
            final VmaTree tree = mm.tree();
            final int i = tree.indexAfter(replacement.start);
            final Vma prev = tree.prev(i);
            final Vma next = tree.at(i + 1);
            final long floor = replacement.start < start ? start : prev == null ? 0 : prev.end;
            final long ceiling = replacement.end > end ? end : next == null ? 0 : next.start;
            final MmuGather tlb = cpu.gather;
            tlb.begin(cpu.shootdown);
            cpu.editor.freeTables(mm.cr3(), start, end, floor, ceiling, tlb);
            tlb.finish();
        }
        finally
        {
            mm.rangeLock().unlockShared();
            CpuStats.record(cpu.stats.mmapReadHold, System.nanoTime() - locked);
        }
    }

    /**
     * Last step of a sectioned unmap, under the mmap write lock once its placeholders are gone:
     * frees the tables of {@code [start, end)} that its sections kept because a neighbour bounded
     * them — in particular one that was itself being unmapped, whose placeholders were still there.
     * Of two adjacent sectioned unmaps, each keeps the table they share while the other's
     * placeholders are in the tree; whichever removes its placeholders last frees it here. The
     * sections freed the rest, so this visits only the tables left.
     */
    static void freeTablesLeft(final Cpu cpu, final long start, final long end)
    {
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree() && mm.rangeLock().owns(cpu, start, end);
        final VmaTree tree = mm.tree();
        final int i = tree.indexAfter(start);
        final Vma prev = tree.prev(i);
        final Vma next = tree.at(i);
        assert next == null || next.start >= end : "a VMA left in an unmapped span: " + next;
        final MmuGather tlb = cpu.gather;
        tlb.begin(cpu.shootdown);
        cpu.editor.freeTables(mm.cr3(), start, end, prev == null ? 0 : prev.end, next == null ? 0 : next.start, tlb);
        tlb.finish();
    }

    /**
     * free_pgtables for a range {@link #detach}ed into this writer's placeholders and zapped, under
     * the mmap write lock (mremap's target, do_munmap before the move): the tables only the
     * placeholders reach are freed, bounded by the nearest VMAs that are not placeholders, as
     * Linux's unmap bounds them by the old neighbours. The placeholders keep the range occupied,
     * so no fault installs there meanwhile.
     */
    static void freeDetachedTables(final Cpu cpu, final long start, final long end)
    {
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree() && mm.rangeLock().owns(cpu, start, end);
        final VmaTree tree = mm.tree();
        int below = tree.indexAfter(start) - 1;
        while (below >= 0 && isPlaceholder(tree.get(below), start, end))
        {
            below--;
        }
        int above = tree.indexAfter(start);
        while (above < tree.size() && isPlaceholder(tree.get(above), start, end))
        {
            above++;
        }
        final MmuGather tlb = cpu.gather;
        tlb.begin(cpu.shootdown);
        cpu.editor.freeTables(mm.cr3(), start, end, below >= 0 ? tree.get(below).end : 0,
            above < tree.size() ? tree.get(above).start : 0, tlb);
        tlb.finish();
    }

    /** A VMA of a sectioned unmap of {@code [start, end)} in flight: locked and inside it (the span is owned, so it is ours). */
    private static boolean isPlaceholder(final Vma vma, final long start, final long end)
    {
        return vma.isLocked() && vma.start >= start && vma.end <= end;
    }

    private static final int NOTHING_MAPPED = 1;

    /**
     * The first step of every unmap: with the kernel's map-count check first (a hole punched in
     * one VMA needs a free slot), makes {@code start} and {@code end} VMA boundaries. Returns 0,
     * {@code -ENOMEM}, or {@link #NOTHING_MAPPED} when no VMA meets the range.
     */
    private static int splitEnds(final Cpu cpu, final long start, final long end)
    {
        final VmaTree tree = cpu.mm.tree();
        final Vma first = tree.find(start);
        if (first == null || first.start >= end)
        {
            return NOTHING_MAPPED;
        }
        if (start > first.start && end < first.end && tree.size() >= AddressSpace.MAX_MAP_COUNT)
        {
            return -Errno.ENOMEM;
        }
        splitAt(cpu, start);
        splitAt(cpu, end);
        return 0;
    }

    /** The index past the VMAs from {@code from} on that start below {@code end}. */
    private static int indexFrom(final VmaTree tree, final int from, final long end)
    {
        int to = from;
        while (to < tree.size() && tree.get(to).start < end)
        {
            to++;
        }
        return to;
    }

    /** Zaps {@code [start, end)} and frees its tables inside {@code [floor, ceiling)}, then flushes. */
    static void zapAndFree(final Cpu cpu, final long start, final long end, final long floor, final long ceiling)
    {
        assert cpu.mm.rangeLock().holdsTree() && cpu.mm.rangeLock().owns(cpu, start, end);
        final PageTableEditor editor = cpu.editor;
        final MmuGather tlb = cpu.gather;
        tlb.begin(cpu.shootdown);
        editor.zap(cpu.mm.cr3(), start, end, tlb);
        editor.freeTables(cpu.mm.cr3(), start, end, floor, ceiling, tlb);
        tlb.finish();
    }

    /**
     * Zaps the pages of {@code [start, end)} but keeps tables and VMAs (MADV_DONTNEED, and the
     * sections of a sectioned zap, which run without the mmap lock). Caller owns the range.
     */
    static void zap(final Cpu cpu, final long start, final long end)
    {
        assert cpu.mm.rangeLock().owns(cpu, start, end);
        final MmuGather tlb = cpu.gather;
        tlb.begin(cpu.shootdown);
        cpu.editor.zap(cpu.mm.cr3(), start, end, tlb);
        tlb.finish();
    }

    /**
     * Inserts a VMA over {@code [start, end)}, merging with its neighbours when the rules allow
     * (vma_merge_new_range): with prev, with next, or with both when prev's and next's anon_vmas are
     * compatible with each other too. The range is free, or holds only this operation's locked
     * placeholders ({@link #detach}), which the new VMA replaces in the same publication — a
     * lockless lookup never sees the range empty in between. Returns the VMA now covering the range.
     */
    static Vma insert(final Cpu cpu, final long start, final long end, final int flags, final long pgoff,
        final OpenFile file, final String name, final AnonVma anon, final boolean locked)
    {
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree() && mm.rangeLock().owns(cpu, start, end);
        final VmaTree tree = mm.tree();
        final int at = tree.indexAfter(start);
        int past = at;
        while (past < tree.size() && tree.get(past).start < end)
        {
            if (!tree.get(past).isLocked())
            {
                throw new IllegalStateException("insert over a mapped range: " + tree.get(past));
            }
            past++;
        }
        final Vma prev = tree.prev(at);
        final Vma next = tree.at(past);
        final long pages = (end - start) >>> 12;
        final boolean left = canMergeAfter(prev, start, flags, pgoff, file, name, anon);
        boolean right = canMergeBefore(next, end, flags, pgoff, pages, file, name, anon);
        if (left && right && !anonCompatible(prev.anonVma(), next.anonVma()))
        {
            right = false;
        }
        if (left)
        {
            mm.rangeLock().lockVma(cpu, prev);
        }
        if (right)
        {
            mm.rangeLock().lockVma(cpu, next);
        }
        Vma merged;
        if (left && right)
        {
            merged = prev.withRange(prev.start, next.end, prev.pgoff, pick(pick(prev.anonVma(), next.anonVma()), anon));
        }
        else if (left)
        {
            merged = prev.withRange(prev.start, end, prev.pgoff, pick(prev.anonVma(), anon));
        }
        else if (right)
        {
            merged = next.withRange(start, next.end, pgoff, pick(next.anonVma(), anon));
        }
        else
        {
            merged = new Vma(start, end, flags, pgoff, file, name, anon);
        }
        if (locked)
        {
            if (merged.start < start || merged.end > end)
            {
                // the merged neighbours are unlocked, so no other writer owns them: they join our span
                mm.rangeLock().widen(cpu, merged.start, merged.end);
            }
            merged = mm.rangeLock().bornLocked(cpu, merged);
        }
        mm.replace(cpu, left ? at - 1 : at, right ? past + 1 : past, merged);
        return merged;
    }

    /**
     * Merges the VMA that ends at {@code addr} with the one that starts there when the rules allow
     * (both unlocked, same kind, compatible anon_vmas, contiguous pgoff); nothing otherwise. For a
     * writer whose own locked VMA kept the merge from happening when its neighbour was made
     * (MREMAP_DONTUNMAP's source and its copy).
     */
    static void mergeAt(final Cpu cpu, final long addr)
    {
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree();
        final VmaTree tree = mm.tree();
        final int i = tree.indexAfter(addr);
        final Vma low = tree.prev(i);
        final Vma high = tree.at(i);
        if (low == null || high == null || high.start != addr || high.isLocked() ||
            !canMergeAfter(low, addr, high.flags, high.pgoff, high.file, high.name, high.anonVma()))
        {
            return;
        }
        mm.rangeLock().lockVma(cpu, low);
        mm.rangeLock().lockVma(cpu, high);
        mm.replace(cpu, i - 1, i + 1, low.withRange(low.start, high.end, low.pgoff, pick(low.anonVma(), high.anonVma())));
    }

    /** Replaces the VMA at {@code index} by {@code with} (same backing). */
    static void replace(final Cpu cpu, final int index, final Vma old, final Vma with)
    {
        cpu.mm.rangeLock().lockVma(cpu, old);
        cpu.mm.replace(cpu, index, index + 1, with);
    }

    /**
     * Inserts a VMA without merging (a new shmem file merges with nothing) over a free range or
     * this operation's placeholders, born locked if asked. Returns what was published.
     */
    static Vma insertDistinct(final Cpu cpu, final Vma vma, final boolean locked)
    {
        assert cpu.mm.rangeLock().holdsTree() && cpu.mm.rangeLock().owns(cpu, vma.start, vma.end);
        final VmaTree tree = cpu.mm.tree();
        final int at = tree.indexAfter(vma.start);
        final int past = indexFrom(tree, at, vma.end);
        for (int i = at; i < past; i++)
        {
            assert tree.get(i).isLocked() : "insert over a mapped range: " + tree.get(i);
        }
        final Vma published = locked ? cpu.mm.rangeLock().bornLocked(cpu, vma) : vma;
        cpu.mm.replace(cpu, at, past, published);
        return published;
    }

    /**
     * Gives {@code [start, end)}, which lies inside VMA {@code vma}, the flags {@code newFlags}
     * (vma_modify_flags): merges into prev when the range starts at the VMA's start, into next
     * when it ends at the VMA's end, otherwise splits. Returns the VMA now covering the range, or
     * null with nothing changed when a needed split would exceed max_map_count.
     */
    static Vma modifyFlags(final Cpu cpu, final Vma vma, final long start, final long end, final int newFlags)
    {
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree() && mm.rangeLock().owns(cpu, start, end);
        final VmaTree tree = mm.tree();
        final int i = tree.indexAfter(vma.start);
        final Vma prev = tree.prev(i);
        final Vma next = tree.at(i + 1);
        final long pgoff = vma.pgoff + ((start - vma.start) >>> 12);
        final long pages = (end - start) >>> 12;
        final AnonVma anon = vma.anonVma();
        final boolean left = start == vma.start &&
            canMergeAfter(prev, start, newFlags, pgoff, vma.file, vma.name, anon);
        boolean right = end == vma.end &&
            canMergeBefore(next, end, newFlags, pgoff, pages, vma.file, vma.name, anon);
        if (left && right && !anonCompatible(prev.anonVma(), next.anonVma()))
        {
            right = false;
        }
        if (left || right)
        {
            mm.rangeLock().lockVma(cpu, vma);
            mm.rangeLock().lockVma(cpu, left ? prev : next);
            if (left && right)
            {
                mm.rangeLock().lockVma(cpu, next);
            }
            final Vma lowMerged = left ? prev.withRange(prev.start, right ? next.end : end, prev.pgoff,
                pick(pick(prev.anonVma(), anon), right ? next.anonVma() : null)) : null;
            final Vma highMerged = !left ? next.withRange(start, next.end, pgoff, pick(next.anonVma(), anon)) : null;
            final Vma rest = left ? (end < vma.end ? vma.slice(end, vma.end) : null) :
                (start > vma.start ? vma.slice(vma.start, start) : null);
            final Vma result = left ? lowMerged : highMerged;
            if (left)
            {
                final int to = right ? i + 2 : i + 1;
                if (rest == null)
                {
                    mm.replace(cpu, i - 1, to, result);
                }
                else
                {
                    mm.replace(cpu, i - 1, to, result, rest);
                }
            }
            else if (rest == null)
            {
                mm.replace(cpu, i, i + 2, result);
            }
            else
            {
                mm.replace(cpu, i, i + 2, rest, result);
            }
            return result;
        }
        // split_vma refuses at max_map_count, one split at a time: the first may succeed alone
        final int pieces = 1 + (start > vma.start ? 1 : 0) + (end < vma.end ? 1 : 0);
        if (start > vma.start && tree.size() >= AddressSpace.MAX_MAP_COUNT)
        {
            return null;
        }
        if (end < vma.end && tree.size() + (start > vma.start ? 1 : 0) >= AddressSpace.MAX_MAP_COUNT)
        {
            if (start > vma.start)
            {
                splitAt(cpu, start);
            }
            return null;
        }
        mm.rangeLock().lockVma(cpu, vma);
        final Vma middle = vma.slice(start, end, newFlags);
        final Vma[] with = new Vma[pieces];
        int n = 0;
        if (start > vma.start)
        {
            with[n++] = vma.slice(vma.start, start);
        }
        with[n++] = middle;
        if (end < vma.end)
        {
            with[n] = vma.slice(end, vma.end);
        }
        mm.replace(cpu, i, i + 1, with);
        return middle;
    }

    /**
     * anon_vma_prepare's find_mergeable_anon_vma: a VMA about to get its first anonymous page adopts
     * an adjacent VMA's anon_vma when the two could merge but for their access flags (next first).
     */
    static AnonVma findMergeableAnonVma(final AddressSpace mm, final Vma vma)
    {
        final VmaTree tree = mm.tree();
        final int i = tree.indexAfter(vma.start);
        final Vma next = tree.at(i + 1);
        // reusable_anon_vma: only a neighbour whose anon_vma_chain is singular (not forked) lends its own
        if (next != null && reusable(vma, next) && next.anonVma() != null && !next.anonVma().forked())
        {
            return next.anonVma();
        }
        final Vma prev = tree.prev(i);
        if (prev != null && reusable(prev, vma) && prev.anonVma() != null && !prev.anonVma().forked())
        {
            return prev.anonVma();
        }
        return null;
    }

    /** anon_vma_compatible(a, b): adjacent, same backing, flags equal but for access and soft-dirty, pgoff contiguous. */
    private static boolean reusable(final Vma a, final Vma b)
    {
        return a.end == b.start && a.file == b.file &&
            ((a.flags ^ b.flags) & ~(VmFlags.VM_ACCESS_FLAGS | VM_SOFTDIRTY)) == 0 &&
            b.pgoff == a.pgoff + a.pages();
    }
}
