# unmap_race.mm -- issue 15's race: a munmap of a range with a hole in it, while another thread maps
# a page into the hole.
#
# A mapping is written in its first part, then a hole is unmapped near its end, leaving
# [populated][hole][tail]. Thread A unmaps the whole span. Once A has started, thread B maps one
# page into the hole with MAP_FIXED, writes 0x77 into it and reads it back until A is done.
# Linux serialises the two calls, so B's page is either unmapped by A (B's mapping came first: B
# then sees SIGSEGV) or mapped after A (it keeps 0x77). What must never happen, in either locking
# mode: B reading anything but 0x77 while its mapping is there. Before the range lock (e530dd4),
# per-VMA mode let B map into the hole while A zapped without the mmap lock; A then zapped B's page
# and dropped B's mapping with its own, and B read zeros (a frame A freed was still reachable).
# Now A owns its whole span, hole included, and B's MAP_FIXED waits for A.
#
#   ./mmemu run examples/unmap_race.mm                       # per-vma locks, the default
#   ./mmemu run examples/unmap_race.mm --locking mmap-lock   # Linux before per-VMA locks
#   ./mmemu run examples/unmap_race.mm --set POPULATED=8G --set HOLE=1G --physmem 10G   # the issue's 9 GiB
#   ./mmemu run examples/unmap_race.mm --compare            # beside the host kernel (its options apply to the emulator)
#
# Default: 256 MiB written, a 64 MiB hole, a 64 MiB tail, full backing, 16 MiB sections, a second.

option physmem 1G
option backing full
option section 16M

param POPULATED = 256M   # written before the race (the issue: 8G)
param HOLE = 64M         # unmapped before the race (the issue: about 1G)
param TAIL = 64M         # mapped, never written

span = POPULATED + HOLE + TAIL
a = mmap(NULL, span, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) expect ok
touch(a, POPULATED, PROT_WRITE) value 0x5a expect ok
munmap(a + POPULATED, HOLE) expect ok
page = a + POPULATED + HOLE / 2

thread unmapper {
    post unmapping
    munmap(a, span) expect ok
    post unmapped
}
thread mapper {
    wait unmapping
    mmap(page, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect value page
    touch(page, 4096, PROT_WRITE) value 0x77 expect ok or SIGSEGV SEGV_MAPERR
    until unmapped {
        touch(page, 4096, PROT_READ) value 0x77 expect ok or SIGSEGV SEGV_MAPERR
    }
}
join unmapper
join mapper
# afterwards: B's page is there holding 0x77 (mapped after the munmap), or gone (before it)
touch(page, 4096, PROT_READ) value 0x77 expect ok or SIGSEGV SEGV_MAPERR
