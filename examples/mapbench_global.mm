# mapbench_global.mm -- RadixVM's mapbench, global pattern: all threads map and unmap pages of
# one shared region and every thread touches every page of it, so every unmap must shoot down
# the TLBs of all the others. Each round: each thread maps its PAGES pages, all read the whole
# region (nothing may fault with a signal), then each unmaps its own.
#
#   ./mmemu run examples/mapbench_global.mm
#   ./mmemu run examples/mapbench_global.mm --locking mmap-lock
#   ./mmemu run examples/mapbench_global.mm --compare           # and on the host kernel, side by side
#
# Default: 4 threads (--threads), 16 pages each, 4000 rounds, tables-only memory.

option physmem 8G
option backing tables-only

param PAGES = 16
param ROUNDS = 4000     # rounds, not a time: every thread must do as many, for the barriers
param BASE = 0x3c0000000000

parallel {
    mine = BASE + tid * PAGES * 4K
    repeat ROUNDS {
        mmap(mine, PAGES * 4K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect value mine
        touch(mine, PAGES * 4K, PROT_WRITE) expect ok
        barrier
        touch(BASE, nthreads * PAGES * 4K, PROT_READ) expect ok
        barrier
        munmap(mine, PAGES * 4K) expect ok
        barrier
    }
}
