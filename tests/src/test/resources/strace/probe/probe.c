/*
 * probe: calls every system call of strace's memory class (and a few
 * neighbours) once or twice, with ordinary, odd and failing arguments, so that
 * the strace log shows how each is printed. Built and run by tools/capture:
 *   cc -O0 -o probe probe.c && tools/capture --clean-env probe -- ./probe
 * (stdout gets the final /proc/self/maps; tools/capture drops it.)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024L * 1024L)

static long sys(const long nr, const long a, const long b, const long c, const long d, const long e, const long f)
{
    return syscall(nr, a, b, c, d, e, f);
}

/* A thread: its calls act on the same address space (strace shows another pid). */
static void *thread_body(void *arg)
{
    (void) arg;
    void *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p, 65536);
    return NULL;
}

static int make_file(const char *path, const long size)
{
    const int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, size) != 0)
    {
        perror(path);
        exit(1);
    }
    return fd;
}

int main(void)
{
    const long page = 4096;

    /* brk: query, grow, shrink, below the start, into a mapping. */
    const long brk0 = sys(SYS_brk, 0, 0, 0, 0, 0, 0);
    sys(SYS_brk, brk0 + 5 * page, 0, 0, 0, 0, 0);
    sys(SYS_brk, brk0 + 2 * page + 123, 0, 0, 0, 0, 0);
    sys(SYS_brk, brk0 - 64 * MIB, 0, 0, 0, 0, 0);
    void *blocker = mmap((void *) (brk0 + 8 * page), page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    sys(SYS_brk, brk0 + 8 * page, 0, 0, 0, 0, 0); /* would end exactly at the blocker */
    sys(SYS_brk, brk0 + 7 * page, 0, 0, 0, 0, 0); /* one free page before it */
    sys(SYS_brk, brk0 + 16 * page, 0, 0, 0, 0, 0);
    munmap(blocker, page);
    sys(SYS_brk, brk0, 0, 0, 0, 0, 0);

    /* mmap: anonymous, PROT_NONE, hint, unknown flag bit, errors. */
    char *a = mmap(NULL, 16 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    mmap(a + 4 * page, 4 * page, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    mmap(a + 4 * page, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    mmap((void *) 0x200000000000L, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | 0x20000000, -1, 0);
    mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | 0x400000 | 0x800000, -1, 0);
    mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | 0x4000000 /* MAP_UNINITIALIZED */ | MAP_SYNC, -1, 0);
    mmap(NULL, page, PROT_READ | 0x100, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mmap(NULL, page, PROT_READ, MAP_PRIVATE, -1, 0);
    mmap(NULL, 1L << 47, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mmap(NULL, page, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | 0x20000000, -1, 0);
    mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
    mmap(NULL, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_STACK, -1, 0);
    mmap(NULL, 2 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mmap(NULL, 4 * MIB + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    /* munmap / mprotect / pkey_mprotect. */
    munmap(a + 12 * page, 2 * page);
    munmap(a + 1, page);
    munmap(a, 0);
    mprotect(a, page, PROT_READ | PROT_WRITE);
    mprotect(a + 100, page, PROT_READ);
    mprotect(a, page, PROT_READ | 0x1000);
    mprotect(a + 4 * page, 4 * page, PROT_READ | PROT_GROWSDOWN);
    mprotect((void *) 0x300000000000L, page, PROT_READ);
    sys(SYS_pkey_mprotect, (long) a, page, PROT_READ, -1, 0, 0);
    const long pkey = sys(SYS_pkey_alloc, 0, 0, 0, 0, 0, 0);
    sys(SYS_pkey_mprotect, (long) a, page, PROT_READ, pkey, 0, 0);
    if (pkey >= 0)
    {
        sys(SYS_pkey_free, pkey, 0, 0, 0, 0, 0);
    }

    /* mremap: grow in place, move, 5-argument fixed form, DONTUNMAP, errors. */
    char *r = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(r + 2 * page, 2 * page);
    r = mremap(r, 2 * page, 3 * page, 0);
    mremap(r, 3 * page, 1L << 46, 0);
    r = mremap(r, 3 * page, 64 * page, MREMAP_MAYMOVE);
    r = mremap(r, 64 * page, 8 * page, MREMAP_MAYMOVE | MREMAP_FIXED, (void *) 0x100000000000L);
    mremap(r, 8 * page, 8 * page, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    sys(SYS_mremap, (long) r, 8 * page, 8 * page, 0x80, 0, 0); /* glibc drops unknown flags? call it raw */
    mremap(r + 1, page, 2 * page, 0);

    /* madvise names, msync, mincore, mlock family. */
    char *m = mmap(NULL, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(m, 1, 8 * page);
    const int advice[] = { MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE,
        MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK, MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
        MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_COLD, MADV_PAGEOUT, 22, 23, 25, 26,
        MADV_HWPOISON + 1000 };
    for (size_t i = 0; i < sizeof advice / sizeof advice[0]; i++)
    {
        madvise(m, 8 * page, advice[i]);
    }
    madvise(m + 1, page, MADV_DONTNEED);
    msync(m, page, MS_SYNC);
    msync(m, page, MS_ASYNC | MS_INVALIDATE);
    unsigned char vec[8];
    mincore(m, 8 * page, vec);
    mlock(m, page);
    munlock(m, page);
    sys(SYS_mlock2, (long) m, page, MLOCK_ONFAULT, 0, 0, 0);
    munlock(m, page);
    mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT);
    munlockall();
    sys(SYS_remap_file_pages, (long) m, page, 0, 0, 0, 0);

    /* NUMA policy calls (memory class). */
    unsigned long nodemask = 1;
    int mode = -1;
    sys(SYS_get_mempolicy, (long) &mode, 0, 0, 0, 0, 0);
    sys(SYS_set_mempolicy, 0, 0, 0, 0, 0, 0);
    sys(SYS_mbind, (long) m, page, 1 /* MPOL_PREFERRED */, (long) &nodemask, 64, 0);
    sys(SYS_migrate_pages, 0, 64, (long) &nodemask, (long) &nodemask, 0, 0);
    void *pages[1] = { m };
    int status[1];
    sys(SYS_move_pages, 0, 1, (long) pages, 0, (long) status, 0);
    sys(450 /* set_mempolicy_home_node */, (long) m, page, 0, 0, 0, 0);

    /* aio context: io_setup maps a ring into the address space. */
    unsigned long ctx = 0;
    sys(SYS_io_setup, 4, (long) &ctx, 0, 0, 0, 0);
    sys(SYS_io_destroy, (long) ctx, 0, 0, 0, 0, 0);

    /* System V shared memory. */
    const int shm = shmget(IPC_PRIVATE, 3 * page, IPC_CREAT | 0600);
    void *s = shmat(shm, NULL, 0);
    shmdt(s);
    shmctl(shm, IPC_RMID, NULL);

    /* Newer calls this strace may not know by name. */
    sys(453 /* map_shadow_stack */, 0, page, 0, 0, 0, 0);
    sys(462 /* mseal */, (long) m, page, 0, 0, 0, 0);
    sys(SYS_process_madvise, -1, 0, 0, MADV_COLD, 0, 0);

    /* File mappings with odd paths: spaces and '>', a newline, deleted, memfd, /dev/zero. */
    const int f1 = make_file("probe dir>x.bin", 4 * page);
    mmap(NULL, 4 * page, PROT_READ, MAP_SHARED, f1, 0);
    mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, f1, 2 * page);
    sys(SYS_mmap, 0, page, PROT_READ, MAP_PRIVATE, f1, 100); /* glibc's mmap() refuses this without a call */
    mmap(NULL, 8 * page, PROT_READ, MAP_SHARED, f1, 16 * page);
    const int f2 = make_file("probe\nnewline.bin", page);
    mmap(NULL, page, PROT_READ, MAP_SHARED, f2, 0);
    unlink("probe\nnewline.bin");
    mmap(NULL, page, PROT_READ, MAP_SHARED, f2, 0);
    unlink("probe dir>x.bin");
    mmap(NULL, page, PROT_READ, MAP_SHARED, f1, 0);
    const int mfd = memfd_create("probe memfd", 0);
    ftruncate(mfd, 4 * page);
    mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    const int zero = open("/dev/zero", O_RDWR);
    mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
    mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
    const int ro = open("/etc/hostname", O_RDONLY);
    mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    const int dir = open("/tmp", O_RDONLY);
    mmap(NULL, page, PROT_READ, MAP_PRIVATE, dir, 0);

    /* A large file: is a file mapping of >= 2 MiB placed 2 MiB-aligned? */
    const int big = open("/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so", O_RDONLY);
    mmap(NULL, 4 * MIB, PROT_READ, MAP_PRIVATE, big, 0);
    mmap(NULL, 4 * MIB + page, PROT_READ, MAP_PRIVATE, big, 0);
    mmap(NULL, 2 * MIB, PROT_READ, MAP_SHARED, big, 0);
    const int bigfile = make_file("probe-big.bin", 8 * MIB);
    mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, bigfile, 0);
    unlink("probe-big.bin");
    mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    ftruncate(mfd, 8 * MIB);
    mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);

    /* A thread, then two forked children: one killed by SIGKILL, one by SIGSEGV. */
    pthread_t thread;
    pthread_create(&thread, NULL, thread_body, NULL);
    pthread_join(thread, NULL);
    pid_t child = fork();
    if (child == 0)
    {
        mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        kill(getpid(), SIGKILL);
    }
    waitpid(child, NULL, 0);
    child = fork();
    if (child == 0)
    {
        char *ro = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        signal(SIGSEGV, SIG_DFL);
        ro[0] = 1;
        _exit(3);
    }
    waitpid(child, NULL, 0);

    /* The maps at the end, for the notes (printed to stdout, not in the trace). */
    char buf[1 << 16];
    const int maps = open("/proc/self/maps", O_RDONLY);
    ssize_t n;
    while ((n = read(maps, buf, sizeof buf)) > 0)
    {
        fwrite(buf, 1, (size_t) n, stdout);
    }
    return 0;
}
