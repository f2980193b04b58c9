# mmemu check: no sequential order of the operations gives the results this run recorded
# per-vma, full, section 4096, THP madvise; 11 ops in 2 threads (shrunk from 20 ops in 3 threads);
# 0 of 200 runs of this program failed (of the program as generated: 5). Each op's comment: its result in the failing run
# and its interval [call ticket, return ticket] (A before B in real time iff A returned < B called).
option locking per-vma
option backing full
option section 4096
option thp madvise
mmap(0x7ffff7a00000, 4194304, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7a00000 [call 0, return 1]
madvise(0x7ffff7a00000, 4194304, MADV_HUGEPAGE)                          # = 0 [call 2, return 3]
touch(0x7ffff7b26800, 1, PROT_WRITE) value 1                             # = written [call 4, return 5]
thread t0 {
    wait go
    mprotect(0x7ffff7bff000, 8192, PROT_NONE)                            # = 0 [call 6, return 12]
    mmap(0x7ffff7c00000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_POPULATE, -1, 0) # = 0x7ffff7c00000 [call 13, return 18]
}
thread t1 {
    wait go
    touch(0x7ffff7c00000, 1, PROT_WRITE) value 4                         # = SIGSEGV {si_code=SEGV_ACCERR, si_addr=0x7ffff7c00000} [call 7, return 8]
    touch(0x7ffff7bff800, 1, PROT_WRITE) value 5                         # = written [call 9, return 10]
    munmap(0x7ffff7bff000, 16384)                                        # = 0 [call 11, return 14]
    touch(0x7ffff7bff800, 1, PROT_READ)                                  # = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7bff800} [call 15, return 16]
    touch(0x7ffff7b53800, 1, PROT_WRITE) value 6                         # = written [call 17, return 19]
    mremap(0x7ffff7b78000, 4096, 8192, MREMAP_MAYMOVE)                   # = 0x7ffff7ffd000 [call 20, return 21]
}
post go
# the longest order of ops that explained its results:
#   setup op 0: mmap(0x7ffff7a00000, 4194304, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x7ffff7a00000 [call 0, return 1]
#   setup op 1: madvise(0x7ffff7a00000, 4194304, MADV_HUGEPAGE) = 0 [call 2, return 3]
#   setup op 2: touch(0x7ffff7b26800, 1, PROT_WRITE) value 1 = written [call 4, return 5]
#   t0 op 0: mprotect(0x7ffff7bff000, 8192, PROT_NONE) = 0 [call 6, return 12]
#   t1 op 0: touch(0x7ffff7c00000, 1, PROT_WRITE) value 4 = SIGSEGV {si_code=SEGV_ACCERR, si_addr=0x7ffff7c00000} [call 7, return 8]
# after which no op that may come next (minimal in real time) gives its recorded result:
#   t1 op 1: touch(0x7ffff7bff800, 1, PROT_WRITE) value 5 = written [call 9, return 10], but in this order: SIGSEGV {si_code=SEGV_ACCERR, si_addr=0x7ffff7bff800}
# the first failing run, before shrinking:
#   option locking per-vma
#   option backing full
#   option section 4096
#   option thp madvise
#   mmap(0x7ffff7a00000, 4194304, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7a00000 [call 0, return 1]
#   madvise(0x7ffff7a00000, 4194304, MADV_HUGEPAGE)                          # = 0 [call 2, return 3]
#   touch(0x7ffff7b26800, 1, PROT_WRITE) value 1                             # = written [call 4, return 5]
#   touch(0x7ffff7b26000, 1, PROT_WRITE) value 2                             # = written [call 6, return 7]
#   touch(0x7ffff7b26000, 1, PROT_WRITE) value 3                             # = written [call 8, return 9]
#   thread t0 {
#       wait go
#       mprotect(0x7ffff7bff000, 8192, PROT_NONE)                            # = 0 [call 10, return 16]
#       mmap(0x7ffff7c00000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_POPULATE, -1, 0) # = 0x7ffff7c00000 [call 17, return 31]
#       touch(0x7ffff7db5800, 1, PROT_READ)                                  # = read 0x00 [call 32, return 33]
#       mmap(0x7ffff7c00000, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7c00000 [call 34, return 35]
#       touch(0x7ffff7c00800, 1, PROT_READ)                                  # = read 0x00 [call 36, return 37]
#       touch(0x7ffff7c00000, 1, PROT_READ)                                  # = read 0x00 [call 38, return 39]
#   }
#   thread t1 {
#       wait go
#       touch(0x7ffff7c00000, 1, PROT_WRITE) value 4                         # = SIGSEGV {si_code=SEGV_ACCERR, si_addr=0x7ffff7c00000} [call 11, return 12]
#       touch(0x7ffff7bff800, 1, PROT_WRITE) value 5                         # = written [call 13, return 14]
#       munmap(0x7ffff7bff000, 16384)                                        # = 0 [call 15, return 18]
#       touch(0x7ffff7bff800, 1, PROT_READ)                                  # = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7bff800} [call 19, return 20]
#       touch(0x7ffff7b53800, 1, PROT_WRITE) value 6                         # = written [call 21, return 22]
#       mremap(0x7ffff7b78000, 4096, 8192, MREMAP_MAYMOVE)                   # = 0x7ffff7ffd000 [call 23, return 24]
#   }
#   thread t2 {
#       wait go
#       madvise(0x7ffff7c00000, 2097152, MADV_COLLAPSE)                      # = -1 EINVAL (Invalid argument) [call 25, return 26]
#       touch(0x7ffff7c00800, 1, PROT_WRITE) value 7                         # = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7c00800} [call 27, return 28]
#       madvise(0x7ffff7b3a000, 12288, MADV_POPULATE_READ)                   # = 0 [call 29, return 30]
#   }
#   post go
