# populate_tib.mm -- page tables at TiB scale: a 1 TiB mapping whose every page-table page is
# real, on a machine that has nowhere near 1 TiB. Tables-only backing: data frames are only
# counted (reads see 0), page tables are real memory in the exact x86-64 format.
#
# Each thread populates its slice of the mapping, one page every STRIDE bytes: at 64K, 1/16 of
# the pages are present and every PTE table exists (2 GiB of page tables for 1 TiB). Then the
# mapping is unmapped section by section and every table page comes back: the report's
# page_table_pages peak shows the structure, its end value that nothing leaked.
#
#   ./mmemu run examples/populate_tib.mm
#   ./mmemu run examples/populate_tib.mm --set STRIDE=4K    # every page: ~270 M faults, minutes
#   ./mmemu run examples/populate_tib.mm --host --set SIZE=64G  # the host kernel: real data pages
#
# On the host kernel (--host, --compare) the data pages are real memory: at its default size it
# writes 64 GiB (a page every 64 KiB of 1 TiB), so it is refused there unless SIZE x 4 KiB / STRIDE
# fits in the host's memory.
#
# Default: 1 TiB, stride 64 KiB (16 M faults), 4 threads; about 4 GiB of host memory.

option physmem 2T
option backing tables-only

param SIZE = 1T
param STRIDE = 64K

big = mmap(NULL, SIZE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) expect ok
parallel {
    slice = SIZE / nthreads
    touch(big + tid * slice, slice, PROT_WRITE) stride STRIDE expect ok
}
# every slice is populated: a read anywhere in the first and last page tables' reach finds the mapping
touch(big, 2M, PROT_READ) stride STRIDE expect ok
touch(big + SIZE - 2M, 2M, PROT_READ) stride STRIDE expect ok
munmap(big, SIZE) expect ok
touch(big, SIZE, PROT_READ) random 64 expect SIGSEGV SEGV_MAPERR
