/*
 * MADV_PAGEOUT of page-cache pages on the host kernel, for PageoutHostTest: a file on a disk-backed
 * filesystem (tmpfs pages are shmem, which needs swap to page out) is mapped, touched, and partly
 * paged out; after each step a line gives, per page, mincore's residency and pagemap's present bit
 * ("m" + 16 digits, "p" + 16 digits). The emulator runs the same steps and must print the same.
 * Usage: pageout_ref DIR... (the first on a disk-backed filesystem is used). One "skip REASON"
 * line where the steps cannot run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#define TMPFS_MAGIC 0x01021994
#define PAGES 16
#define PAGE 4096L

static int pagemap_fd;
static int fd;

static void show(const char *step, char *base)
{
    unsigned char vec[PAGES];
    char m[PAGES + 1], p[PAGES + 1];
    if (mincore(base, PAGES * PAGE, vec) != 0) {
        printf("%s mincore-error %d\n", step, errno);
        return;
    }
    for (int i = 0; i < PAGES; i++) {
        uint64_t word = 0;
        m[i] = (vec[i] & 1) ? '1' : '0';
        if (pread(pagemap_fd, &word, 8, ((uintptr_t)base / PAGE + i) * 8) != 8)
            word = 0;
        p[i] = (word >> 63) ? '1' : '0';
    }
    m[PAGES] = p[PAGES] = 0;
    printf("%s m%s p%s\n", step, m, p);
}

/* Drops the file's clean pages from the host's page cache, so that every step starts cold. */
static void cold(void)
{
    fsync(fd);
    posix_fadvise(fd, 0, PAGES * PAGE, POSIX_FADV_DONTNEED);
}

static char *map(int prot, int flags)
{
    char *p = mmap(NULL, PAGES * PAGE, prot, flags, fd, 0);
    if (p == MAP_FAILED) {
        printf("skip mmap failed: %s\n", strerror(errno));
        exit(0);
    }
    /* no readahead: each fault reads its own 4 KiB page (no large folio spans pages) */
    madvise(p, PAGES * PAGE, MADV_RANDOM);
    return p;
}

static long sum(char *base, int from, int to)
{
    long s = 0;
    for (int i = from; i < to; i++)
        s += *(volatile long *)(base + i * PAGE + 8);
    return s;
}

int main(int argc, char **argv)
{
    struct statfs fs;
    char path[4096];
    const char *dir = NULL;
    /* the first directory given that is on a disk-backed filesystem */
    for (int i = 1; i < argc && dir == NULL; i++)
        if (statfs(argv[i], &fs) == 0 && fs.f_type != TMPFS_MAGIC)
            dir = argv[i];
    if (dir == NULL) {
        printf("skip no directory on a disk-backed filesystem: tmpfs pages are shmem, paged out only to swap\n");
        return 0;
    }
    /*
     * One CPU: a page read in joins the reading CPU's lru_add batch, and MADV_PAGEOUT drains only
     * its own CPU's (lru_add_drain), so a page read on another CPU before a migration can still be
     * in that CPU's batch, not isolatable, and stays (seen once on a 2-CPU host: page 11 kept).
     */
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
    sched_setaffinity(0, sizeof one, &one);
    pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
    snprintf(path, sizeof path, "%s/pageout_ref.%d", dir, getpid());
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || pagemap_fd < 0) {
        printf("skip cannot create %s: %s\n", path, strerror(errno));
        return 0;
    }
    unlink(path);
    for (long o = 0; o < PAGES * PAGE; o += 8)
        if (pwrite(fd, &o, 8, o) != 8) {
            printf("skip cannot write the file\n");
            return 0;
        }
    cold();

    /* 1: a private read-only mapping: clean pages paged out, dropped from the page cache */
    char *a = map(PROT_READ, MAP_PRIVATE);
    show("private-cold", a);
    sum(a, 0, PAGES);
    show("private-touched", a);
    if (madvise(a + 4 * PAGE, 8 * PAGE, MADV_PAGEOUT) != 0) {
        printf("skip MADV_PAGEOUT failed: %s (before Linux 5.4)\n", strerror(errno));
        return 0;
    }
    printf("private-pageout 0\n");
    show("private-after", a);
    sum(a, 0, PAGES);
    show("private-reread", a);
    munmap(a, PAGES * PAGE);
    cold();

    /*
     * 2: a shared mapping, pages 0-7 written (dirty), 8-15 only read (clean); all paged out: the
     * clean ones are dropped, the dirty ones only unmapped (shrink_folio_list leaves the writeback
     * of a dirty file folio to the flusher unless it is kswapd's: they stay cached, dirty)
     */
    char *b = map(PROT_READ | PROT_WRITE, MAP_SHARED);
    sum(b, 0, PAGES);
    for (int i = 0; i < 8; i++)
        *(volatile long *)(b + i * PAGE + 16) = 0x5000 + i;
    show("shared-written", b);
    printf("shared-pageout %d\n", madvise(b, PAGES * PAGE, MADV_PAGEOUT) == 0 ? 0 : errno);
    show("shared-after", b);
    int ok = 1;
    for (int i = 0; i < 8; i++)
        ok &= *(volatile long *)(b + i * PAGE + 16) == 0x5000 + i;
    printf("shared-values %s\n", ok ? "kept" : "lost");
    show("shared-reread", b);
    munmap(b, PAGES * PAGE);
    cold();

    /*
     * 3: pages 0-3 also mapped by a second mapping of four pages (fault-around would map more of
     * a longer one): those stay (folio_mapcount != 1), the rest go
     */
    char *c = map(PROT_READ, MAP_SHARED);
    sum(c, 0, PAGES);
    char *d = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    if (d == MAP_FAILED) {
        printf("skip mmap failed: %s\n", strerror(errno));
        return 0;
    }
    sum(d, 0, 4);
    show("twice-touched", c);
    printf("twice-pageout %d\n", madvise(c, PAGES * PAGE, MADV_PAGEOUT) == 0 ? 0 : errno);
    show("twice-after", c);
    munmap(c, PAGES * PAGE);
    munmap(d, 4 * PAGE);
    close(fd);
    return 0;
}
