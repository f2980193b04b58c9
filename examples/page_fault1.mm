# page_fault1.mm -- will-it-scale's page_fault1: every thread maps 128 MiB of private anonymous
# memory, writes one byte per page (a page fault each), unmaps it, and again, for TIME. Threads
# work on disjoint VMAs, so with per-VMA locks faults scale with threads; with the mmap lock each
# munmap stalls every other thread's faults. Compare faults/s and the lock holds:
#
#   ./mmemu run examples/page_fault1.mm
#   ./mmemu run examples/page_fault1.mm --locking mmap-lock
#   ./mmemu run examples/page_fault1.mm --threads 1      # the one-thread baseline
#   ./mmemu run examples/page_fault1.mm --compare        # and on the host kernel, side by side
#
# Default: 4 threads (--threads), 128 MiB each, 5 s, tables-only memory.

option physmem 16G
option backing tables-only

param CHUNK = 128M
param TIME = 5s

parallel {
    for TIME {
        a = mmap(NULL, CHUNK, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
        touch(a, CHUNK, PROT_WRITE) expect ok
        munmap(a, CHUNK) expect ok
    }
}
