# views.mm -- looking at the address space while the program runs: /proc-style views and a dump
# taken between statements, and while other threads fault. A heap is mapped, half written and
# partly write-protected; `show` prints its maps, smaps, pagemap and page-table walk mid-run and
# `dump` saves the address space (with its data) for `mmemu inspect`. Then worker threads map and
# fill regions of their own, each showing the maps it sees while the others are still faulting
# (which VMAs a view holds depends on how far the others got; each view is one consistent list),
# and the main thread pictures the result in HTML and shows it again after unmapping the heap.
#
#   ./mmemu run examples/views.mm
#   ./mmemu run examples/views.mm --views-dir out        # views in out/views.txt, files in out/
#   ./mmemu inspect views-mid.dump --smaps               # the dump, after the run
#
# It cannot run on the host kernel (--host, --compare): show, dump and html read the emulator's
# page tables and frames, which the host does not expose; every view statement is refused there.
#
# Default: 16 MiB heap, 4 workers (--threads) of 8 MiB each, full backing. Writes views-mid.dump
# (about 8 MiB: the written half of the heap) and views.html into the current directory (or the
# --views-dir).

option physmem 512M

param SIZE = 16M
param REGION = 8M

heap = mmap(NULL, SIZE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
touch(heap, SIZE / 2, PROT_WRITE) value 0x5a expect ok
mprotect(heap, SIZE / 4, PROT_READ) expect ok
show maps                                  # two VMAs: read-only, then read-write
show smaps                                 # Rss: the written half
show pagemap(heap + SIZE / 2 - 8K, 16K)    # two present pages, then two never touched
show walk(heap)
dump "views-mid.dump" data

parallel {
    mine = mmap(NULL, REGION, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
    touch(mine, REGION, PROT_WRITE) expect ok
    show maps
    barrier
    munmap(mine, REGION) expect ok
}

html "views.html"
munmap(heap, SIZE) expect ok
show maps                                  # nothing left
