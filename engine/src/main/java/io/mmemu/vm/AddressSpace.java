package io.mmemu.vm;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.mmemu.pgtable.MmuGather;
import io.mmemu.pgtable.PageTableChecker;
import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.pgtable.PagingMode;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;

import static io.mmemu.phys.BuddyAllocator.NO_FRAME;

/**
 * An emulated Linux x86-64 process address space (an {@code mm_struct}): the VMA tree, the mmap
 * lock, the page tables rooted at {@link #cr3()}, and the CPUs that run in it. Syscalls and memory
 * accesses are made through a {@link Cpu} (one per thread).
 * <p>
 * Concurrency: the VMA tree is an immutable {@link VmaTree} published with a release store, so
 * lookups (faults, views) take no lock. Every writer (syscalls, stack growth, exec's and fork's
 * layout) goes through the {@link RangeLock}: it owns its span and holds the mmap write lock while
 * it changes the tree; faults hold the mmap lock for reading (mmap-lock mode) or a VMA's read lock
 * (per-VMA mode). A CPU that blocks goes offline first, so a writer's TLB shootdown never waits for it.
 */
public final class AddressSpace implements AutoCloseable
{
    /** Linux x86-64 TASK_SIZE with 4-level paging: the last user page is never mappable. See {@link #taskSize()}. */
    public static final long TASK_SIZE = 0x7ffffffff000L;
    /**
     * DEFAULT_MAP_WINDOW: with 5-level paging, mappings stay below this (the 4-level TASK_SIZE)
     * unless a hint above it asks for more, and mmap_base and the stack are placed under it.
     */
    public static final long DEFAULT_MAP_WINDOW = (1L << 47) - 4096;
    /** TASK_SIZE with 5-level paging (LA57): (1 &lt;&lt; 56) - PAGE_SIZE. */
    public static final long TASK_SIZE_LA57 = (1L << 56) - 4096;
    /** Top-down placement starts below this (8 MiB stack, no randomisation). */
    public static final long MMAP_BASE = 0x7ffff7fff000L;
    /** Bottom-up (legacy, and fallback) placement starts here: PAGE_ALIGN(TASK_SIZE / 3). */
    public static final long MMAP_LEGACY_BASE = ((TASK_SIZE / 3) + 4095) & ~4095L;
    public static final long MMAP_MIN_ADDR = 4096;
    public static final int MAX_MAP_COUNT = 65530;
    /** stack_guard_gap: 256 pages kept free below a VM_GROWSDOWN VMA. */
    public static final long STACK_GUARD_GAP = 256L << 12;
    /** RLIMIT_STACK, bounding how far a VM_GROWSDOWN VMA may grow. */
    public static final long STACK_LIMIT = 8L << 20;

    private static final VarHandle TREE;

    static
    {
        try
        {
            TREE = MethodHandles.lookup().findVarHandle(AddressSpace.class, "tree", VmaTree.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    /** Default section of a sectioned unmap: 1 GiB, one PUD entry's worth. */
    public static final long DEFAULT_SECTION = 1L << 30;

    private final PhysicalMemory memory;
    private final LockingMode locking;
    private final long section;
    private final KernelConfig kernel;
    /** The machine-wide state this address space shares with the others on its machine. */
    private final Machine machine;
    /** The machine's Committed_AS and overcommit policy. */
    private final Commitment commitment;
    /**
     * This address space's share of the commitment: the pages of its VM_ACCOUNT VMAs. Guarded by the
     * mmap write lock (written only in {@link #replace}); volatile for readers without it.
     */
    private volatile long accountedPages;
    /** Killed by the OOM killer (a fatal SIGKILL pending): set once, under the OOM killer's lock. */
    private volatile boolean oomKilled;
    /** mm->total_vm: the pages of every VMA. Guarded by the mmap write lock, as {@link #accountedPages}. */
    private volatile long totalVm;
    /**
     * The THP policy (sysfs transparent_hugepage/enabled) and use_zero_page: volatile, as sysfs
     * writes reach running faults; read once per fault. NEVER unless set: the CLI sets the host's.
     */
    private volatile ThpMode thp = ThpMode.NEVER;
    private volatile boolean thpUseZeroPage = true;
    /** Whether a fault ever mapped a 2 MiB leaf here: until then VMA edits need not look for leaves to split. */
    private volatile boolean hugeLeaves;
    /** See {@link #timeFaults}; volatile so a change reaches running CPUs, read once per fault. */
    private volatile boolean faultTiming = true;
    /** The CR3 word: the root's physical address, LA57 in bit 0 with 5-level paging ({@link PagingMode}). */
    private final long cr3;
    /** TASK_SIZE for the paging mode: the end of what may be mapped. */
    private final long taskSize;
    /** Stats of every CPU that ever ran here (closed ones included), for {@link #stats()}. */
    private final java.util.concurrent.CopyOnWriteArrayList<CpuStats> allStats = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** The mmap lock, the writers' spans and the VMA write locks. */
    private final RangeLock rangeLock;
    /** Frames released by VMA bookkeeping (page caches of files and shmem); guarded by the mmap write lock. */
    private final FrameCache housekeeping;
    private final PageTableEditor housekeepingEditor;
    private final Object cpuLock = new Object();
    /** The anon_vma families this process is a member of ({@link AnonVma#addMember}): it leaves them at exit. */
    private final Set<AnonVma> anonRoots = ConcurrentHashMap.newKeySet();
    /** The files whose mappers this process joined (left at exit). */
    private final Set<MappedFile> mappedFiles = ConcurrentHashMap.newKeySet();
    /** Written (published) under the mmap write lock; read with no lock. */
    @SuppressWarnings("unused") // accessed through TREE
    private volatile VmaTree tree = VmaTree.EMPTY;
    private volatile Cpu[] cpus = new Cpu[0];
    /** mm->start_brk and mm->brk: written under the mmap write lock (or before any CPU runs: exec), read by views. */
    private volatile long startBrk;
    private volatile long brk;
    /** Whether maps shows the legacy [vsyscall] page above TASK_SIZE (set by exec from a maps file). */
    private volatile boolean vsyscall;
    /** Guarded by cpuLock (as is the copy-on-write publication of {@link #cpus}). */
    private int nextCpuId;
    /** Guarded by cpuLock. */
    private boolean closed;

    private AddressSpace(final PhysicalMemory memory, final LockingMode locking, final long section,
        final KernelConfig kernel, final Machine machine)
    {
        if (machine.memory() != memory)
        {
            throw new IllegalArgumentException("the machine's memory is not the address space's");
        }
        if (section < PhysicalMemory.PAGE_SIZE || (section & (PhysicalMemory.PAGE_SIZE - 1)) != 0)
        {
            throw new IllegalArgumentException("section must be a positive multiple of 4 KiB: " + section);
        }
        this.memory = memory;
        this.locking = locking;
        this.section = section;
        this.kernel = kernel;
        this.machine = machine;
        this.commitment = machine.commitment();
        this.rangeLock = new RangeLock(locking);
        this.housekeeping = memory.newCache();
        this.housekeepingEditor = new PageTableEditor(memory, housekeeping, Long.MAX_VALUE);
        final long root = housekeepingEditor.allocateRoot(kernel.paging());
        if (root == NO_FRAME)
        {
            throw new IllegalStateException("physical memory exhausted: no frame for the root page table");
        }
        this.cr3 = root;
        this.taskSize = kernel.paging() == PagingMode.FIVE_LEVEL ? TASK_SIZE_LA57 : TASK_SIZE;
    }

    /** An address space with the seed's per-VMA locking and 1 GiB unmap sections. */
    public static AddressSpace create(final PhysicalMemory memory)
    {
        return create(memory, LockingMode.PER_VMA, DEFAULT_SECTION, KernelConfig.MAINLINE);
    }

    public static AddressSpace create(final PhysicalMemory memory, final LockingMode locking, final long section)
    {
        return create(memory, locking, section, KernelConfig.MAINLINE);
    }

    /** An address space alone on its machine, with Linux's default overcommit policy (the heuristic). */
    public static AddressSpace create(final PhysicalMemory memory, final LockingMode locking, final long section,
        final KernelConfig kernel)
    {
        return create(locking, section, kernel, new Machine(memory, Overcommit.DEFAULT));
    }

    /** A new process on {@code machine} (it shares the machine's commitment and OOM killer with the others there). */
    public static AddressSpace create(final LockingMode locking, final long section, final KernelConfig kernel,
        final Machine machine)
    {
        final AddressSpace mm = new AddressSpace(machine.memory(), locking, section, kernel, machine);
        machine.oomKiller().register(mm);
        return mm;
    }

    public Machine machine()
    {
        return machine;
    }

    /** Whether the OOM killer has killed this process (its threads must end; exit frees its memory). */
    public boolean oomKilled()
    {
        return oomKilled;
    }

    void markOomKilled()
    {
        oomKilled = true;
    }

    /** The machine's commitment (Committed_AS, the overcommit policy). */
    public Commitment commitment()
    {
        return commitment;
    }

    /** The pages of this address space's VM_ACCOUNT VMAs: its part of Committed_AS, shmem objects aside. */
    public long accountedPages()
    {
        return accountedPages;
    }

    /** mm->total_vm, pages. */
    public long totalVm()
    {
        return totalVm;
    }

    /**
     * security_vm_enough_memory_mm for an operation of {@code cpu}'s about to add {@code pages}
     * VM_ACCOUNT pages to the tree: charges them as a reserve that {@link #replace} uses up when the
     * pages arrive; what is left when the writer releases its span is given back
     * ({@link #settleCommitment}), so a failure after the check needs no undo. Returns false (the
     * caller's -ENOMEM) with nothing charged when the policy refuses. Caller holds the mmap write lock.
     */
    boolean charge(final Cpu cpu, final long pages)
    {
        assert rangeLock.holdsTree();
        if (!commitment.enoughMemory(totalVm, pages))
        {
            return false;
        }
        cpu.commitReserve += pages;
        return true;
    }

    /** Gives back what the writer on {@code cpu} charged and did not use (see {@link #charge}). */
    void settleCommitment(final Cpu cpu)
    {
        if (cpu.commitReserve != 0)
        {
            commitment.unaccount(cpu.commitReserve);
            cpu.commitReserve = 0;
        }
    }

    public KernelConfig kernel()
    {
        return kernel;
    }

    /** The transparent-huge-page policy anonymous faults follow ({@link HugeMemory}). */
    public ThpMode thp()
    {
        return thp;
    }

    /** Sets the THP policy, as a write to /sys/kernel/mm/transparent_hugepage/enabled does; returns this. */
    public AddressSpace thp(final ThpMode mode)
    {
        this.thp = java.util.Objects.requireNonNull(mode, "mode");
        return this;
    }

    /** Records that a 2 MiB leaf was mapped (by a fault, under the VMA's read lock or the mmap lock). */
    void mappedHugeLeaf()
    {
        if (!hugeLeaves)
        {
            hugeLeaves = true;
        }
    }

    /** Whether a 2 MiB leaf was ever mapped here (fork passes it on with the leaves it copies). */
    boolean mappedHugeLeaves()
    {
        return hugeLeaves;
    }

    /** transparent_hugepage/use_zero_page: whether a read fault may map the huge zero page. */
    public boolean thpUseZeroPage()
    {
        return thpUseZeroPage;
    }

    public AddressSpace thpUseZeroPage(final boolean use)
    {
        this.thpUseZeroPage = use;
        return this;
    }

    public LockingMode locking()
    {
        return locking;
    }

    public long section()
    {
        return section;
    }

    boolean perVma()
    {
        return locking == LockingMode.PER_VMA;
    }

    /** The one way a writer starts and ends here. */
    RangeLock rangeLock()
    {
        return rangeLock;
    }

    /**
     * Whether every fault reads the clock twice, for the fault-latency histogram and (mmap-lock
     * mode) the mmap-lock read hold: on by default. The two clock reads can be most of the cost of
     * a fault that finds its table in the cache (bench/README.md, "Timing every fault"), so a run
     * that wants only counts and throughput (populating terabytes through faults) turns it off; the
     * histograms then stay empty. Counters are kept either way. Takes effect for faults that start
     * after the call.
     */
    public void timeFaults(final boolean on)
    {
        faultTiming = on;
    }

    boolean timesFaults()
    {
        return faultTiming;
    }

    /** The counters and histograms of every CPU that ran here; exact when the CPUs are quiescent. */
    public MmStats stats()
    {
        return MmStats.sum(allStats);
    }

    void register(final CpuStats stats)
    {
        allStats.add(stats);
    }

    /** A new emulated CPU for the calling thread; close it when the thread is done. */
    public Cpu attachCpu()
    {
        synchronized (cpuLock)
        {
            if (closed)
            {
                throw new IllegalStateException("address space is closed");
            }
            return addCpu();
        }
    }

    /** Caller holds cpuLock. */
    private Cpu addCpu()
    {
        assert Thread.holdsLock(cpuLock);
        final Cpu cpu = new Cpu(this, nextCpuId++);
        final Cpu[] next = Arrays.copyOf(cpus, cpus.length + 1);
        next[next.length - 1] = cpu;
        cpus = next;
        return cpu;
    }

    void detach(final Cpu cpu)
    {
        synchronized (cpuLock)
        {
            final Cpu[] current = cpus;
            final List<Cpu> rest = new ArrayList<>(current.length);
            for (final Cpu c : current)
            {
                if (c != cpu)
                {
                    rest.add(c);
                }
            }
            cpus = rest.toArray(new Cpu[0]);
        }
    }

    /** {@code file}'s mappers now count this process (until it exits). */
    void joinedFile(final MappedFile file)
    {
        mappedFiles.add(file);
    }

    /** {@code root}'s family now counts this process a member (until it exits). */
    void joinedAnonVma(final AnonVma root)
    {
        anonRoots.add(root);
    }

    Cpu[] cpus()
    {
        return cpus;
    }

    public PhysicalMemory memory()
    {
        return memory;
    }

    /** The CR3 word: the root table's physical address (a PML4, or a PML5 with LA57 in bit 0: {@link PagingMode}). */
    public long cr3()
    {
        return cr3;
    }

    /** Page-table levels: 4, or 5 (LA57). */
    public int paging()
    {
        return kernel.paging();
    }

    /** TASK_SIZE: {@link #TASK_SIZE} with four levels, {@link #TASK_SIZE_LA57} with five. */
    public long taskSize()
    {
        return taskSize;
    }

    VmaTree tree()
    {
        // acquire: pairs with publish's release store, so a lockless reader sees the tree it loads fully built
        return (VmaTree)TREE.getAcquire(this);
    }

    void publish(final VmaTree next)
    {
        assert rangeLock.holdsTree();
        // release store: a lockless reader that loads the new tree sees fully built chunks and VMAs
        TREE.setRelease(this, next);
    }

    /**
     * Publishes a tree with VMAs {@code [from, to)} replaced by {@code with}; keeps the mapped
     * use counts; retires the old VMAs (their waiting faults wake and look up again). Every old
     * VMA must have been {@linkplain RangeLock#lockVma drained} or be this writer's own locked one.
     * Caller holds the mmap write lock.
     */
    void replace(final Cpu cpu, final int from, final int to, final Vma... with)
    {
        assert rangeLock.holdsTree();
        final VmaTree tree = tree();
        final Vma[] old = new Vma[to - from];
        long accounted = 0;
        long pages = 0;
        for (int i = from; i < to; i++)
        {
            old[i - from] = tree.get(i);
            assert !perVma() || old[i - from].isLocked() : "replacing an undrained " + old[i - from];
            accounted -= old[i - from].accountedPages();
            pages -= old[i - from].pages();
        }
        for (final Vma vma : with)
        {
            if (vma.file != null)
            {
                vma.file.inode().addUser();
                // i_mmap: before a fault can map a page of it here, reclaim's rmap must find this process
                vma.file.inode().addMapper(this);
            }
            accounted += vma.accountedPages();
            pages += vma.pages();
            if (hugeLeaves)
            {
                // vma_adjust_trans_huge: no 2 MiB leaf may straddle a VMA boundary (the old VMAs are locked)
                HugeMemory.splitAcross(cpu, vma.start);
                HugeMemory.splitAcross(cpu, vma.end);
            }
        }
        account(cpu, accounted);
        totalVm += pages;
        HugetlbReservations.unmapped(this, old, with);
        publish(tree.replace(from, to, with));
        for (final Vma vma : old)
        {
            if (vma.file != null)
            {
                vma.file.inode().removeUser(memory, housekeeping);
            }
            rangeLock.retire(cpu, vma);
        }
    }

    /**
     * The commitment follows the tree: VM_ACCOUNT pages that arrive use up the writer's reserve
     * ({@link #charge}) first, and are charged without asking beyond it (pages that move from
     * one VMA to another, exec's and fork's layouts); pages that leave are uncharged (munmap, a
     * move's source, mprotect dropping VM_ACCOUNT). Caller holds the mmap write lock.
     */
    private void account(final Cpu cpu, final long delta)
    {
        if (delta > 0)
        {
            final long reserved = Math.min(delta, cpu.commitReserve);
            cpu.commitReserve -= reserved;
            commitment.account(delta - reserved);
        }
        else if (delta < 0)
        {
            commitment.unaccount(-delta);
        }
        accountedPages += delta;
    }

    /** Takes the mmap lock for a fault (mmap-lock mode); a CPU that has to wait goes offline meanwhile. */
    void lockRead(final Cpu cpu)
    {
        rangeLock.lockShared(cpu);
    }

    void unlockRead()
    {
        rangeLock.unlockShared();
    }

    // ---------------------------------------------------------------- program break

    /** mm->start_brk: where the heap starts (0: no heap, as in an address space no exec set up). */
    public long startBrk()
    {
        return startBrk;
    }

    /** mm->brk: the current program break. */
    public long brk()
    {
        return brk;
    }

    /**
     * Sets both ends of the heap, as exec does (start_brk = brk = the end of the bss), or as a maps
     * file with a [heap] line shows them. Not a syscall: see {@link Cpu#brk}.
     */
    public void setBrk(final long start, final long current)
    {
        if (Long.compareUnsigned(current, start) < 0 || Long.compareUnsigned(current, taskSize) > 0)
        {
            throw new IllegalArgumentException(String.format("break 0x%x below its start 0x%x or above TASK_SIZE", current, start));
        }
        startBrk = start;
        brk = current;
    }

    /** brk's own update; caller holds the mmap write lock. */
    void setBrk(final long current)
    {
        assert rangeLock.holdsTree();
        brk = current;
    }

    /** Shows (or hides) the [vsyscall] page on maps, as a process of a kernel with vsyscall=xonly has it. */
    public void showVsyscall(final boolean shown)
    {
        vsyscall = shown;
    }

    // ---------------------------------------------------------------- exec and fork

    /**
     * Installs one VMA as exec (or a /proc/PID/maps file describing a process) leaves it: not a
     * syscall, no merging, nothing faulted. The range must be free.
     *
     * @param flags   {@link VmFlags} bits
     * @param pgoff   file offset in pages (anonymous memory: ignored, start &gt;&gt; 12 is used)
     * @param file    the file mapped, or null
     * @param name    a special mapping's name ([stack], [vdso], [vvar]...), or null
     * @param faulted whether it has an anon_vma (pages were written: stack, data, bss)
     */
    public void install(final long start, final long end, final int flags, final long pgoff, final OpenFile file,
        final String name, final boolean faulted)
    {
        if ((start & 4095) != 0 || (end & 4095) != 0 || Long.compareUnsigned(start, end) >= 0 ||
            Long.compareUnsigned(end, taskSize) > 0)
        {
            throw new IllegalArgumentException(String.format("bad VMA range %x-%x", start, end));
        }
        final Cpu cpu = attachCpu();
        rangeLock.acquire(cpu, start, end);
        try
        {
            final Vma clash = tree().find(start);
            if (clash != null && clash.start < end)
            {
                throw new IllegalArgumentException(String.format("VMA %x-%x overlaps %s", start, end, clash));
            }
            final AnonVma anon = faulted ? new AnonVma() : null;
            if (anon != null)
            {
                anon.addMember(this);
            }
            VmaEditor.insertDistinct(cpu, new Vma(start, end, flags, file == null ? start >>> 12 : pgoff, file, name,
                anon), false);
        }
        finally
        {
            rangeLock.release(cpu);
            cpu.close();
        }
    }

    /**
     * fork into an address space the caller made (a replay's fork event, a test): this empty
     * address space becomes a copy of {@code parent}'s as {@link Cpu#fork} makes it. {@code parent}
     * is the calling thread's CPU in the parent (so that it answers nothing else meanwhile: a CPU
     * attached for the copy would wait for it to acknowledge the parent's TLB flush). Returns false
     * (ENOMEM) when memory ran out; this address space is then empty.
     */
    public boolean forkFrom(final Cpu parent)
    {
        return Fork.dupMmap(parent, this);
    }

    /** Whether maps shows the [vsyscall] page (what fork passes on). */
    public boolean showsVsyscall()
    {
        return vsyscall;
    }

    // ---------------------------------------------------------------- views

    /** What an observer does under the mmap lock ({@link #observe}). */
    @FunctionalInterface
    public interface Observer<T, X extends Exception>
    {
        T run() throws X;
    }

    /**
     * Runs {@code observer} holding the mmap lock — for writing if {@code exclusive}, else for
     * reading — with {@code cpu} (the calling thread's) offline throughout: for views that read
     * the VMAs and tables directly while other CPUs run (/proc's maps and smaps, ptdump, dumps).
     * The observer makes no access through a CPU and waits for nothing, so holding the lock it
     * cannot deadlock, and shootdowns need not wait for its CPU, whose next access brings it back
     * online with an empty TLB. Shared-lock holders may free page tables (a sectioned unmap's
     * second half), so an observer that walks tables must be {@code exclusive}, as Linux's ptdump
     * takes mmap_write_lock; per-VMA faults and a sectioned unmap's or MAP_FIXED's zap still run.
     */
    public <T, X extends Exception> T observe(final Cpu cpu, final boolean exclusive, final Observer<T, X> observer) throws X
    {
        if (cpu.mm != this)
        {
            throw new IllegalArgumentException("the observer's CPU belongs to another address space");
        }
        cpu.offline();
        if (exclusive)
        {
            rangeLock.lockTree(cpu);
        }
        else
        {
            rangeLock.lockShared(cpu);
        }
        // taking the lock after waiting for it brought the CPU back online
        cpu.offline();
        final long locked = System.nanoTime();
        try
        {
            return observer.run();
        }
        finally
        {
            if (exclusive)
            {
                rangeLock.unlockTree(cpu);
            }
            else
            {
                rangeLock.unlockShared();
                CpuStats.record(cpu.stats.mmapReadHold, System.nanoTime() - locked);
            }
        }
    }

    /**
     * The VMAs in address order (a consistent snapshot), then the [vsyscall] gate page when shown:
     * it lies above TASK_SIZE, in no tree, and nothing can map, unmap or change it.
     */
    public List<VmaInfo> vmas()
    {
        final Vma[] all = tree().toArray();
        final List<VmaInfo> out = new ArrayList<>(all.length + 1);
        final long start = startBrk;
        final long current = brk;
        for (final Vma vma : all)
        {
            out.add(vma.info(start, current));
        }
        if (vsyscall)
        {
            out.add(VSYSCALL);
        }
        return out;
    }

    /**
     * Which of the VMAs in the tree share an anon_vma, in {@link #vmas()}'s order (the [vsyscall]
     * page left out; the same VMAs when nothing changed them in between): per VMA, -1 for none,
     * else the index of the first VMA that has the same one. {@link VmaInfo#hasAnonVma} says
     * whether a VMA has one; which one decides later merges too (is_mergeable_anon_vma: two
     * different ones never merge), and this says it without an identity that differs between two
     * address spaces built alike.
     */
    public int[] anonVmaSharing()
    {
        final Vma[] all = tree().toArray();
        final int[] sharing = new int[all.length];
        for (int i = 0; i < all.length; i++)
        {
            final AnonVma anon = all[i].anonVma();
            sharing[i] = -1;
            for (int j = 0; j <= i && anon != null; j++)
            {
                if (all[j].anonVma() == anon)
                {
                    sharing[i] = j;
                    break;
                }
            }
        }
        return sharing;
    }

    /** The vsyscall page as maps shows it (vsyscall=xonly, Linux's default): execute-only, no backing. */
    public static final VmaInfo VSYSCALL = new VmaInfo(0xffffffffff600000L, 0xffffffffff601000L,
        VmFlags.VM_EXEC, 0, "[vsyscall]", true, 0, 0, false);

    public int mapCount()
    {
        return tree().size();
    }

    /**
     * The 64-bit /proc/PID/pagemap word for the page containing {@code va}, as an unprivileged
     * reader sees it (PFN bits zero): bit 63 present, 62 swapped, 61 file page or shared
     * anonymous, 56 exclusively mapped, 55 soft-dirty. Computed from the tables and frame
     * metadata as fs/proc/task_mmu.c's pagemap_pte_range does.
     */
    public long pagemap(final long va)
    {
        final Vma vma = tree().lookup(va);
        if (vma == null)
        {
            return 0;
        }
        final PageWalker walker = new PageWalker(memory, housekeeping);
        final int status = walker.walk(cr3, va);
        final long e = status == PageWalker.WALK_PTE || status == PageWalker.WALK_LARGE ? walker.entry() : 0;
        final long pfn = PageTableEntry.isMapped(e) ?
            (PageTableEntry.leafAddress(e, walker.level()) >>> 12) + ((va & (PageTableEntry.coverage(walker.level()) - 1)) >>> 12) : 0;
        if (status == PageWalker.WALK_LARGE && memory.isHugeZeroPage(pfn))
        {
            return Pagemap.hugeZeroWord(vma.flags, kernel.softDirty(), e);
        }
        final long head = PageTableEntry.leafAddress(e, walker.level()) >>> 12;
        final boolean exclusive = status == PageWalker.WALK_LARGE && walker.level() == PageTableEntry.LEVEL_PMD
            && pfn != 0 && memory.isBacked(pfn) && !memory.isHugetlb(head)
            ? !hugeFolioShared(head)
            : pfn != 0 && (!memory.isBacked(pfn) || memory.mapcount(pfn) == 1);
        return Pagemap.word(vma.flags, kernel.softDirty(), e, pfn == memory.zeroPagePfn(), exclusive);
    }

    /**
     * pagemap_pmd_range's folio_maybe_mapped_shared: a PMD-mapped huge page is exclusive only while
     * no other mapping holds any of its subpages (after fork, the child's split and partly copied
     * leaf still shares the rest, and so every page of the parent's leaf is shared).
     */
    private boolean hugeFolioShared(final long head)
    {
        for (long pfn = head; pfn < head + PhysicalMemory.HUGE_FRAMES; pfn++)
        {
            if (memory.mapcount(pfn) > 1)
            {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs the invariant checker over this address space: the page-table structure and frame
     * accounting ({@link PageTableChecker}), and that every mapped PTE lies inside a VMA whose
     * protection allows it (present only where the VMA is accessible, writable only where it has
     * VM_WRITE, PROT_NONE only where it has no access, and in a private VMA writable only over an
     * exclusive anonymous page), and that the commitment and total_vm counted as the tree changed
     * are those of the VMAs. Run it at a quiescent point.
     */
    public PageTableChecker.Result check(final boolean accounting)
    {
        return checkAll(accounting, this);
    }

    /**
     * {@link #check} over address spaces that share one physical memory and may share frames
     * (parents and the children they forked): a shared frame's mapcount counts the entries of all of
     * them, so they are checked together; with {@code accounting} they must be every address space
     * of that memory.
     */
    public static PageTableChecker.Result checkAll(final boolean accounting, final AddressSpace... spaces)
    {
        final long[] roots = new long[spaces.length];
        final PageTableChecker.LeafVisitor[] visitors = new PageTableChecker.LeafVisitor[spaces.length];
        final List<String> lruViolations = new ArrayList<>();
        // with accounting the caller promises quiescence (no page isolated by reclaim): the LRU is checked too
        if (accounting && spaces.length > 0)
        {
            // every CPU is idle: the pages in their add batches join the lists (and those freed there are freed)
            spaces[0].memory.drainAddBatches();
        }
        final LruCheck lru = accounting && spaces.length > 0 ? new LruCheck(spaces[0].memory, lruViolations) : null;
        for (int i = 0; i < spaces.length; i++)
        {
            if (spaces[i].memory != spaces[0].memory)
            {
                throw new IllegalArgumentException("address spaces of different physical memories");
            }
            roots[i] = spaces[i].cr3;
            visitors[i] = spaces[i].leafChecker(lru);
        }
        final PageTableChecker.Result tables = PageTableChecker.check(spaces[0].memory, accounting, roots, visitors,
            HugetlbFile.cachedHeads(spaces), MappedFile.cachedFrames(spaces));
        final List<String> violations = new ArrayList<>(tables.violations());
        violations.addAll(lruViolations);
        for (final AddressSpace space : spaces)
        {
            space.checkCommitment(violations);
        }
        return violations.size() == tables.violations().size() ? tables :
            new PageTableChecker.Result(List.copyOf(violations), tables.tables(), tables.dataFrames(), tables.leaves());
    }

    /** That the commitment and total_vm counted as the tree changed are those of its VMAs. */
    private void checkCommitment(final List<String> violations)
    {
        long accounted = 0;
        long pages = 0;
        for (final Vma vma : tree().toArray())
        {
            accounted += vma.accountedPages();
            pages += vma.pages();
        }
        if (accounted != accountedPages || pages != totalVm)
        {
            violations.add(String.format("the VMAs commit %d pages and span %d, but the address space counted %d and %d",
                accounted, pages, accountedPages, totalVm));
        }
    }

    /** That every mapped leaf lies in a VMA whose protection allows it, and (with {@code lru}) is on the LRU. */
    private PageTableChecker.LeafVisitor leafChecker(final LruCheck lru)
    {
        final VmaTree snapshot = tree();
        return (va, entry, level, violations) ->
        {
            final Vma vma = snapshot.lookup(va);
            if (vma == null)
            {
                violations.add(String.format("entry 0x%x maps 0x%x outside every VMA", entry, va));
                return;
            }
            if (lru != null && PageTableEntry.isPresent(entry))
            {
                lru.leaf(vma, va, entry, level, violations);
            }
            if (PageTableEntry.isPresent(entry) && !vma.isAccessible())
            {
                violations.add(String.format("present entry 0x%x at 0x%x in inaccessible %s", entry, va, vma));
            }
            else if (PageTableEntry.isWritable(entry) && (vma.flags & VmFlags.VM_WRITE) == 0)
            {
                violations.add(String.format("writable entry 0x%x at 0x%x in %s without VM_WRITE", entry, va, vma));
            }
            else if (PageTableEntry.isProtNone(entry) && vma.isAccessible())
            {
                violations.add(String.format("PROT_NONE entry 0x%x at 0x%x in accessible %s", entry, va, vma));
            }
            else if (PageTableEntry.isWritable(entry) && !vma.isShared() && level == PageTableEntry.LEVEL_PTE &&
                !memory.isAnonExclusive(PageTableEntry.pfn(entry)))
            {
                // copy on write: a private mapping writes only pages no other entry maps
                violations.add(String.format("writable entry 0x%x at 0x%x in private %s maps a page it does not own alone",
                    entry, va, vma));
            }
        };
    }

    /** Frees every mapping, table and the root. The CPUs must be closed. */
    @Override
    public void close()
    {
        final Cpu cpu;
        synchronized (cpuLock)
        {
            if (closed)
            {
                return;
            }
            closed = true;
            cpu = addCpu();
        }
        try
        {
            cpu.munmap(0, taskSize);
            // after the unmap: this process maps nothing of any family any more
            for (final AnonVma root : anonRoots)
            {
                root.removeMember(this);
            }
            anonRoots.clear();
            for (final MappedFile file : mappedFiles)
            {
                file.removeMapper(this);
            }
            mappedFiles.clear();
            final MmuGather gather = new MmuGather(memory, housekeeping);
            housekeepingEditor.freeTables(cr3, 0, taskSize, 0, 0, gather);
            gather.finish();
            housekeepingEditor.freeRoot(cr3);
        }
        finally
        {
            cpu.close();
            memory.retireCache(housekeeping);
            machine.oomKiller().unregister(this);
        }
    }
}
