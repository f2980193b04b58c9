# churn.mm -- mprotect and mremap churn: each thread owns a region and, round after round,
# write-protects its first half (a write there raises SIGSEGV SEGV_ACCERR, a read does not),
# unprotects it, moves the whole region elsewhere with mremap (the old range raises SEGV_MAPERR,
# the new one holds the data) and moves it back. VMAs split and merge all the time; page tables
# move with mremap.
#
#   ./mmemu run examples/churn.mm
#   ./mmemu run examples/churn.mm --locking mmap-lock
#   ./mmemu run examples/churn.mm --compare           # and on the host kernel, side by side
#
# Default: 4 threads (--threads), 64 MiB regions, 5 s, tables-only memory.

option physmem 8G
option backing tables-only

param SIZE = 64M
param TIME = 5s
param BASE = 0x200000000000     # thread regions and their move targets, far from other mappings

parallel {
    home = BASE + tid * 4 * SIZE
    away = home + 2 * SIZE
    half = SIZE / 2
    mmap(home, SIZE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect value home
    touch(home, SIZE, PROT_WRITE) expect ok
    for TIME {
        mprotect(home, half, PROT_READ) expect ok
        touch(home, half, PROT_WRITE) random 16 expect SIGSEGV SEGV_ACCERR
        touch(home, SIZE, PROT_READ) random 64 expect ok
        mprotect(home, half, PROT_READ|PROT_WRITE) expect ok
        touch(home, SIZE, PROT_WRITE) random 64 expect ok
        mremap(home, SIZE, SIZE, MREMAP_MAYMOVE|MREMAP_FIXED, away) expect value away
        touch(home, SIZE, PROT_READ) random 16 expect SIGSEGV SEGV_MAPERR
        touch(away, SIZE, PROT_WRITE) random 64 expect ok
        mremap(away, SIZE, SIZE, MREMAP_MAYMOVE|MREMAP_FIXED, home) expect value home
    }
    munmap(home, SIZE) expect ok
}
