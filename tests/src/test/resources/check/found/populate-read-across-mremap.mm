# mmemu check: no sequential order of the operations gives the results this run recorded
# per-vma, full, section 16384, THP madvise; 3 ops in 2 threads (shrunk from 15 ops in 2 threads);
# 15 of 200 runs of this program failed (of the program as generated: 9). Each op's comment: its result in the failing run
# and its interval [call ticket, return ticket] (A before B in real time iff A returned < B called).
option locking per-vma
option backing full
option section 16384
option thp madvise
mmap(0x7ffff7a00000, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7a00000 [call 0, return 1]
thread t0 {
    wait go
    madvise(0x7ffff7bff000, 12288, MADV_POPULATE_READ)                   # = 0 [call 2, return 5]
}
thread t1 {
    wait go
    mremap(0x7ffff7a00000, 2097152, 2097152, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7c00000) # = 0x7ffff7c00000 [call 3, return 4]
}
post go
# the longest order of ops that explained its results:
#   setup op 0: mmap(0x7ffff7a00000, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x7ffff7a00000 [call 0, return 1]
#   t1 op 0: mremap(0x7ffff7a00000, 2097152, 2097152, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7c00000) = 0x7ffff7c00000 [call 3, return 4]
# after which no op that may come next (minimal in real time) gives its recorded result:
#   t0 op 0: madvise(0x7ffff7bff000, 12288, MADV_POPULATE_READ) = 0 [call 2, return 5], but in this order: -1 ENOMEM (Cannot allocate memory)
# the first failing run, before shrinking:
#   option locking per-vma
#   option backing full
#   option section 16384
#   option thp madvise
#   mmap(0x7ffff7a00000, 4194304, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7a00000 [call 0, return 1]
#   madvise(0x7ffff7a00000, 4194304, MADV_HUGEPAGE)                          # = 0 [call 2, return 3]
#   touch(0x7ffff7bff000, 1, PROT_WRITE) value 1                             # = written [call 4, return 5]
#   touch(0x7ffff7bff000, 1, PROT_WRITE) value 2                             # = written [call 6, return 7]
#   touch(0x7ffff7bff000, 1, PROT_WRITE) value 3                             # = written [call 8, return 9]
#   thread t0 {
#       wait go
#       madvise(0x7ffff7c00000, 2097152, MADV_HUGEPAGE)                      # = 0 [call 10, return 11]
#       madvise(0x7ffff7a00000, 2097152, MADV_COLLAPSE)                      # = 0 [call 12, return 22]
#       madvise(0x7ffff7bff000, 12288, MADV_POPULATE_READ)                   # = 0 [call 23, return 25]
#       mmap(NULL, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) # = 0x7ffff7ff9000 [call 26, return 27]
#       munmap(0x7ffff7d1c000, 8192)                                         # = 0 [call 28, return 29]
#   }
#   thread t1 {
#       wait go
#       mmap(0x7ffff7ac3000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7ffd000 [call 13, return 14]
#       munmap(0x7ffff7aaa000, 16384)                                        # = 0 [call 15, return 16]
#       mremap(0x7ffff7c00000, 2097152, 2097152, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7a00000) # = 0x7ffff7a00000 [call 17, return 18]
#       touch(0x7ffff7bff000, 1, PROT_READ)                                  # = read 0x00 [call 19, return 20]
#       mremap(0x7ffff7a00000, 2097152, 2097152, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7c00000) # = 0x7ffff7c00000 [call 21, return 24]
#   }
#   post go
