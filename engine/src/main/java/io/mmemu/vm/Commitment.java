package io.mmemu.vm;

import java.util.concurrent.atomic.AtomicLong;

import io.mmemu.phys.PhysicalMemory;

/**
 * The machine's memory commitment: {@code vm_committed_as} (meminfo's Committed_AS) and the
 * overcommit policy that decides whether a new commitment is allowed (mm/util.c's
 * {@code __vm_enough_memory}). One per emulated machine, shared by every address space on it
 * (a forked child's included): the kernel's counter is global.
 * <p>
 * What is committed: the pages of every VM_ACCOUNT VMA (private writable mappings not made with
 * MAP_NORESERVE, the heap, the stack; mprotect adds and removes the flag), charged and uncharged
 * by {@link AddressSpace} as its tree changes, and the size of every shmem object of a shared
 * anonymous mapping without MAP_NORESERVE, uncharged when the object dies.
 * <p>
 * Concurrency: the counter is one atomic word (the kernel's is a per-CPU counter, read
 * approximately; this one is exact). A check adds first and takes back on refusal, as the kernel
 * does, so two concurrent checks never both pass where the sum would not.
 */
public final class Commitment
{
    /** sysctl_user_reserve_kbytes' cap: 128 MiB. */
    private static final long USER_RESERVE_CAP_KB = 1L << 17;
    /** sysctl_admin_reserve_kbytes' cap: 8 MiB. */
    private static final long ADMIN_RESERVE_CAP_KB = 1L << 13;
    private static final int KB_PER_PAGE_SHIFT = PhysicalMemory.PAGE_SHIFT - 10;

    private final Overcommit policy;
    private final long totalRamPages;
    private final long userReservePages;
    private final long adminReservePages;
    /** total_swap_pages: 0 until a swap area is added. */
    private volatile long swapPages;
    /** vm_committed_as, pages. */
    private final AtomicLong committed = new AtomicLong();
    /** The highest value {@link #committed} has had. */
    private final AtomicLong peak = new AtomicLong();

    /**
     * The commitment of a machine with {@code memory} as its RAM. The reserves are set as at boot
     * (init_user_reserve, init_admin_reserve): min(free/32, 128 MiB) and min(free/32, 8 MiB), the
     * machine's memory taken as free; its swap area, if it has one, is total_swap_pages.
     */
    public Commitment(final PhysicalMemory memory, final Overcommit policy)
    {
        this(memory.totalFrames(), policy);
        if (memory.swap() != null)
        {
            setSwapPages(memory.swap().totalPages());
        }
    }

    /** As {@link #Commitment(PhysicalMemory, Overcommit)} for a machine of {@code totalRamPages} pages. */
    public Commitment(final long totalRamPages, final Overcommit policy)
    {
        this.policy = java.util.Objects.requireNonNull(policy, "policy");
        this.totalRamPages = totalRamPages;
        final long freeKb = totalRamPages << KB_PER_PAGE_SHIFT;
        this.userReservePages = Math.min(freeKb / 32, USER_RESERVE_CAP_KB) >> KB_PER_PAGE_SHIFT;
        this.adminReservePages = Math.min(freeKb / 32, ADMIN_RESERVE_CAP_KB) >> KB_PER_PAGE_SHIFT;
    }

    public Overcommit policy()
    {
        return policy;
    }

    /** totalram_pages. */
    public long totalRamPages()
    {
        return totalRamPages;
    }

    /** total_swap_pages. */
    public long swapPages()
    {
        return swapPages;
    }

    /** Sets total_swap_pages (swapon). */
    public void setSwapPages(final long pages)
    {
        if (pages < 0)
        {
            throw new IllegalArgumentException("swap pages must not be negative: " + pages);
        }
        swapPages = pages;
    }

    /** Committed_AS in pages (never negative, as vm_memory_committed reads it). */
    public long committedPages()
    {
        return Math.max(0, committed.get());
    }

    /** The highest Committed_AS so far, pages. */
    public long committedPeakPages()
    {
        return peak.get();
    }

    /** vm_commit_limit: meminfo's CommitLimit, pages (no hugetlb pool here). */
    public long commitLimitPages()
    {
        final long allowed = policy.kbytes() != 0 ? policy.kbytes() >> KB_PER_PAGE_SHIFT :
            totalRamPages * policy.ratio() / 100;
        return allowed + swapPages;
    }

    /**
     * __vm_enough_memory for an unprivileged process: charges {@code pages} and keeps the charge
     * when the policy allows it; otherwise takes it back and returns false (the caller's -ENOMEM).
     * A charge of 0 pages is a check: strict mode refuses it once the commitment has reached the
     * limit, as the kernel does.
     *
     * @param totalVm the caller's mm->total_vm, pages (strict mode keeps 1/32 of it in reserve, up to user_reserve_kbytes)
     */
    public boolean enoughMemory(final long totalVm, final long pages)
    {
        assert pages >= 0 : pages;
        // vm_acct_memory first (a volatile add: a concurrent check sees this charge), then the policy
        final long now = committed.addAndGet(pages);
        switch (policy.mode())
        {
            case Overcommit.ALWAYS ->
            {
                return raised(now);
            }
            case Overcommit.GUESS ->
            {
                if (pages <= totalRamPages + swapPages)
                {
                    return raised(now);
                }
            }
            default ->
            {
                long allowed = commitLimitPages();
                // reserve some for root: the emulated process is not CAP_SYS_ADMIN
                allowed -= adminReservePages;
                // don't let a single process grow so big a user can't recover
                allowed -= Math.min(totalVm / 32, userReservePages);
                if (Math.max(0, now) < allowed)
                {
                    return raised(now);
                }
            }
        }
        committed.addAndGet(-pages);
        return false;
    }

    /** vm_acct_memory: charges without asking (a commitment made before, moving between VMAs). */
    void account(final long pages)
    {
        raised(committed.addAndGet(pages));
    }

    /** Keeps the peak; true, for the checks that let a charge stand. */
    private boolean raised(final long now)
    {
        peak.accumulateAndGet(now, Math::max);
        return true;
    }

    /** vm_unacct_memory. */
    void unaccount(final long pages)
    {
        committed.addAndGet(-pages);
    }
}
