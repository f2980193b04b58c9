# mmemu check: no sequential order of the operations gives the results this run recorded
# per-vma, tables-only, section 1073741824, THP madvise; 6 ops in 3 threads (shrunk from 22 ops in 4 threads);
# 7 of 200 runs of this program failed (of the program as generated: 20). Each op's comment: its result in the failing run
# and its interval [call ticket, return ticket] (A before B in real time iff A returned < B called).
option locking per-vma
option backing tables-only
option section 1073741824
option thp madvise
option paging 5
mmap(0x7ffff7a00000, 4194304, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7a00000 [call 0, return 1]
madvise(0x7ffff7a00000, 4194304, MADV_HUGEPAGE)                          # = 0 [call 2, return 3]
touch(0x7ffff7a36800, 1, PROT_WRITE) value 1                             # = written [call 4, return 5]
thread t0 {
    wait go
    madvise(0x7ffff7c00000, 8192, MADV_NOHUGEPAGE)                       # = 0 [call 7, return 8]
}
thread t1 {
    wait go
    mremap(0x7ffff7c00000, 12288, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7d10000) # = 0x7ffff7d10000 [call 10, return 11]
}
thread t2 {
    wait go
    mmap(0x7ffff7c00000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_POPULATE, -1, 0) # = 0x7ffff7c00000 [call 6, return 9]
}
post go
# the longest order of ops that explained its results:
#   setup op 0: mmap(0x7ffff7a00000, 4194304, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x7ffff7a00000 [call 0, return 1]
#   setup op 1: madvise(0x7ffff7a00000, 4194304, MADV_HUGEPAGE) = 0 [call 2, return 3]
#   setup op 2: touch(0x7ffff7a36800, 1, PROT_WRITE) value 1 = written [call 4, return 5]
#   t2 op 0: mmap(0x7ffff7c00000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_POPULATE, -1, 0) = 0x7ffff7c00000 [call 6, return 9]
#   t0 op 0: madvise(0x7ffff7c00000, 8192, MADV_NOHUGEPAGE) = 0 [call 7, return 8]
# after which no op that may come next (minimal in real time) gives its recorded result:
#   t1 op 0: mremap(0x7ffff7c00000, 12288, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7d10000) = 0x7ffff7d10000 [call 10, return 11], but in this order: -1 EFAULT (Bad address)
# the first failing run, before shrinking:
#   option locking per-vma
#   option backing tables-only
#   option section 1073741824
#   option thp madvise
#   option paging 5
#   mmap(0x7ffff7a00000, 4194304, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7a00000 [call 0, return 1]
#   madvise(0x7ffff7a00000, 4194304, MADV_HUGEPAGE)                          # = 0 [call 2, return 3]
#   touch(0x7ffff7a36800, 1, PROT_WRITE) value 1                             # = written [call 4, return 5]
#   thread t0 {
#       wait go
#       madvise(0x7ffff7a00000, 12288, MADV_FREE)                            # = 0 [call 20, return 21]
#       touch(0x7ffff7a00000, 1, PROT_READ)                                  # = read 0x00 [call 22, return 23]
#       mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7ffe000 [call 24, return 25]
#       mmap(0x7ffff7dff000, 20480, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7dff000 [call 26, return 27]
#       mprotect(0x7ffff7dff000, 8192, PROT_NONE)                            # = 0 [call 28, return 29]
#       madvise(0x7ffff7c00000, 2097152, MADV_COLLAPSE)                      # = -1 EINVAL (Invalid argument) [call 30, return 40]
#   }
#   thread t1 {
#       wait go
#       madvise(0x7ffff7c00000, 16384, MADV_NOHUGEPAGE)                      # = 0 [call 9, return 10]
#       madvise(0x7ffff7c00000, 12288, MADV_POPULATE_WRITE)                  # = 0 [call 11, return 12]
#       madvise(0x7ffff7dc4000, 12288, MADV_COLD)                            # = 0 [call 13, return 14]
#   }
#   thread t2 {
#       wait go
#       mprotect(0x7ffff7dcf000, 8192, PROT_NONE)                            # = 0 [call 31, return 32]
#       munmap(0x7ffff7dff000, 8192)                                         # = 0 [call 33, return 34]
#       mremap(0x7ffff7c00000, 12288, 20480, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7d10000) # = 0x7ffff7d10000 [call 35, return 36]
#       mremap(0x7ffff7c00000, 2097152, 2097152, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7a00000) # = -1 EFAULT (Bad address) [call 37, return 38]
#       mremap(0x7ffff7a00000, 2097152, 2097152, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7c00000) # = 0x7ffff7c00000 [call 39, return 41]
#       mmap(0x7ffff7c00000, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7c00000 [call 42, return 43]
#   }
#   thread t3 {
#       wait go
#       madvise(0x7ffff7a06000, 12288, MADV_DONTNEED)                        # = 0 [call 6, return 7]
#       mmap(0x7ffff7c00000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_POPULATE, -1, 0) # = 0x7ffff7c00000 [call 8, return 15]
#       munmap(0x7ffff7d44000, 4096)                                         # = 0 [call 16, return 17]
#       madvise(0x7ffff7a00000, 12288, MADV_WILLNEED)                        # = 0 [call 18, return 19]
#   }
#   post go
