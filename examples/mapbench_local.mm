# mapbench_local.mm -- RadixVM's mapbench, local pattern (Clements, Kaashoek, Zeldovich,
# "RadixVM: Scalable address spaces for multithreaded applications", EuroSys 2013): every thread
# maps, touches and unmaps pages in a region of its own, so nothing is shared but the address
# space. A design that scales shows faults/s growing with --threads.
#
#   ./mmemu run examples/mapbench_local.mm --threads 1
#   ./mmemu run examples/mapbench_local.mm --threads 4
#   ./mmemu run examples/mapbench_local.mm --threads 4 --locking mmap-lock
#   ./mmemu run examples/mapbench_local.mm --threads 4 --compare   # and on the host kernel
#
# Default: 4 threads (--threads), 64 pages a round, 5 s, tables-only memory.

option physmem 8G
option backing tables-only

param PAGES = 64
param TIME = 5s
param BASE = 0x300000000000

parallel {
    mine = BASE + tid * 1G
    for TIME {
        mmap(mine, PAGES * 4K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect value mine
        touch(mine, PAGES * 4K, PROT_WRITE) expect ok
        munmap(mine, PAGES * 4K) expect ok
    }
}
