# swap.mm -- memory pressure: each of 4 threads writes its own quarter of 4x the machine's memory
# with its own byte, then reads it all back twice, through a swap area of 6x. kswapd and direct
# reclaim swap pages out; every read of a swapped page is a major fault that swaps it back in.
# MADV_PAGEOUT then swaps out a quarter by hand and MADV_COLD ages another. The report's
# "faults", "swap" and "reclaim" rows count it; every byte read back is checked.
#
#   ./mmemu run examples/swap.mm
#   ./mmemu run examples/swap.mm --locking mmap-lock
#   ./mmemu run examples/swap.mm --swap 384M,file=/tmp/mmemu.swap   # slots in a sparse host file
#   ./mmemu run examples/swap.mm --compare    # the host has no swap: its side only writes and reads back

option physmem 64M
option swap 384M

param SIZE = 256M

a = mmap(NULL, SIZE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
parallel 4 {
    part = SIZE / nthreads
    touch(a + tid * part, part, PROT_WRITE) value 0x11 + tid expect ok
    touch(a + tid * part, part, PROT_READ) value 0x11 + tid expect ok
    touch(a + tid * part, part, PROT_READ) value 0x11 + tid expect ok
}
madvise(a, SIZE / 4, MADV_PAGEOUT) expect ok
madvise(a + SIZE / 4, SIZE / 4, MADV_COLD) expect ok
touch(a, SIZE / 4, PROT_READ) value 0x11 expect ok
munmap(a, SIZE) expect ok
