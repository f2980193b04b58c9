package io.mmemu.vm;

import java.util.ArrayList;
import java.util.List;

import io.mmemu.pgtable.MmuGather;
import io.mmemu.pgtable.PageTableEditor;

import static io.mmemu.vm.Mman.MREMAP_DONTUNMAP;
import static io.mmemu.vm.Mman.MREMAP_FIXED;
import static io.mmemu.vm.Mman.MREMAP_MAYMOVE;

/**
 * mremap (mm/mremap.c): shrink in place, grow in place (merging with the next VMA when it
 * becomes adjacent), or move — with MREMAP_MAYMOVE to a new area, with MREMAP_FIXED to a given
 * one, with MREMAP_DONTUNMAP leaving the old VMA mapped and empty. Pages move with their
 * contents: the page-table entries themselves are moved.
 */
final class Mremap
{
    private Mremap()
    {
    }

    static long mremap(final Cpu cpu, final long addr, final long oldLength, final long newLength, final int flags,
        final long newAddr)
    {
        // check_mremap_params: everything about the arguments, before any VMA is looked at
        if ((flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) != 0)
        {
            return -Errno.EINVAL;
        }
        if ((flags & MREMAP_FIXED) != 0 && (flags & MREMAP_MAYMOVE) == 0)
        {
            return -Errno.EINVAL;
        }
        if ((flags & MREMAP_DONTUNMAP) != 0 && ((flags & MREMAP_MAYMOVE) == 0 || oldLength != newLength))
        {
            return -Errno.EINVAL;
        }
        if ((addr & ~Mmap.PAGE_MASK) != 0)
        {
            return -Errno.EINVAL;
        }
        long oldLen = Mmap.pageAlign(oldLength);
        long newLen = Mmap.pageAlign(newLength);
        // PAGE_ALIGN wraps: an old length of -1 becomes 0 (the "duplicate a shared mapping" case)
        if (newLen == 0 || Long.compareUnsigned(newLen, cpu.mm.taskSize()) > 0)
        {
            return -Errno.EINVAL;
        }
        final boolean hasTarget = (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) != 0;
        if (hasTarget)
        {
            if (Long.compareUnsigned(newAddr, cpu.mm.taskSize() - newLen) > 0 || (newAddr & ~Mmap.PAGE_MASK) != 0)
            {
                return -Errno.EINVAL;
            }
            if (Long.compareUnsigned(addr + oldLen, newAddr) > 0 && Long.compareUnsigned(newAddr + newLen, addr) > 0)
            {
                return -Errno.EINVAL;
            }
        }
        final boolean fixed = (flags & MREMAP_FIXED) != 0;
        final RangeLock lock = cpu.mm.rangeLock();
        while (true)
        {
            // the old range, grown in place if it grows; the new one when it is given (else it is claimed once found)
            lock.acquire(cpu, addr, addr + Math.max(oldLen, newLen), fixed ? newAddr : 0, fixed ? newAddr + newLen : 0);
            long result;
            try
            {
                final Vma vma = cpu.mm.tree().lookup(addr);
                final long hugeSize = vma == null ? 0 : Hugetlb.pageSize(vma);
                if (hugeSize > PAGE)
                {
                    // do_mremap's hugetlb rules: aligned addresses, lengths rounded up to the huge
                    // page size, no growth (the reservation cannot follow it)
                    final long hugeOld = (oldLen + hugeSize - 1) & -hugeSize;
                    final long hugeNew = (newLen + hugeSize - 1) & -hugeSize;
                    if ((addr & (hugeSize - 1)) != 0 || (newAddr & (hugeSize - 1)) != 0 ||
                        Long.compareUnsigned(hugeNew, hugeOld) > 0 || hugeOld == 0)
                    {
                        return -Errno.EINVAL;
                    }
                    if (hugeOld != oldLen || hugeNew != newLen)
                    {
                        // the span owned is the 4 KiB-rounded one: take the rounded one and look again
                        oldLen = hugeOld;
                        newLen = hugeNew;
                        continue;
                    }
                }
                do
                {
                    result = remap(cpu, addr, oldLen, newLen, flags, newAddr);
                }
                while (result == SEARCH_AGAIN);
            }
            finally
            {
                lock.release(cpu);
            }
            return result;
        }
    }

    private static final long PAGE = 4096;

    /** What {@link #remap} returns when the new range it found met another writer's span: it waited, and must look again. */
    private static final long SEARCH_AGAIN = Long.MIN_VALUE;

    /** Caller holds the mmap write lock and owns the old range (and a MREMAP_FIXED target). */
    private static long remap(final Cpu cpu, final long addr, final long oldLen, final long newLen, final int flags,
        final long newAddr)
    {
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree() && mm.rangeLock().owns(cpu, addr, addr + Math.max(oldLen, newLen));
        final Vma vma = mm.tree().lookup(addr);
        if (vma == null)
        {
            return -Errno.EFAULT;
        }
        final boolean fixed = (flags & MREMAP_FIXED) != 0;
        if (fixed && oldLen == newLen && Long.compareUnsigned(addr + oldLen, vma.end) > 0)
        {
            // Linux 6.17+: a pure move may span several VMAs (and the gaps between them)
            return moveMany(cpu, addr, oldLen, newAddr, flags);
        }
        final boolean hasTarget = (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) != 0;
        // check_prep_vma: only an operation that maps new space is checked against the VMA; a move
        // that also shrinks is checked for the part that moves (the tail is unmapped first)
        if (hasTarget || Long.compareUnsigned(newLen, oldLen) > 0)
        {
            final long checked = checkResize(vma, addr, hasTarget && Long.compareUnsigned(oldLen, newLen) > 0 ? newLen : oldLen, newLen, flags);
            if (checked != 0)
            {
                return checked;
            }
        }
        if (hasTarget)
        {
            return remapTo(cpu, addr, oldLen, newAddr, newLen, flags);
        }
        if (oldLen == newLen)
        {
            return addr;
        }
        if (Long.compareUnsigned(oldLen, newLen) > 0)
        {
            final long unmapped = unmapTail(cpu, addr + newLen, oldLen - newLen);
            return unmapped != 0 ? unmapped : addr;
        }
        final long delta = newLen - oldLen;
        if (oldLen == vma.end - addr && expandable(mm.tree(), mm.taskSize(), vma, delta))
        {
            if (!charge(cpu, vma, delta >>> 12))
            {
                return -Errno.ENOMEM;
            }
            VmaEditor.insert(cpu, vma.end, vma.end + delta, vma.flags, vma.pgoff + vma.pages(), vma.file, vma.name,
                vma.anonVma(), false);
            return addr;
        }
        if ((flags & MREMAP_MAYMOVE) == 0)
        {
            return -Errno.ENOMEM;
        }
        final long target = UnmappedArea.find(mm.tree(), mm.taskSize(), 0, newLen, vma.isShared() ? Mman.MAP_SHARED : 0, vma.file == null ? null : vma.file.inode(),
            vma.pgoff + ((addr - vma.start) >>> 12));
        // a gap search, as mmap's (see Mmap.doMmap): nothing has changed yet
        if (!mm.rangeLock().searchSettled(cpu))
        {
            return SEARCH_AGAIN;
        }
        if (Errno.isError(target))
        {
            return target;
        }
        if (!mm.rangeLock().claim(cpu, target, target + newLen))
        {
            return SEARCH_AGAIN;
        }
        return move(cpu, vma, addr, oldLen, newLen, target, flags);
    }

    /** mremap_to: MREMAP_FIXED and/or MREMAP_DONTUNMAP, the source already checked. */
    private static long remapTo(final Cpu cpu, final long addr, final long oldLength, final long newAddr,
        final long newLen, final int flags)
    {
        final AddressSpace mm = cpu.mm;
        long oldLen = oldLength;
        if ((flags & MREMAP_FIXED) != 0)
        {
            final int cleared = clearTarget(cpu, newAddr, newAddr + newLen);
            if (cleared != 0)
            {
                return cleared;
            }
        }
        if (Long.compareUnsigned(oldLen, newLen) > 0)
        {
            final long unmapped = unmapTail(cpu, addr + newLen, oldLen - newLen);
            if (unmapped != 0)
            {
                return unmapped;
            }
            oldLen = newLen;
        }
        final Vma vma = mm.tree().lookup(addr);
        if (vma == null)
        {
            return -Errno.EFAULT;
        }
        if (Long.compareUnsigned(oldLen, vma.end - addr) > 0)
        {
            return -Errno.EFAULT;
        }
        final int mapFlags = ((flags & MREMAP_FIXED) != 0 ? Mman.MAP_FIXED : 0) | (vma.isShared() ? Mman.MAP_SHARED : 0);
        final long found = UnmappedArea.find(mm.tree(), mm.taskSize(), newAddr, newLen, mapFlags, vma.file == null ? null : vma.file.inode(),
            vma.pgoff + ((addr - vma.start) >>> 12));
        // MREMAP_DONTUNMAP alone searches (with newAddr as a hint) before anything has changed
        if ((flags & MREMAP_FIXED) == 0 && !mm.rangeLock().searchSettled(cpu))
        {
            return SEARCH_AGAIN;
        }
        if (Errno.isError(found))
        {
            return found;
        }
        if ((flags & MREMAP_FIXED) == 0 && !mm.rangeLock().claim(cpu, found, found + newLen))
        {
            return SEARCH_AGAIN;
        }
        return move(cpu, vma, addr, oldLen, newLen, (flags & MREMAP_FIXED) != 0 ? newAddr : found, flags);
    }

    /**
     * Empties the MREMAP_FIXED target. In per-VMA mode its VMAs become locked placeholders (faults
     * there wait) whose pages are zapped now; the moved VMA replaces them in one publication.
     */
    private static int clearTarget(final Cpu cpu, final long start, final long end)
    {
        if (!cpu.mm.perVma())
        {
            return VmaEditor.unmap(cpu, start, end);
        }
        final int detached = VmaEditor.detach(cpu, start, end, true);
        if (detached == 0)
        {
            VmaEditor.zap(cpu, start, end);
            // do_munmap's free_pgtables: a huge page may be faulted into the moved range later
            VmaEditor.freeDetachedTables(cpu, start, end);
        }
        return detached;
    }

    /**
     * remap_move: a pure MREMAP_FIXED move of {@code [addr, addr + len)} spanning several VMAs. Each
     * piece moves to the same offset from {@code newAddr}, clearing only its own target; what lies
     * opposite the gaps is left alone. One move for all the pieces (see {@link #moveEntries}): every
     * target is cleared and every source drained before one freeze of the whole range, and the
     * moved pieces are thawed together, so no access sees one piece moved and another not. A piece
     * that cannot move (its commitment, the map count, a table) ends the move there, as Linux's
     * loop does: the pieces before it stay moved, it and the rest stay where they were.
     */
    private static long moveMany(final Cpu cpu, final long addr, final long len, final long newAddr, final int flags)
    {
        final AddressSpace mm = cpu.mm;
        final List<Piece> pieces = new ArrayList<>();
        long at = addr;
        while (at < addr + len)
        {
            final Vma vma = mm.tree().find(at);
            if (vma == null || vma.start >= addr + len)
            {
                break;
            }
            final long from = Math.max(at, vma.start);
            final long to = Math.min(vma.end, addr + len);
            pieces.add(new Piece(from, to - from, newAddr + (from - addr)));
            at = to;
        }
        for (final Piece piece : pieces)
        {
            final int cleared = clearTarget(cpu, piece.target, piece.target + piece.len);
            if (cleared != 0)
            {
                return cleared;
            }
        }
        long result = newAddr;
        int drained = 0;
        for (final Piece piece : pieces)
        {
            final Vma vma = mm.tree().lookup(piece.from);
            final long admitted = vma == null ? -Errno.EFAULT : admit(cpu, vma, piece.len, piece.len, flags);
            if (admitted != 0)
            {
                result = admitted;
                break;
            }
            piece.drain(cpu, vma, flags);
            drained++;
        }
        return moveDrained(cpu, pieces.subList(0, drained), result);
    }

    /** shrink_vma: do_vmi_munmap of the tail, with its argument checks (a huge old length is EINVAL here). */
    private static long unmapTail(final Cpu cpu, final long start, final long len)
    {
        if (Long.compareUnsigned(start, cpu.mm.taskSize()) > 0 ||
            Long.compareUnsigned(len, cpu.mm.taskSize() - start) > 0)
        {
            return -Errno.EINVAL;
        }
        return VmaEditor.unmap(cpu, start, start + len);
    }

    /** check_prep_vma's checks of the source VMA; 0 when the remap may go on. */
    private static long checkResize(final Vma vma, final long addr, final long oldLen, final long newLen, final int flags)
    {
        if (oldLen == 0 && !vma.isShared())
        {
            return -Errno.EINVAL;
        }
        if ((flags & MREMAP_DONTUNMAP) != 0 && (vma.flags & (VmFlags.VM_DONTEXPAND | VmFlags.VM_PFNMAP)) != 0)
        {
            return -Errno.EINVAL;
        }
        if (Long.compareUnsigned(oldLen, vma.end - addr) > 0)
        {
            return -Errno.EFAULT;
        }
        if (newLen <= oldLen)
        {
            return 0;
        }
        if ((vma.flags & (VmFlags.VM_DONTEXPAND | VmFlags.VM_PFNMAP)) != 0)
        {
            return -Errno.EFAULT;
        }
        return 0;
    }

    /** vma_expandable: nothing mapped in the next {@code delta} bytes and still below TASK_SIZE. */
    private static boolean expandable(final VmaTree tree, final long taskSize, final Vma vma, final long delta)
    {
        final long end = vma.end + delta;
        if (end < vma.end || end > taskSize)
        {
            return false;
        }
        final Vma next = tree.find(vma.end);
        return next == null || next.start >= end;
    }

    /**
     * move_vma: a new VMA at {@code target}, the entries moved over, the old range unmapped.
     * <p>
     * In per-VMA mode both ends of the move are write-locked while the entries are in flight, as
     * Linux's move_vma locks the source and its copy: the target is born locked, and the source is
     * drained first (split off at the moving range's ends, unless MREMAP_DONTUNMAP keeps the old
     * VMA whole, as Linux does). A fault on the source then waits and looks again once the range
     * is unmapped (SIGSEGV) or left empty (a fresh page), never filling the old range while its
     * pages are on their way to the target (a write there would be lost). The mmap write lock is
     * held throughout, so no other writer sees the drained source, which may reach past our span.
     */
    private static long move(final Cpu cpu, final Vma vma, final long oldAddr, final long oldLen, final long newLen,
        final long target, final int flags)
    {
        assert cpu.mm.rangeLock().holdsTree();
        final long admitted = admit(cpu, vma, oldLen, newLen, flags);
        if (admitted != 0)
        {
            return admitted;
        }
        final Piece piece = new Piece(oldAddr, oldLen, target);
        piece.drain(cpu, vma, flags);
        piece.newLen = newLen;
        return moveDrained(cpu, List.of(piece), target);
    }

    /** The map count and the commitment a move of {@code oldLen} to {@code newLen} bytes of {@code vma} needs; 0 when it may go on. */
    private static long admit(final Cpu cpu, final Vma vma, final long oldLen, final long newLen, final int flags)
    {
        if (cpu.mm.tree().size() >= AddressSpace.MAX_MAP_COUNT - 3)
        {
            return -Errno.ENOMEM;
        }
        // vrm_calc_charge: MREMAP_DONTUNMAP keeps the old VMA's commitment, so the new one commits
        // all of its length; otherwise only the growth (the moved pages carry theirs over)
        if (!charge(cpu, vma, ((flags & MREMAP_DONTUNMAP) != 0 ? newLen : Math.max(0, newLen - oldLen)) >>> 12))
        {
            return -Errno.ENOMEM;
        }
        return 0;
    }

    /**
     * One VMA's part of a move: {@code [from, from + len)} to {@code target}, its source drained
     * ({@link #drainSource}) and, once its entries are over, its new VMA (born locked).
     */
    private static final class Piece
    {
        final long from;
        final long len;
        final long target;
        long newLen;
        int flags;
        int vmaFlags;
        long pgoff;
        OpenFile file;
        String name;
        AnonVma anonVma;
        Vma source;
        Vma moved;

        Piece(final long from, final long len, final long target)
        {
            this.from = from;
            this.len = len;
            this.target = target;
            this.newLen = len;
        }

        /** What the new VMA takes from {@code vma}, then the source drained and left write-locked. */
        void drain(final Cpu cpu, final Vma vma, final int flags)
        {
            this.flags = flags;
            vmaFlags = vma.flags;
            file = vma.file;
            name = vma.name;
            source = drainSource(cpu, from, len, (flags & MREMAP_DONTUNMAP) != 0);
            // copy_vma's pgoff and anon_vma, read once the source is drained: before, a fault could
            // still give the piece an anon_vma and a page at its old linear index, which a pgoff
            // taken from the target would lose (the rmap finds a page at that index)
            final Vma drained = source != null ? source : vma;
            final boolean unfaultedAnon = drained.isAnonymous() && drained.anonVma() == null;
            pgoff = unfaultedAnon ? target >>> 12 : drained.pgoff + ((from - drained.start) >>> 12);
            anonVma = drained.anonVma();
        }
    }

    /**
     * move_page_tables for drained {@code pieces} (in address order; their sources contiguous but
     * for the gaps between VMAs), in three passes so that no access sees the move half done. The
     * MMU walks tables without looking at VMAs: were entries taken one by one, an access could
     * succeed through an entry already at the destination and then through one not yet moved at
     * the source, which no order of the mremap and the two accesses explains (Linux allows it; the
     * checker does not). So: (1) every present leaf of the sources is frozen, not present with its
     * bits kept, and their translations are shot down; (2) the entries move, still frozen; (3) the
     * targets are thawed. Between (1) and (3) an access to either side faults, and the fault waits
     * for the move's locks — the drained sources and born-locked targets (per-VMA mode) or the mmap
     * write lock (mmap-lock mode) — and is then ordered after the whole mremap; an access before
     * the flush is ordered before it. A piece whose entries cannot move (no table) goes back, still
     * frozen, with the pieces after it, and those sources are thawed: the move is then the pieces
     * before it, as Linux's. Returns {@code result}, or ENOMEM when a piece could not move.
     */
    private static long moveDrained(final Cpu cpu, final List<Piece> pieces, final long result)
    {
        final AddressSpace mm = cpu.mm;
        final PageTableEditor editor = cpu.editor;
        final long cr3 = mm.cr3();
        final boolean softDirty = mm.kernel().softDirty();
        if (pieces.isEmpty())
        {
            return result;
        }
        final long start = pieces.get(0).from;
        final Piece last = pieces.get(pieces.size() - 1);
        // (1) one freeze of every source, one flush, before any entry can be present at a target
        final MmuGather tlb = cpu.gather;
        tlb.begin(cpu.shootdown);
        int status = editor.freezeForMove(cr3, start, last.from + last.len, tlb);
        tlb.finish();
        // (2) each piece's target born locked (per-VMA mode: no fault fills it while entries are in flight), its entries moved frozen
        int moved = 0;
        if (status == PageTableEditor.OK)
        {
            for (final Piece piece : pieces)
            {
                piece.moved = VmaEditor.insert(cpu, piece.target, piece.target + piece.newLen, piece.vmaFlags, piece.pgoff,
                    piece.file, piece.name, piece.anonVma, mm.perVma());
                status = editor.move(cr3, piece.from, piece.target, piece.len, softDirty);
                if (status != PageTableEditor.OK)
                {
                    // move_page_tables failed: back, still frozen (every entry returns to a slot it
                    // left: no table needed), and the new area dropped
                    editor.move(cr3, piece.target, piece.from, piece.len, softDirty);
                    if (mm.perVma())
                    {
                        mm.rangeLock().unlockVma(cpu, piece.moved);
                    }
                    VmaEditor.unmap(cpu, piece.target, piece.target + piece.newLen);
                    break;
                }
                moved++;
            }
        }
        // (3) the moved pieces' targets thawed together; the sources that stay thawed where they are
        if (moved > 0)
        {
            final Piece lastMoved = pieces.get(moved - 1);
            editor.thawMoved(cr3, pieces.get(0).target, lastMoved.target + lastMoved.len);
        }
        if (moved < pieces.size())
        {
            editor.thawMoved(cr3, pieces.get(moved).from, last.from + last.len);
            for (final Piece piece : pieces.subList(moved, pieces.size()))
            {
                if (piece.source != null)
                {
                    mm.rangeLock().unlockDrained(cpu, piece.source);
                }
            }
        }
        for (final Piece piece : pieces.subList(0, moved))
        {
            finish(cpu, piece);
        }
        // copy_vma merged each copy with its neighbours as it was made — the copy before it, or the
        // source of MREMAP_DONTUNMAP — which were locked here then: with nothing locked any more,
        // each copy meets them now
        for (final Piece piece : pieces.subList(0, moved))
        {
            VmaEditor.mergeAt(cpu, piece.target);
            VmaEditor.mergeAt(cpu, piece.target + piece.newLen);
        }
        return status != PageTableEditor.OK ? -Errno.ENOMEM : result;
    }

    /** A moved piece: its target unlocked, its old range unmapped (or, with MREMAP_DONTUNMAP, left empty). */
    private static void finish(final Cpu cpu, final Piece piece)
    {
        final AddressSpace mm = cpu.mm;
        if (mm.perVma())
        {
            mm.rangeLock().unlockVma(cpu, piece.moved);
        }
        if ((piece.flags & MREMAP_DONTUNMAP) == 0)
        {
            VmaEditor.unmap(cpu, piece.from, piece.from + piece.len);
        }
        else
        {
            dontUnmap(cpu, piece.source, piece.from, piece.len);
        }
    }

    /**
     * security_vm_enough_memory_mm for a remap of an accounted VMA (0 pages is still a check);
     * nothing for one without VM_ACCOUNT.
     */
    private static boolean charge(final Cpu cpu, final Vma vma, final long pages)
    {
        return (vma.flags & VmFlags.VM_ACCOUNT) == 0 || cpu.mm.charge(cpu, pages);
    }

    /**
     * The source of a move, drained of faults and left write-locked in the tree (per-VMA mode; in
     * mmap-lock mode the write lock already excludes faults): the VMA covering exactly
     * {@code [oldAddr, oldAddr + oldLen)}, split off its VMA first, or with {@code whole} the VMA
     * that contains the range, unsplit. Null when nothing moves (an old length of 0 duplicates a
     * shared mapping and leaves the old one as it is).
     */
    private static Vma drainSource(final Cpu cpu, final long oldAddr, final long oldLen, final boolean whole)
    {
        final AddressSpace mm = cpu.mm;
        if (oldLen == 0)
        {
            return null;
        }
        if (!whole)
        {
            VmaEditor.splitAt(cpu, oldAddr);
            VmaEditor.splitAt(cpu, oldAddr + oldLen);
        }
        final Vma source = mm.tree().lookup(oldAddr);
        assert source != null && source.start <= oldAddr && oldAddr + oldLen <= source.end : source;
        mm.rangeLock().lockVma(cpu, source);
        return source;
    }

    /**
     * MREMAP_DONTUNMAP leaves the old VMA ({@code old}, drained by {@link #drainSource}) empty;
     * when all of it moved it loses its anon_vma, and it always loses VM_LOCKED. Its lock ends.
     */
    private static void dontUnmap(final Cpu cpu, final Vma old, final long oldAddr, final long oldLen)
    {
        final AddressSpace mm = cpu.mm;
        final boolean whole = old.start == oldAddr && old.end == oldAddr + oldLen;
        final int flags = old.flags & ~(VmFlags.VM_LOCKED | VmFlags.VM_LOCKONFAULT);
        if (flags != old.flags || (whole && old.anonVma() != null))
        {
            final int i = mm.tree().indexAfter(old.start);
            assert mm.tree().at(i) == old;
            // old is drained already (a locked VMA beyond our span: VmaEditor.replace's check would refuse it)
            mm.replace(cpu, i, i + 1, new Vma(old.start, old.end, flags, old.pgoff, old.file, old.name,
                whole ? null : old.anonVma()));
            return;
        }
        mm.rangeLock().unlockDrained(cpu, old);
    }
}
