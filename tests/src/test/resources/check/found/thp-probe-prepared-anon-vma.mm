# mmemu check: no sequential order of the operations gives the results this run recorded
# per-vma, full, section 1073741824, THP always; 5 ops in 2 threads (shrunk from 17 ops in 4 threads);
# 96 of 200 runs of this program failed (of the program as generated: 19). Each op's comment: its result in the failing run
# and its interval [call ticket, return ticket] (A before B in real time iff A returned < B called).
option locking per-vma
option backing full
option section 1073741824
option thp always
mmap(0x7ffff7a00000, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7a00000 [call 0, return 1]
thread t0 {
    wait go
    mremap(0x7ffff7bff000, 12288, 12288, MREMAP_MAYMOVE|MREMAP_DONTUNMAP) # = 0x7ffff7ffc000 [call 8, return 9]
}
thread t1 {
    wait go
    mremap(0x7ffff7a00000, 2097152, 2097152, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7c00000) # = 0x7ffff7c00000 [call 2, return 3]
    touch(0x7ffff7bff800, 1, PROT_READ)                                  # = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7bff800} [call 4, return 5]
    mmap(0x7ffff7a00000, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7a00000 [call 6, return 7]
}
post go
# the longest order of ops that explained its results:
#   setup op 0: mmap(0x7ffff7a00000, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x7ffff7a00000 [call 0, return 1]
#   t1 op 0: mremap(0x7ffff7a00000, 2097152, 2097152, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7c00000) = 0x7ffff7c00000 [call 2, return 3]
#   t1 op 1: touch(0x7ffff7bff800, 1, PROT_READ) = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7bff800} [call 4, return 5]
#   t1 op 2: mmap(0x7ffff7a00000, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x7ffff7a00000 [call 6, return 7]
# after which no op that may come next (minimal in real time) gives its recorded result:
#   t0 op 0: mremap(0x7ffff7bff000, 12288, 12288, MREMAP_MAYMOVE|MREMAP_DONTUNMAP) = 0x7ffff7ffc000 [call 8, return 9], but in this order: -1 EFAULT (Bad address)
# the first failing run, before shrinking:
#   option locking per-vma
#   option backing full
#   option section 1073741824
#   option thp always
#   mmap(0x7ffff7a00000, 4194304, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7a00000 [call 0, return 1]
#   thread t0 {
#       wait go
#       mremap(0x7ffff7bff000, 12288, 12288, MREMAP_MAYMOVE|MREMAP_DONTUNMAP) # = 0x7ffff7ffc000 [call 12, return 13]
#       mprotect(0x7ffff7c00000, 8192, PROT_READ|PROT_WRITE)                 # = 0 [call 14, return 15]
#       touch(0x7ffff7c00000, 1, PROT_READ)                                  # = read 0x00 [call 16, return 17]
#       madvise(0x7ffff7c00000, 2097152, MADV_NOHUGEPAGE)                    # = 0 [call 18, return 19]
#   }
#   thread t1 {
#       wait go
#       touch(0x7ffff7c00800, 1, PROT_READ)                                  # = read 0x00 [call 25, return 26]
#       touch(0x7ffff7c00000, 1, PROT_READ)                                  # = read 0x00 [call 27, return 28]
#       mremap(0x7ffff7c00000, 2097152, 2097152, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7a00000) # = 0x7ffff7a00000 [call 29, return 33]
#   }
#   thread t2 {
#       wait go
#       mprotect(0x7ffff7c00000, 4096, PROT_READ|PROT_WRITE)                 # = 0 [call 20, return 21]
#       touch(0x7ffff7bff800, 1, PROT_READ)                                  # = read 0x00 [call 22, return 23]
#       touch(0x7ffff7c00800, 1, PROT_WRITE) value 1                         # = written [call 24, return 30]
#       touch(0x7ffff7bff800, 1, PROT_WRITE) value 2                         # = written [call 31, return 32]
#   }
#   thread t3 {
#       wait go
#       mmap(0x7ffff7b2f000, 12288, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7b2f000 [call 2, return 3]
#       mremap(0x7ffff7a00000, 2097152, 2097152, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7ffff7c00000) # = 0x7ffff7c00000 [call 4, return 5]
#       mprotect(0x7ffff7ae7000, 12288, PROT_READ|PROT_WRITE)                # = -1 ENOMEM (Cannot allocate memory) [call 6, return 7]
#       touch(0x7ffff7bff800, 1, PROT_READ)                                  # = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7ffff7bff800} [call 8, return 9]
#       mmap(0x7ffff7a00000, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) # = 0x7ffff7a00000 [call 10, return 11]
#   }
#   post go
