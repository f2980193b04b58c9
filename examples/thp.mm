# thp.mm -- transparent huge pages for anonymous memory, as mm/huge_memory.c makes them. A
# 2 MiB-aligned region advised MADV_HUGEPAGE is written: each fault maps a whole 2 MiB block with
# one PMD leaf (smaps: AnonHugePages, ptdump: pmd lines with PSE). A munmap and an mprotect that
# cut leaves split them into 4 KiB entries over the same frames (split_huge_pmd); MADV_COLLAPSE
# makes one block whole again; the end frees every block.
#
#   ./mmemu run examples/thp.mm
#   ./mmemu run examples/thp.mm --thp never          # the same program on 4 KiB pages only
#
# The region is mapped at a fixed 2 MiB-aligned address so that its blocks line up with leaves.
# It cannot run on the host kernel (--host, --compare): its show statements read the emulator's
# page tables, which the host does not expose; every view statement is refused there.

option physmem 512M
option thp madvise

param SIZE = 16M

region = mmap(0x40000000, SIZE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect ok
madvise(region, SIZE, MADV_HUGEPAGE) expect ok
touch(region, SIZE, PROT_WRITE) value 0x5a expect ok
show smaps                                     # AnonHugePages: the whole region
show walk(region)                              # the path ends at a PMD leaf (PS)
munmap(region + 3M, 2M) expect ok              # cuts two leaves: both split, 512 pages freed
mprotect(region + 6M, 4K, PROT_READ) expect ok # cuts a third: split, one page read-only
show smaps
mprotect(region + 6M, 4K, PROT_READ|PROT_WRITE) expect ok
madvise(region + 6M, 2M, MADV_COLLAPSE) expect ok   # the third block whole again
show walk(region + 6M)
touch(region, 3M, PROT_READ) value 0x5a expect ok
munmap(region, SIZE) expect ok
