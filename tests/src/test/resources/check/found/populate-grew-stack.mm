# mmemu check: no sequential order of the operations gives the results this run recorded
# mmap-lock, tables-only, section 1073741824; 13 ops in 3 threads (shrunk from 17 ops in 4 threads);
# 2 of 200 runs of this program failed (of the program as generated: 2). Each op's comment: its result in the failing run
# and its interval [call ticket, return ticket] (A before B in real time iff A returned < B called).
option locking mmap-lock
option backing tables-only
option section 1073741824
# mmemu check: heap at 0x7ffff7fcf000
# (mmemu check sets the heap's start as exec would; mmemu run starts without a heap,
# so there brk returns 0)
mmap(0x7ffff7fdf000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_GROWSDOWN, -1, 0) # = 0x7ffff7fdf000 [call 0, return 1]
touch(0x7ffff7ff8000, 1, PROT_WRITE) value 1                             # = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7ff8000} [call 2, return 3]
thread t0 {
    wait go
    touch(0x7ffff7fed800, 1, PROT_READ)                                  # = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7fed800} [call 4, return 5]
    mmap(0x7ffff7fd7000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_POPULATE, -1, 0) # = 0x7ffff7fd7000 [call 7, return 13]
    mremap(0x7ffff7fd7000, 4096, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7fde000) # = 0x7ffff7fde000 [call 14, return 15]
}
thread t1 {
    wait go
    munmap(0x7ffff7fd2000, 4096)                                         # = 0 [call 16, return 17]
    touch(0x7ffff7fd2800, 1, PROT_WRITE) value 2                         # = written [call 18, return 19]
    touch(0x7ffff7fd2800, 1, PROT_READ)                                  # = read 0x00 [call 20, return 21]
    mprotect(0x7ffff7ff7000, 20480, PROT_NONE)                           # = -1 ENOMEM (Cannot allocate memory) [call 22, return 23]
    madvise(0x7ffff7fde000, 8192, MADV_POPULATE_READ)                    # = 0 [call 24, return 25]
}
thread t2 {
    wait go
    touch(0x7ffff7fd9000, 1, PROT_WRITE) value 3                         # = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7fd9000} [call 6, return 8]
    munmap(0x7ffff7fd2000, 53248)                                        # = 0 [call 9, return 10]
    brk(0x7ffff7fd5000)                                                  # = 0x7ffff7fcf000 [call 11, return 12]
}
post go
