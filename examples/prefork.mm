# prefork.mm -- a pre-forking server (Apache's prefork MPM, PostgreSQL's backends, a Python
# multiprocessing pool): the parent loads its data, forks workers, and each worker reads the data
# shared with the parent (no copy), writes a slice of it (copy on write: one COW break a page),
# handles requests in its copy with threads of its own, and reports through shared memory.
# Meanwhile the parent goes on writing a part of the data no worker writes. What must hold, in
# both locking modes:
#   - a worker reads the data as it was at its fork: the parent's later writes are its own;
#   - a worker's writes are its own: the parent and the other workers never see them;
#   - the shared board is shared: the parent sees every worker's report;
#   - every page the workers only read is still shared when they run (the report's "pages shared"
#     and COW breaks: each worker breaks exactly its slice, SCRATCH / 4 KiB pages).
#
#   ./mmemu run examples/prefork.mm
#   ./mmemu run examples/prefork.mm --locking mmap-lock
#   ./mmemu run examples/prefork.mm --set DATA=1G --set SCRATCH=64M --physmem 4G --json prefork.json
#
# Full backing (the bytes are checked). It cannot run on the host (--host, --compare): the host
# runner has no fork yet.

option physmem 1G
option backing full
param DATA = 64M        # the parent's private data, read by every worker
param WORKERS = 4       # forked workers
param SCRATCH = 4M      # the slice of the data each worker writes (WORKERS * SCRATCH below DATA)
param REQUESTS = 256    # random reads of its slice per worker thread

data = mmap(NULL, DATA, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) expect ok
board = mmap(NULL, WORKERS * 4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0) expect ok
touch(data, DATA, PROT_WRITE) value 0x5a expect ok
own = data + DATA - SCRATCH     # the parent's own part, written while the workers run

repeat WORKERS as w {
    fork {
        touch(data, DATA, PROT_READ) value 0x5a expect ok
        mine = data + w * SCRATCH
        touch(mine, SCRATCH, PROT_WRITE) value 0x11 + w expect ok
        parallel 2 {
            touch(mine, SCRATCH, PROT_READ) random REQUESTS value 0x11 + w expect ok
        }
        touch(board + w * 4096, 4096, PROT_WRITE) value 0x77 expect ok
        post reported
    }
}
touch(own, SCRATCH, PROT_WRITE) value 0x22 expect ok
wait
touch(board, WORKERS * 4096, PROT_READ) value 0x77 expect ok
touch(data, DATA - SCRATCH, PROT_READ) value 0x5a expect ok
touch(own, SCRATCH, PROT_READ) value 0x22 expect ok
wait reported
