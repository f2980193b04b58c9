/*
 * hugetlb_ref: a fixed sequence of MAP_HUGETLB calls on the host kernel, one line per step, for
 * HugetlbHostTest to compare with the emulator's lines. It needs the host's 2 MiB pool to be free
 * (HugePages_Free == HugePages_Total >= 2) and uses all of it; it prints "skip REASON" otherwise.
 * Results are 0, "ok" (an mmap that succeeded: addresses differ), -ERRNO names, "sigbus", or
 * meminfo's HugePages_Free and _Rsvd. Build: cc -O2 -o hugetlb_ref hugetlb_ref.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define M2 (2UL << 20)
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MADV_FREE
#define MADV_FREE 8
#endif

static sigjmp_buf jump;

static void on_sigbus(int sig)
{
    (void)sig;
    siglongjmp(jump, 1);
}

static long meminfo(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long value = -1;
    size_t n = strlen(key);
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
    {
        if (strncmp(line, key, n) == 0 && line[n] == ':')
        {
            value = strtol(line + n + 1, NULL, 10);
        }
    }
    if (f != NULL)
    {
        fclose(f);
    }
    return value;
}

static const char *err(long r)
{
    static char buf[32];
    if (r >= 0)
    {
        return "0";
    }
    switch (-r)
    {
        case EINVAL: return "-EINVAL";
        case ENOMEM: return "-ENOMEM";
        case EFAULT: return "-EFAULT";
        default: snprintf(buf, sizeof buf, "-%ld", -r); return buf;
    }
}

static long sys(long r)
{
    return r < 0 ? -errno : r;
}

static void counters(const char *step)
{
    printf("%s free=%ld rsvd=%ld\n", step, meminfo("HugePages_Free"), meminfo("HugePages_Rsvd"));
}

static const char *mapped(void *p)
{
    return p == MAP_FAILED ? err(-errno) : "ok";
}

/* Writes a byte at p; "0", or "sigbus". */
static const char *touch(volatile char *p, char value)
{
    if (sigsetjmp(jump, 1) != 0)
    {
        return "sigbus";
    }
    *p = value;
    return "0";
}

int main(void)
{
    const long total = meminfo("HugePages_Total");
    const long free0 = meminfo("HugePages_Free");
    if (total < 2 || free0 != total || meminfo("HugePages_Rsvd") != 0)
    {
        printf("skip the host's 2 MiB hugetlb pool is %ld pages, %ld free (needs at least 2, all free): "
            "echo 4 > /proc/sys/vm/nr_hugepages as root\n", total, free0);
        return 0;
    }
    signal(SIGBUS, on_sigbus);
    const int rw = PROT_READ | PROT_WRITE;
    const int priv = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
    printf("pool %ld\n", total);
    char *a = mmap(NULL, total * M2, rw, priv, -1, 0);
    printf("mmap-all %s\n", mapped(a));
    counters("after-mmap");
    printf("mmap-more %s\n", mapped(mmap(NULL, M2, rw, priv, -1, 0)));
    printf("mmap-bad-size %s\n", mapped(mmap(NULL, M2, rw, priv | (22 << MAP_HUGE_SHIFT), -1, 0)));
    char *nr = mmap(NULL, M2, rw, priv | MAP_NORESERVE, -1, 0);
    printf("mmap-noreserve %s\n", mapped(nr));
    printf("touch-noreserve %s\n", nr == MAP_FAILED ? "-" : touch(nr, 1));
    if (nr != MAP_FAILED)
    {
        munmap(nr, M2);
    }
    printf("touch-first %s\n", touch(a, 7));
    printf("touch-second %s\n", touch(a + M2 + 4096, 8));
    counters("after-touch");
    printf("munmap-4k %s\n", err(sys(munmap(a, 4096))));
    printf("munmap-misaligned %s\n", err(sys(munmap(a + 4096, M2))));
    printf("mprotect-4k %s\n", err(sys(mprotect(a, 4096, PROT_READ))));
    printf("madvise-dontneed-4k %s\n", err(sys(madvise(a, 4096, MADV_DONTNEED))));
    printf("still-there %d\n", a[0]);
    printf("madvise-dontneed-misaligned %s\n", err(sys(madvise(a + 4096, M2, MADV_DONTNEED))));
    printf("madvise-free %s\n", err(sys(madvise(a, M2, MADV_FREE))));
    printf("mremap-grow %s\n", mremap(a, M2, 2 * M2, MREMAP_MAYMOVE) == MAP_FAILED ? err(-errno) : "ok");
    printf("mmap-fixed-inside %s\n", mapped(mmap(a + 4096, 4096, rw, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)));
    printf("madvise-dontneed-page %s\n", err(sys(madvise(a, M2 + 4096, MADV_DONTNEED))));
    counters("after-dontneed");
    printf("refault %s\n", touch(a, 9));
    printf("reads-zero %d\n", a[0] == 9 && a[1] == 0);
    printf("munmap-last %s\n", err(sys(munmap(a + (total - 1) * M2, M2))));
    counters("after-munmap-last");
    fflush(stdout);
    pid_t child = fork();
    if (child == 0)
    {
        a[M2 + 4096] = 42;
        _exit(a[M2 + 4096] == 42 ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    printf("child-cow %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status));
    printf("parent-keeps %d\n", a[M2 + 4096]);
    counters("after-fork");
    printf("munmap-rest %s\n", err(sys(munmap(a, (total - 1) * M2))));
    counters("after-munmap-rest");
    return 0;
}
