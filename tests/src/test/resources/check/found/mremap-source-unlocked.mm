# mmemu check: no sequential order of the operations gives the results this run recorded
# per-vma, full, section 16384; 13 ops in 2 threads (shrunk from 23 ops in 4 threads);
# 2 of 200 runs of this program failed (of the program as generated: 2). Each op's comment: its result in the failing run
# and its interval [call ticket, return ticket] (A before B in real time iff A returned < B called).
option locking per-vma
option backing full
option section 16384
# mmemu check: heap at 0x7ffff7fcf000
# (mmemu check sets the heap's start as exec would; mmemu run starts without a heap,
# so there brk returns 0)
mmap(0x7ffff7fec000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7fec000 [call 0, return 1]
mmap(0x7ffff7ff9000, 4096, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7ff9000 [call 2, return 3]
mmap(0x7ffff7fd4000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7fd4000 [call 4, return 5]
mmap(0x7ffff7ff8000, 4096, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7ff8000 [call 6, return 7]
mmap(0x7ffff7ff0000, 4096, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7ff0000 [call 8, return 9]
thread t0 {
    wait go
    touch(0x7ffff7fec000, 1, PROT_READ)                                  # = read 0x00 [call 11, return 12]
    touch(0x7ffff7fec800, 1, PROT_WRITE) value 3                         # = written [call 13, return 14]
    touch(0x7ffff7fec000, 1, PROT_WRITE) value 4                         # = written [call 15, return 16]
    touch(0x7ffff7fec000, 1, PROT_READ)                                  # = read 0x00 [call 17, return 18]
}
thread t1 {
    wait go
    mremap(0x7ffff7fec000, 4096, 12288, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7fd4000) # = 0x7ffff7fd4000 [call 10, return 19]
    brk(0x7ffff7fe1064)                                                  # = 0x7ffff7fcf000 [call 20, return 21]
    touch(0x7ffff7ff8000, 1, PROT_READ)                                  # = read 0x00 [call 22, return 23]
    mmap(0x7ffff7ff8000, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0) # = -1 EEXIST (File exists) [call 24, return 25]
}
post go
