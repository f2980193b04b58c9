package io.mmemu.vm;

import io.mmemu.phys.HugetlbPool;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_FIXED_NOREPLACE;
import static io.mmemu.vm.Mman.MAP_GROWSDOWN;
import static io.mmemu.vm.Mman.MAP_HUGETLB;
import static io.mmemu.vm.Mman.MAP_LOCKED;
import static io.mmemu.vm.Mman.MAP_NONBLOCK;
import static io.mmemu.vm.Mman.MAP_NORESERVE;
import static io.mmemu.vm.Mman.MAP_POPULATE;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MAP_SHARED;
import static io.mmemu.vm.Mman.MAP_SHARED_VALIDATE;
import static io.mmemu.vm.Mman.MAP_STACK;
import static io.mmemu.vm.Mman.MAP_SYNC;
import static io.mmemu.vm.Mman.MAP_TYPE;

/**
 * mmap (anonymous memory and files) and munmap with the kernel's checks in the kernel's order
 * (arch/x86/kernel/sys_x86_64.c, mm/mmap.c's do_mmap, mm/vma.c's mmap_region and
 * do_vmi_munmap), and MAP_POPULATE.
 */
final class Mmap
{
    static final long PAGE_MASK = ~4095L;

    private Mmap()
    {
    }

    static long pageAlign(final long len)
    {
        return (len + 4095) & PAGE_MASK;
    }

    /** calc_vm_prot_bits. */
    static int protBits(final int prot)
    {
        return ((prot & Mman.PROT_READ) != 0 ? VmFlags.VM_READ : 0) |
            ((prot & Mman.PROT_WRITE) != 0 ? VmFlags.VM_WRITE : 0) |
            ((prot & Mman.PROT_EXEC) != 0 ? VmFlags.VM_EXEC : 0);
    }

    /**
     * mmap: {@code file} is what the fd names (null: a bad fd); ignored with MAP_ANONYMOUS, as the
     * kernel ignores the fd then. vm_mmap_pgoff's two steps: the mapping under the lock
     * ({@link #map}), then the populate after it ({@link #populate}), with nothing held between.
     */
    static long mmap(final Cpu cpu, final long addr, final long length, final int prot, final int flags,
        final OpenFile fdFile, final long offset)
    {
        final long result = map(cpu, addr, length, prot, flags, fdFile, offset);
        populate(cpu, result, length, flags);
        return result;
    }

    /**
     * do_mmap's {@code *populate}: whether an mmap with {@code flags} that returned {@code result}
     * faults its range in after it let go of the mmap lock (MAP_POPULATE without MAP_NONBLOCK, or
     * MAP_LOCKED, which also makes the VMA VM_LOCKED).
     */
    static boolean populates(final int flags, final long result)
    {
        return result >= 0 && ((flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE || (flags & MAP_LOCKED) != 0);
    }

    /**
     * vm_mmap_pgoff's mm_populate, after mmap_write_unlock: faults in the range an mmap with
     * {@code flags} and {@code length} that returned {@code result} mapped, on whatever VMAs are
     * there by now (other threads may have changed them meanwhile); errors are ignored. Nothing
     * when the mmap does not populate.
     */
    static void populate(final Cpu cpu, final long result, final long length, final int flags)
    {
        if (populates(flags, result))
        {
            // a MAP_HUGETLB mapping succeeded, so its pool exists; its length was rounded up to its page size
            final long mapped = (flags & MAP_HUGETLB) != 0 ? hugeLength(length, Hugetlb.pool(cpu.memory, flags)) : length;
            Populate.range(cpu, result, result + pageAlign(mapped), false);
        }
    }

    /** ksys_mmap_pgoff: an anonymous MAP_HUGETLB length rounded up to the pool's page size. */
    private static long hugeLength(final long length, final HugetlbPool huge)
    {
        return (length + huge.pageSize() - 1) & -huge.pageSize();
    }

    /** vm_mmap_pgoff up to mmap_write_unlock (do_mmap under the lock): the mmap without its populate. */
    static long map(final Cpu cpu, final long addr, final long length0, final int prot, final int flags,
        final OpenFile fdFile, final long offset)
    {
        long length = length0;
        if ((offset & ~PAGE_MASK) != 0)
        {
            return -Errno.EINVAL;
        }
        final OpenFile file = (flags & MAP_ANONYMOUS) != 0 ? null : fdFile;
        if ((flags & MAP_ANONYMOUS) == 0 && file == null)
        {
            return -Errno.EBADF;
        }
        HugetlbPool huge = null;
        if ((flags & MAP_HUGETLB) != 0)
        {
            // ksys_mmap_pgoff: a file not on hugetlbfs is EINVAL; anonymous memory gets a hugetlbfs
            // file of the size the flags name (none: EINVAL), its length rounded up to that size
            huge = file != null ? null : Hugetlb.pool(cpu.memory, flags);
            if (huge == null)
            {
                return -Errno.EINVAL;
            }
            length = hugeLength(length, huge);
        }
        final RangeLock lock = cpu.mm.rangeLock();
        if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0)
        {
            lock.acquire(cpu, addr, addr + pageAlign(length));
        }
        else
        {
            // the span is the gap the search finds (doMmap claims it)
            lock.acquire(cpu);
        }
        long result;
        final Replacement replacement = new Replacement();
        try
        {
            do
            {
                result = doMmap(cpu, addr, length, prot, flags, offset >>> 12, file, huge, replacement);
            }
            while (result == SEARCH_AGAIN);
            if (replacement.vma != null)
            {
                // per-VMA MAP_FIXED: the new VMA was published locked; zap what it replaced, section
                // by section without the mmap lock but still owning the span, then let the faults
                // waiting on it in
                lock.unlockTree(cpu);
                zapSections(cpu, replacement.start, replacement.end);
                VmaEditor.freeReplacedTables(cpu, replacement.vma, replacement.start, replacement.end);
                // the VMA's write lock ends under the mmap write lock, with the span released in
                // the same hold (Linux: vma_end_write_all at mmap_write_unlock): a writer that
                // takes the mmap lock meanwhile sees the VMA either locked and ours, or neither
                lock.lockTree(cpu);
                lock.unlockVma(cpu, replacement.vma);
            }
        }
        finally
        {
            lock.release(cpu);
        }
        return result;
    }

    /** What {@link #doMmap} returns when the gap it found was another writer's: it waited, and must search again. */
    private static final long SEARCH_AGAIN = Long.MIN_VALUE;

    /**
     * do_mmap; caller holds the mmap write lock and, for MAP_FIXED, the span. A search for a gap
     * claims the gap it finds. When another writer owns part of it (only a munmap in flight can: its
     * holes are free in the tree, its placeholders occupied, so the tree is the address space
     * before that munmap), the claim waits for that writer and this returns {@link #SEARCH_AGAIN}:
     * the search then gives Linux's answer after the munmap. A gap that meets no other writer's span
     * is Linux's answer before every munmap in flight: the mapping is outside their spans, so
     * applying them afterwards changes nothing of it. Skipping owned spans instead ("look
     * elsewhere") could give an address that neither order gives, since top-down placement would
     * have used the munmap's range once free. A MAP_FIXED in flight shows its new VMA, born locked,
     * while its old pages are still mapped: an answer read with it in the tree would order this
     * mmap after a MAP_FIXED that a later access sees not done, so the search (its answer an
     * address or ENOMEM) waits for it first ({@link RangeLock#searchSettled}) and searches again.
     */
    private static long doMmap(final Cpu cpu, final long addr0, final long length, final int prot, final int flags0,
        final long pgoff0, final OpenFile file, final HugetlbPool huge, final Replacement replacement)
    {
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree();
        if (length == 0)
        {
            return -Errno.EINVAL;
        }
        int flags = flags0;
        if ((flags & MAP_FIXED_NOREPLACE) != 0)
        {
            flags |= MAP_FIXED;
        }
        long addr = addr0;
        if ((flags & MAP_FIXED) == 0)
        {
            // round_hint_to_min
            addr &= PAGE_MASK;
            if (addr != 0 && addr < AddressSpace.MMAP_MIN_ADDR)
            {
                addr = pageAlign(AddressSpace.MMAP_MIN_ADDR);
            }
        }
        final long len = pageAlign(length);
        if (len == 0)
        {
            return -Errno.ENOMEM;
        }
        if (pgoff0 + (len >>> 12) < pgoff0)
        {
            return -Errno.EOVERFLOW;
        }
        if (mm.tree().size() > AddressSpace.MAX_MAP_COUNT)
        {
            return -Errno.ENOMEM;
        }
        final int type = flags & MAP_TYPE;
        final int areaFlags = type == MAP_SHARED || type == MAP_SHARED_VALIDATE ? flags | MAP_SHARED : flags;
        // /dev/zero shared is shmem and searches as shared anonymous memory does
        final MappedFile areaFile = file == null || (file.inode().isDevZero() && (areaFlags & MAP_SHARED) != 0) ? null : file.inode();
        addr = huge != null ? Hugetlb.unmappedArea(mm.tree(), mm.taskSize(), addr, len, areaFlags, huge.pageSize()) :
            UnmappedArea.find(mm.tree(), mm.taskSize(), addr, len, areaFlags, areaFile, pgoff0);
        if ((flags & MAP_FIXED) == 0 && !mm.rangeLock().searchSettled(cpu))
        {
            return SEARCH_AGAIN;
        }
        if (Errno.isError(addr))
        {
            return addr;
        }
        if ((flags & MAP_FIXED) == 0 && !mm.rangeLock().claim(cpu, addr, addr + len))
        {
            return SEARCH_AGAIN;
        }
        if ((flags & MAP_FIXED_NOREPLACE) != 0)
        {
            final Vma clash = mm.tree().find(addr);
            if (clash != null && clash.start < addr + len)
            {
                return -Errno.EEXIST;
            }
        }
        if ((flags & MAP_FIXED) != 0 && Hugetlb.cutsHugePage(mm.tree(), addr, addr + len))
        {
            // the unmap of what MAP_FIXED covers would split a hugetlb VMA off its page size
            return -Errno.EINVAL;
        }
        int vmFlags = protBits(prot) | VmFlags.VM_MAYREAD | VmFlags.VM_MAYWRITE | VmFlags.VM_MAYEXEC;
        if ((flags & MAP_GROWSDOWN) != 0)
        {
            vmFlags |= VmFlags.VM_GROWSDOWN;
        }
        if ((flags & MAP_LOCKED) != 0)
        {
            vmFlags |= VmFlags.VM_LOCKED;
        }
        if ((flags & MAP_SYNC) != 0)
        {
            vmFlags |= VmFlags.VM_SYNC;
        }
        if ((flags & MAP_STACK) != 0)
        {
            vmFlags |= VmFlags.VM_NOHUGEPAGE;
        }
        if (huge != null)
        {
            return mmapHugetlb(cpu, addr, len, flags, vmFlags, huge, replacement);
        }
        if (file != null)
        {
            return mmapFile(cpu, addr, len, prot, flags, vmFlags, pgoff0, file, replacement);
        }
        final long pgoff;
        final boolean shared;
        switch (type)
        {
            case MAP_SHARED ->
            {
                if ((vmFlags & VmFlags.VM_GROWSDOWN) != 0)
                {
                    return -Errno.EINVAL;
                }
                pgoff = 0;
                shared = true;
                vmFlags |= VmFlags.VM_SHARED | VmFlags.VM_MAYSHARE;
            }
            case MAP_PRIVATE ->
            {
                pgoff = addr >>> 12;
                shared = false;
            }
            default ->
            {
                return -Errno.EINVAL;
            }
        }
        if (noReserve(cpu, flags))
        {
            vmFlags |= VmFlags.VM_NORESERVE;
        }
        return mmapRegion(cpu, addr, len, vmFlags, pgoff, null, shared, replacement);
    }

    /**
     * A MAP_HUGETLB mapping of anonymous memory: a fresh hugetlbfs file (hugetlb_file_setup) whose
     * pages are reserved now unless MAP_NORESERVE (hugetlb_reserve_pages: ENOMEM when the pool
     * cannot cover them), mapped shared or private; never accounted in Committed_AS.
     */
    private static long mmapHugetlb(final Cpu cpu, final long addr, final long len, final int flags, final int protAndFlagBits,
        final HugetlbPool pool, final Replacement replacement)
    {
        int vmFlags = protAndFlagBits | VmFlags.VM_HUGETLB | VmFlags.VM_DONTEXPAND;
        final int type = flags & MAP_TYPE;
        final boolean shared = type == MAP_SHARED || type == MAP_SHARED_VALIDATE;
        if ((!shared && type != MAP_PRIVATE) || (vmFlags & VmFlags.VM_GROWSDOWN) != 0)
        {
            return -Errno.EINVAL;
        }
        if (shared)
        {
            vmFlags |= VmFlags.VM_SHARED | VmFlags.VM_MAYSHARE;
        }
        // MAP_NORESERVE is always honoured for hugetlb files, whatever the overcommit policy
        final boolean noReserve = (flags & MAP_NORESERVE) != 0;
        if (noReserve)
        {
            vmFlags |= VmFlags.VM_NORESERVE;
        }
        final HugetlbFile hugetlb = HugetlbFile.create(pool, shared, cpu.mm, len, noReserve);
        if (hugetlb == null)
        {
            return -Errno.ENOMEM;
        }
        final long result = mmapRegion(cpu, addr, len, vmFlags, 0, OpenFile.open(MappedFile.hugetlb(hugetlb), true), false,
            replacement);
        if (Errno.isError(result))
        {
            // never mapped: nothing holds the file, so its reservation goes back now
            hugetlb.die(cpu.memory, cpu.cache);
        }
        return result;
    }

    /** MAP_NORESERVE is honoured only where overcommit is allowed: strict mode ignores it. */
    private static boolean noReserve(final Cpu cpu, final int flags)
    {
        return (flags & MAP_NORESERVE) != 0 && cpu.mm.commitment().policy().mode() != Overcommit.NEVER;
    }

    private static final int MAP_ABOVE4G = 0x80;
    private static final int MAP_HUGE_2MB = 21 << 26;
    private static final int MAP_HUGE_1GB = 30 << 26;
    /** The flags MAP_SHARED keeps and MAP_SHARED_VALIDATE accepts (LEGACY_MAP_MASK; no fs here offers MAP_SYNC). */
    private static final int LEGACY_MAP_MASK = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | Mman.MAP_DENYWRITE |
        Mman.MAP_EXECUTABLE | Mman.MAP_UNINITIALIZED | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE |
        MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | Mman.MAP_32BIT | MAP_ABOVE4G | MAP_HUGE_2MB | MAP_HUGE_1GB;
    /** MAX_LFS_FILESIZE: the largest offset a regular file's mapping may reach. */
    private static final long MAX_FILE_SIZE = Long.MAX_VALUE;

    /** do_mmap's file branch (the fd's checks in the kernel's order), then mmap_region. */
    private static long mmapFile(final Cpu cpu, final long addr, final long len, final int prot, final int flags,
        final int protAndFlagBits, final long pgoff, final OpenFile file, final Replacement replacement)
    {
        int vmFlags = protAndFlagBits;
        // file_mmap_ok
        if (pgoff > (MAX_FILE_SIZE - len) >>> 12)
        {
            return -Errno.EOVERFLOW;
        }
        switch (flags & MAP_TYPE)
        {
            case MAP_SHARED, MAP_SHARED_VALIDATE ->
            {
                if ((flags & MAP_TYPE) == MAP_SHARED_VALIDATE && (flags & ~LEGACY_MAP_MASK) != 0)
                {
                    return -Errno.EOPNOTSUPP;
                }
                if ((prot & Mman.PROT_WRITE) != 0 && !file.writable())
                {
                    return -Errno.EACCES;
                }
                vmFlags |= VmFlags.VM_SHARED | VmFlags.VM_MAYSHARE;
                if (!file.writable())
                {
                    vmFlags &= ~(VmFlags.VM_MAYWRITE | VmFlags.VM_SHARED);
                }
            }
            case MAP_PRIVATE ->
            {
                // the fd is open for reading: mmemu's files always are
            }
            default ->
            {
                return -Errno.EINVAL;
            }
        }
        if (!file.inode().mappable())
        {
            return -Errno.ENODEV;
        }
        if ((vmFlags & VmFlags.VM_GROWSDOWN) != 0)
        {
            return -Errno.EINVAL;
        }
        if (noReserve(cpu, flags))
        {
            vmFlags |= VmFlags.VM_NORESERVE;
        }
        if (file.inode().isDevZero())
        {
            // mmap_zero: a shared mapping becomes shmem; a private one anonymous memory that still
            // names /dev/zero (vma_set_anonymous keeps vm_file)
            return (vmFlags & VmFlags.VM_SHARED) != 0 ? mmapRegion(cpu, addr, len, vmFlags, 0, null, true, replacement) :
                mmapRegion(cpu, addr, len, vmFlags, pgoff, file, false, replacement);
        }
        return mmapRegion(cpu, addr, len, vmFlags, pgoff, file, false, replacement);
    }

    /**
     * mmap_region: unmap what MAP_FIXED covers, account, merge or insert. {@code file} is the file
     * mapped (null: anonymous); {@code shmem}: a new shmem object backs the mapping.
     */
    static long mmapRegion(final Cpu cpu, final long addr, final long len, final int flags, final long pgoff,
        final OpenFile file, final boolean shmem, final Replacement replacement)
    {
        final AddressSpace mm = cpu.mm;
        assert mm.rangeLock().holdsTree() && mm.rangeLock().owns(cpu, addr, addr + len);
        final Vma overlapped = mm.tree().find(addr);
        final boolean replacing = overlapped != null && overlapped.start < addr + len;
        int vmFlags = flags;
        // accountable_mapping: the commit is charged before anything is unmapped, net of the
        // VM_ACCOUNT pages being replaced (vms.nr_accounted), and only when there is one to charge
        if ((vmFlags & (VmFlags.VM_NORESERVE | VmFlags.VM_SHARED | VmFlags.VM_WRITE | VmFlags.VM_HUGETLB)) == VmFlags.VM_WRITE)
        {
            vmFlags |= VmFlags.VM_ACCOUNT;
            final long charged = (len >>> 12) - accountedIn(mm.tree(), addr, addr + len);
            if (charged != 0 && !mm.charge(cpu, charged))
            {
                return -Errno.ENOMEM;
            }
        }
        // shmem_zero_setup's shmem_acct_size: the object commits its size unless MAP_NORESERVE
        final long shmemPages = shmem && (vmFlags & VmFlags.VM_NORESERVE) == 0 ? len >>> 12 : 0;
        if (shmemPages != 0 && !mm.commitment().enoughMemory(mm.totalVm(), shmemPages))
        {
            return -Errno.ENOMEM;
        }
        final boolean deferZap = replacing && mm.perVma();
        final int unmapped = deferZap ? VmaEditor.detach(cpu, addr, addr + len, true) : VmaEditor.unmap(cpu, addr, addr + len);
        if (unmapped != 0)
        {
            mm.commitment().unaccount(shmemPages);
            return unmapped;
        }
        if (cpu.mm.kernel().softDirty())
        {
            vmFlags |= VmFlags.VM_SOFTDIRTY;
        }
        final Vma vma;
        if (shmem)
        {
            // shmem_zero_setup: a new shmem file per mapping, so it never merges with a neighbour
            vma = VmaEditor.insertDistinct(cpu, new Vma(addr, addr + len, vmFlags, pgoff,
                OpenFile.open(MappedFile.shmem(len >>> 12, mm.commitment(), shmemPages), true), null, null), deferZap);
        }
        else
        {
            vma = VmaEditor.insert(cpu, addr, addr + len, vmFlags, pgoff, file, null, null, deferZap);
        }
        if (deferZap)
        {
            replacement.vma = vma;
            replacement.start = addr;
            replacement.end = addr + len;
        }
        return addr;
    }

    /** The VM_ACCOUNT pages of the VMAs in {@code [start, end)} (the parts inside it). */
    static long accountedIn(final VmaTree tree, final long start, final long end)
    {
        long pages = 0;
        for (Vma vma = tree.find(start); vma != null && vma.start < end; vma = tree.find(vma.end))
        {
            if ((vma.flags & VmFlags.VM_ACCOUNT) != 0)
            {
                pages += (Math.min(end, vma.end) - Math.max(start, vma.start)) >>> 12;
            }
        }
        return pages;
    }

    /** A MAP_FIXED replacement whose old pages still have to be zapped (per-VMA mode). */
    static final class Replacement
    {
        Vma vma;
        long start;
        long end;
    }

    /**
     * Zaps {@code [start, end)} one section at a time, flushing after each, so that no PTE lock or
     * gather is held for longer than a section takes; the caller holds no mmap lock.
     */
    static void zapSections(final Cpu cpu, final long start, final long end)
    {
        assert !cpu.mm.rangeLock().holdsTree() && cpu.mm.rangeLock().owns(cpu, start, end);
        final long section = cpu.mm.section();
        for (long from = start; from < end; )
        {
            final long to = end - from > section ? from + section : end;
            VmaEditor.zap(cpu, from, to);
            from = to;
        }
    }

    static long munmap(final Cpu cpu, final long start, final long length)
    {
        final long taskSize = cpu.mm.taskSize();
        if ((start & ~PAGE_MASK) != 0 || Long.compareUnsigned(start, taskSize) > 0 ||
            Long.compareUnsigned(length, taskSize - start) > 0)
        {
            return -Errno.EINVAL;
        }
        final long len = pageAlign(length);
        if (len == 0)
        {
            return -Errno.EINVAL;
        }
        final AddressSpace mm = cpu.mm;
        final long end = start + len;
        final RangeLock lock = mm.rangeLock();
        lock.acquire(cpu, start, end);
        try
        {
            if (Hugetlb.cutsHugePage(mm.tree(), start, end))
            {
                // hugetlb_vm_op_split: a hugetlb VMA is never split off its page size
                return -Errno.EINVAL;
            }
            if (!mm.perVma())
            {
                return VmaEditor.unmap(cpu, start, end);
            }
            return sectioned(cpu, start, end);
        }
        finally
        {
            lock.release(cpu);
        }
    }

    /**
     * The seed's sectioned munmap of {@code [start, end)} (per-VMA mode); the caller has acquired
     * the span and holds the mmap write lock. Returns 0 or {@code -ENOMEM}, with the mmap lock held.
     * <p>
     * <b>Overview.</b> The states, in order:
     * <ol>
     *   <li><i>owned</i> — {@link RangeLock#acquire}: the span {@code [start, end)}, holes included,
     *       is this writer's until it releases; it waited, offline and holding nothing, for any
     *       writer that owned part of it.</li>
     *   <li><i>detached</i> — under the mmap write lock: the VMAs are split at the span's ends,
     *       drained (faults in flight on them finish) and replaced by placeholders, born-locked
     *       copies with the same ranges and flags. The tree is the address space before this
     *       munmap, and nothing in the span is unlocked.</li>
     *   <li><i>zapping</i> — without the mmap lock: the placeholders' pages are zapped
     *       {@code section} bytes at a time, each section flushed (TLB shootdown) before its frames
     *       are freed. The walk over the placeholders takes no lock: only their owner changes them.</li>
     *   <li><i>freeing tables</i> — a section at a time under the mmap lock held for reading:
     *       tables only the placeholders reach are freed (floor and ceiling are the nearest VMAs
     *       that are not ours, read under that lock, so no writer moves them meanwhile).</li>
     *   <li><i>removed</i> — under the mmap write lock: the placeholders leave the tree; retired,
     *       they wake the faults waiting on them, which look again and find nothing. This is the
     *       munmap's linearisation point. The tables step 4 had to keep for a neighbour that has
     *       gone meanwhile (another munmap's placeholders) are freed now.</li>
     *   <li><i>released</i> — {@link RangeLock#release}: the span is given up and its waiters woken;
     *       then the mmap lock is dropped.</li>
     * </ol>
     * <b>Who waits.</b> A fault on a placeholder waits on its completion (step 5), then gets
     * SEGV_MAPERR; a fault anywhere else runs. A writer whose span meets ours — an mmap, munmap,
     * mprotect, mremap, madvise, brk or stack growth, MAP_FIXED into a hole of ours included — waits
     * for step 6, then starts again; a gap search that finds one of our holes waits likewise and
     * searches again. Writers on disjoint ranges run during steps 3 and 4 (they wait only for the
     * mmap lock, which a step holds briefly). This munmap itself waits for faults draining (step
     * 2), shootdown acknowledgements (steps 3 and 4: the other CPUs answer between their own
     * tables, and blocked CPUs are offline) and the mmap lock (steps 4 and 5, offline).
     * <p>
     * <b>Why it is safe.</b> Nothing in the span changes but by this writer until step 6: no VMA
     * can appear in its holes (MAP_FIXED, a searched mapping, a mremap target or a grown stack would
     * all have to own part of the span), so every page zapped and every table freed belongs to a
     * placeholder, and a frame freed in step 3 is reachable from no VMA and, after the flush, no TLB.
     * The placeholders are locked, so no writer merges with them; faults cannot fill them. Every
     * outcome is Linux's: a call that saw the placeholders ran before this munmap, one that waited
     * ran after it.
     */
    private static int sectioned(final Cpu cpu, final long start, final long end)
    {
        final AddressSpace mm = cpu.mm;
        final RangeLock lock = mm.rangeLock();
        assert mm.perVma() && lock.holdsTree() && lock.owns(cpu, start, end);
        final int detached = VmaEditor.detach(cpu, start, end, true);
        if (detached != 0)
        {
            return detached;
        }
        lock.unlockTree(cpu);
        for (Vma vma = mm.tree().find(start); vma != null && vma.start < end; vma = mm.tree().find(vma.end))
        {
            zapSections(cpu, vma.start, vma.end);
        }
        for (Vma vma = mm.tree().find(start); vma != null && vma.start < end; vma = mm.tree().find(vma.end))
        {
            VmaEditor.freeTablesInSections(cpu, vma, start, end);
        }
        lock.lockTree(cpu);
        VmaEditor.removePlaceholders(cpu, start, end);
        VmaEditor.freeTablesLeft(cpu, start, end);
        return 0;
    }
}
