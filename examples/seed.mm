# seed.mm -- the seed's story: unmapping a large mapping by section (Wilcox's reply to the 2018
# RFC "unmap large mapping by section"; issue 6).
#
# A large mapping is populated by THREADS threads. Then one thread replaces its second quarter
# with a MAP_FIXED mapping and unmaps its second half, while the other threads keep faulting all
# over both parts. What must hold, in both locking modes:
#   - the replaced part never raises SIGSEGV: a fault that meets the MAP_FIXED in progress waits
#     for it and lands in the new mapping (with per-VMA locks it waits on the VMA's completion:
#     fault_waits > 0 in the report);
#   - the unmapped part raises SIGSEGV SEGV_MAPERR once munmap has returned;
#   - after the replacement, its pages read as zero, never the old data (checked with full backing;
#     with tables-only backing every data page reads as zero anyway).
#
#   ./mmemu run examples/seed.mm                       # per-vma locks, the default
#   ./mmemu run examples/seed.mm --locking mmap-lock   # Linux before per-VMA locks
#   ./mmemu run examples/seed.mm --set SIZE=256M --backing full --physmem 1G   # small, real data
#   ./mmemu run examples/seed.mm --compare --set SIZE=4G   # and on the host kernel, side by side
#
# On the host kernel (--host, --compare) every populated page is real memory: at its default size
# (64 GiB written) it is refused there unless the host has that much; set SIZE below its memory.
#
# Default size: 64 GiB of tables-only memory (128 MiB of real page tables), under a minute.

option physmem 128G
option backing tables-only
param SIZE = 64G        # the large mapping
param THREADS = 2       # faulting threads
param PROBES = 512      # random touches per part per round while the mapping changes

big = mmap(NULL, SIZE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) expect ok
quarter = SIZE / 4
replaced = big + quarter        # second quarter: replaced by MAP_FIXED
unmapped = big + 2 * quarter    # second half: unmapped

# 1. Populate every page, each thread its own slice; pages hold 0x5a.
parallel THREADS {
    touch(big + tid * (SIZE / nthreads), SIZE / nthreads, PROT_WRITE) value 0x5a expect ok
}

# 2. The changer replaces and unmaps while the faulters fault on both parts.
thread changer {
    wait faulting
    mmap(replaced, quarter, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED|MAP_NORESERVE, -1, 0) expect value replaced
    munmap(unmapped, 2 * quarter) expect ok
    post changed
}
parallel THREADS {
    post faulting
    until changed {
        touch(replaced, quarter, PROT_READ) random PROBES expect ok
        touch(unmapped, 2 * quarter, PROT_READ) random PROBES expect ok or SIGSEGV SEGV_MAPERR
    }
    # 3. Afterwards: the replacement is fresh memory, the unmapped half is gone.
    touch(replaced, quarter, PROT_READ) random PROBES value 0 expect ok
    touch(unmapped, 2 * quarter, PROT_READ) random PROBES expect SIGSEGV SEGV_MAPERR
}
