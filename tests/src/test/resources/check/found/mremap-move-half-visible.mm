# mmemu check: no sequential order of the operations gives the results this run recorded
# per-vma, full, section 16384, THP madvise; 19 ops in 3 threads;
# 0 of 200 runs of this program failed. Each op's comment: its result in the failing run
# and its interval [call ticket, return ticket] (A before B in real time iff A returned < B called).
option locking per-vma
option backing full
option section 16384
option thp madvise
mmap(0x7ffff7a00000, 4194304, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7a00000 [call 0, return 1]
madvise(0x7ffff7a00000, 4194304, MADV_HUGEPAGE)                          # = 0 [call 2, return 3]
touch(0x7ffff7c00800, 1, PROT_WRITE) value 1                             # = written [call 4, return 5]
touch(0x7ffff7c00800, 1, PROT_WRITE) value 2                             # = written [call 6, return 7]
thread t0 {
    wait go
    mremap(0x7ffff7a00000, 2097152, 2097152, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7c00000) # = 0x7ffff7c00000 [call 11, return 31]
    munmap(0x7ffff7bff000, 40960)                                        # = 0 [call 32, return 33]
    touch(0x7ffff7bff800, 1, PROT_READ)                                  # = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7bff800} [call 34, return 35]
    mprotect(0x7ffff7adc000, 24576, PROT_NONE)                           # = -1 ENOMEM (Cannot allocate memory) [call 36, return 37]
}
thread t1 {
    wait go
    touch(0x7ffff7c00800, 1, PROT_READ)                                  # = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7c00800} [call 19, return 20]
    mmap(0x7ffff7d4c000, 4096, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_POPULATE, -1, 0) # = 0x7ffff7d4c000 [call 21, return 22]
    mprotect(0x7ffff7b34000, 4096, PROT_READ|PROT_WRITE)                 # = 0 [call 23, return 24]
    touch(0x7ffff7b34000, 1, PROT_WRITE) value 3                         # = written [call 25, return 26]
    touch(0x7ffff7c00000, 1, PROT_WRITE) value 4                         # = written [call 27, return 28]
    touch(0x7ffff7bff000, 1, PROT_READ)                                  # = read 0x00 [call 29, return 30]
}
thread t2 {
    wait go
    touch(0x7ffff7dc7000, 1, PROT_READ)                                  # = read 0x00 [call 8, return 9]
    mmap(0x7ffff7c9f000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_GROWSDOWN, -1, 0) # = 0x7ffff7c9f000 [call 10, return 12]
    mremap(0x7ffff7c00000, 2097152, 2097152, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7a00000) # = 0x7ffff7a00000 [call 13, return 14]
    touch(0x7ffff7adc800, 1, PROT_READ)                                  # = read 0x00 [call 15, return 16]
    touch(0x7ffff7dc7800, 1, PROT_WRITE) value 5                         # = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7dc7800} [call 17, return 18]
}
post go
# the longest order of ops that explained its results:
#   setup op 0: mmap(0x7ffff7a00000, 4194304, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x7ffff7a00000 [call 0, return 1]
#   setup op 1: madvise(0x7ffff7a00000, 4194304, MADV_HUGEPAGE) = 0 [call 2, return 3]
#   setup op 2: touch(0x7ffff7c00800, 1, PROT_WRITE) value 1 = written [call 4, return 5]
#   setup op 3: touch(0x7ffff7c00800, 1, PROT_WRITE) value 2 = written [call 6, return 7]
#   t2 op 0: touch(0x7ffff7dc7000, 1, PROT_READ) = read 0x00 [call 8, return 9]
#   t2 op 1: mmap(0x7ffff7c9f000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_GROWSDOWN, -1, 0) = 0x7ffff7c9f000 [call 10, return 12]
#   t2 op 2: mremap(0x7ffff7c00000, 2097152, 2097152, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7a00000) = 0x7ffff7a00000 [call 13, return 14]
#   t2 op 3: touch(0x7ffff7adc800, 1, PROT_READ) = read 0x00 [call 15, return 16]
#   t2 op 4: touch(0x7ffff7dc7800, 1, PROT_WRITE) value 5 = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7dc7800} [call 17, return 18]
#   t1 op 0: touch(0x7ffff7c00800, 1, PROT_READ) = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7c00800} [call 19, return 20]
#   t1 op 1: mmap(0x7ffff7d4c000, 4096, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_POPULATE, -1, 0) = 0x7ffff7d4c000 [call 21, return 22]
#   t1 op 2: mprotect(0x7ffff7b34000, 4096, PROT_READ|PROT_WRITE) = 0 [call 23, return 24]
#   t1 op 3: touch(0x7ffff7b34000, 1, PROT_WRITE) value 3 = written [call 25, return 26]
#   t0 op 0: mremap(0x7ffff7a00000, 2097152, 2097152, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7c00000) = 0x7ffff7c00000 [call 11, return 31]
#   t1 op 4: touch(0x7ffff7c00000, 1, PROT_WRITE) value 4 = written [call 27, return 28]
# after which no op that may come next (minimal in real time) gives its recorded result:
#   t1 op 5: touch(0x7ffff7bff000, 1, PROT_READ) = read 0x00 [call 29, return 30], but in this order: SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7bff000}
