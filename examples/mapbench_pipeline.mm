# mapbench_pipeline.mm -- RadixVM's mapbench, pipeline pattern: memory mapped by one thread is
# touched and unmapped by the next (a producer-consumer ring), so every unmap needs a TLB
# shootdown of the producer's CPU. Each round, thread t maps and fills its slot; after a barrier,
# it reads and unmaps the slot of thread t-1 (mod nthreads) and checks that it is gone.
#
#   ./mmemu run examples/mapbench_pipeline.mm
#   ./mmemu run examples/mapbench_pipeline.mm --locking mmap-lock
#   ./mmemu run examples/mapbench_pipeline.mm --compare           # and on the host kernel, side by side
#
# Default: 4 threads (--threads), 64 pages a slot, 4000 rounds, tables-only memory.

option physmem 8G
option backing tables-only

param PAGES = 64
param ROUNDS = 4000     # rounds, not a time: every thread must do as many, for the barriers
param BASE = 0x380000000000

parallel {
    mine = BASE + tid * 1G
    previous = BASE + (tid + nthreads - 1) % nthreads * 1G
    repeat ROUNDS {
        mmap(mine, PAGES * 4K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect value mine
        touch(mine, PAGES * 4K, PROT_WRITE) expect ok
        barrier
        touch(previous, PAGES * 4K, PROT_READ) expect ok
        munmap(previous, PAGES * 4K) expect ok
        touch(previous, PAGES * 4K, PROT_READ) expect SIGSEGV SEGV_MAPERR
        barrier
    }
}
