# fixed_storm.mm -- a MAP_FIXED storm: while reader threads fault all over a region, one thread
# replaces CHUNK-sized pieces of it with MAP_FIXED, piece after piece, for TIME. The region is
# mapped at every instant, so no read may ever raise SIGSEGV: a fault that meets a replacement in
# progress must wait for it (per-VMA locks: fault_waits) or for the mmap lock, then land in the
# new mapping.
#
#   ./mmemu run examples/fixed_storm.mm
#   ./mmemu run examples/fixed_storm.mm --locking mmap-lock
#   ./mmemu run examples/fixed_storm.mm --compare           # and on the host kernel, side by side
#
# Default: a 1 GiB region of 2 MiB pieces, 2 readers, 5 s, tables-only memory.

option physmem 8G
option backing tables-only

param SIZE = 1G
param CHUNK = 2M
param READERS = 2
param TIME = 5s

region = mmap(NULL, SIZE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
touch(region, SIZE, PROT_WRITE) expect ok
pieces = SIZE / CHUNK

thread storm {
    round = 0
    until done {
        # 7919 is prime, so the pieces are visited in a scattered order that covers them all
        piece = region + round * 7919 % pieces * CHUNK
        mmap(piece, CHUNK, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect value piece
        touch(piece, CHUNK, PROT_WRITE) expect ok
        round = round + 1
    }
}
parallel READERS {
    for TIME {
        touch(region, SIZE, PROT_READ) random 4096 expect ok
    }
}
post done
