# mmemu check: no sequential order of the operations gives the results this run recorded
# per-vma, tables-only, section 1073741824, THP never; 10 ops in 3 threads (shrunk from 16 ops in 3 threads);
# 33 of 200 runs of this program failed (of the program as generated: 3). Each op's comment: its result in the failing run
# and its interval [call ticket, return ticket] (A before B in real time iff A returned < B called).
option locking per-vma
option backing tables-only
option section 1073741824
option paging 5
# mmemu check: heap at 0x7ffff7fcf000
# (mmemu check sets the heap's start as exec would; mmemu run starts without a heap,
# so there brk returns 0)
mmap(0x7ffff7fe5000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7fe5000 [call 0, return 1]
thread t0 {
    wait go
    brk(0x7ffff7fd4000)                                                  # = 0x7ffff7fcf000 [call 12, return 14]
    touch(0x7ffff7fe5800, 1, PROT_READ)                                  # = read 0x00 [call 16, return 17]
}
thread t1 {
    wait go
    mprotect(0x7ffff7ff1000, 16384, PROT_READ)                           # = -1 ENOMEM (Cannot allocate memory) [call 4, return 7]
    mmap(0x7ffff7fe3000, 12288, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_GROWSDOWN, -1, 0) # = 0x7ffff7fe3000 [call 10, return 19]
}
thread t2 {
    wait go
    touch(0x7ffff7fe5000, 1, PROT_WRITE) value 2                         # = written [call 2, return 3]
    touch(0x7ffff7ff9800, 1, PROT_READ)                                  # = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7ff9800} [call 5, return 6]
    touch(0x7ffff7fef800, 1, PROT_WRITE) value 3                         # = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7fef800} [call 8, return 9]
    munmap(0x7ffff7ff8000, 53248)                                        # = 0 [call 11, return 13]
    mmap(0x7ffff7ffc000, 16384, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_POPULATE, -1, 0) # = 0x7ffff7ffc000 [call 15, return 18]
}
post go
# the longest order of ops that explained its results:
#   setup op 0: mmap(0x7ffff7fe5000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x7ffff7fe5000 [call 0, return 1]
#   t2 op 0: touch(0x7ffff7fe5000, 1, PROT_WRITE) value 2 = written [call 2, return 3]
#   t1 op 0: mprotect(0x7ffff7ff1000, 16384, PROT_READ) = -1 ENOMEM (Cannot allocate memory) [call 4, return 7]
#   t2 op 1: touch(0x7ffff7ff9800, 1, PROT_READ) = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7ff9800} [call 5, return 6]
#   t2 op 2: touch(0x7ffff7fef800, 1, PROT_WRITE) value 3 = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7fef800} [call 8, return 9]
#   t1 op 1: mmap(0x7ffff7fe3000, 12288, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_GROWSDOWN, -1, 0) = 0x7ffff7fe3000 [call 10, return 19]
#   t2 op 3: munmap(0x7ffff7ff8000, 53248) = 0 [call 11, return 13]
#   t0 op 0: brk(0x7ffff7fd4000) = 0x7ffff7fcf000 [call 12, return 14]
#   t2 op 4: mmap(0x7ffff7ffc000, 16384, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_POPULATE, -1, 0) = 0x7ffff7ffc000 [call 15, return 18]
# after which no op that may come next (minimal in real time) gives its recorded result:
#   t0 op 1: touch(0x7ffff7fe5800, 1, PROT_READ) = read 0x00 [call 16, return 17], but in this order: SIGSEGV {si_code=SEGV_ACCERR, si_addr=0x7ffff7fe5800}
# the first failing run, before shrinking:
#   option locking per-vma
#   option backing tables-only
#   option section 1073741824
#   option paging 5
#   # mmemu check: heap at 0x7ffff7fcf000
#   # (mmemu check sets the heap's start as exec would; mmemu run starts without a heap,
#   # so there brk returns 0)
#   mmap(0x7ffff7fe5000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7fe5000 [call 0, return 1]
#   mmap(0x7ffff7fed000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7fed000 [call 2, return 3]
#   thread t0 {
#       wait go
#       mmap(0x7ffff7fed000, 20480, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0) # = -1 EEXIST (File exists) [call 19, return 20]
#       brk(0x7ffff7fd4000)                                                  # = 0x7ffff7fcf000 [call 21, return 22]
#       touch(0x7ffff7fe5800, 1, PROT_READ)                                  # = read 0x00 [call 23, return 24]
#       touch(0x7ffff7fe5800, 1, PROT_READ)                                  # = SIGSEGV {si_code=SEGV_ACCERR, si_addr=0x7ffff7fe5800} [call 25, return 31]
#   }
#   thread t1 {
#       wait go
#       mprotect(0x7ffff7ff1000, 16384, PROT_READ)                           # = -1 ENOMEM (Cannot allocate memory) [call 8, return 10]
#       mmap(0x7ffff7fe7000, 4096, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7fe7000 [call 12, return 14]
#       mmap(0x7ffff7fe3000, 12288, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_GROWSDOWN, -1, 0) # = 0x7ffff7fe3000 [call 15, return 26]
#       mprotect(0x7ffff7ffc000, 16384, PROT_READ)                           # = 0 [call 27, return 28]
#       touch(0x7ffff7fd2000, 1, PROT_WRITE) value 1                         # = SIGSEGV {si_code=SEGV_ACCERR, si_addr=0x7ffff7fd2000} [call 29, return 30]
#   }
#   thread t2 {
#       wait go
#       touch(0x7ffff7fe5000, 1, PROT_WRITE) value 2                         # = written [call 4, return 5]
#       touch(0x7ffff7ff9800, 1, PROT_READ)                                  # = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7ff9800} [call 6, return 7]
#       touch(0x7ffff7fef800, 1, PROT_WRITE) value 3                         # = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7fef800} [call 9, return 11]
#       munmap(0x7ffff7ff8000, 53248)                                        # = 0 [call 13, return 16]
#       mmap(0x7ffff7ffc000, 16384, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_POPULATE, -1, 0) # = 0x7ffff7ffc000 [call 17, return 18]
#   }
#   post go
