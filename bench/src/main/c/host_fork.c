/*
 * The host kernel's side of ForkScenario: fork of a process with SIZE bytes of private anonymous
 * memory populated, then the copy-on-write breaks of writing it all again. Built on first use by
 * io.mmemu.bench.scenario.ForkScenario with the system's cc.
 *
 *   host_fork SIZE REPS [COW]
 *
 * Populates SIZE bytes (a byte written a page; THP off for the process, so the pages are 4 KiB as
 * the emulator's), then REPS times: fork, the child _exits at once, the parent times fork()'s
 * return (copy_page_range of every page) and reaps it. Then one more fork whose child waits on a
 * pipe while the parent writes a byte a page again (one COW break each) over the first COW bytes
 * (all SIZE when not given: each break copies a page, so COW bytes more memory), timed; then the
 * child goes.
 *
 * Output, one fact a line:
 *   fork_ns N          one fork's time in the parent (one line per repetition)
 *   cow_ns N PAGES     the COW-breaking pass: its time and the pages written
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4)
    {
        fprintf(stderr, "usage: host_fork SIZE REPS [COW]\n");
        return 2;
    }
    const unsigned long size = strtoul(argv[1], NULL, 0);
    const int reps = atoi(argv[2]);
    const unsigned long cow = argc == 4 && strtoul(argv[3], NULL, 0) < size ? strtoul(argv[3], NULL, 0) : size;
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    volatile char *data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (data == MAP_FAILED)
    {
        perror("mmap");
        return 1;
    }
    for (unsigned long off = 0; off < size; off += PAGE)
    {
        data[off] = 1;
    }
    for (int r = 0; r < reps; r++)
    {
        const long long t0 = now_ns();
        const pid_t pid = fork();
        if (pid == 0)
        {
            _exit(0);
        }
        const long long t1 = now_ns();
        if (pid < 0)
        {
            perror("fork");
            return 1;
        }
        waitpid(pid, NULL, 0);
        printf("fork_ns %lld\n", t1 - t0);
    }
    int fds[2];
    if (pipe(fds) != 0)
    {
        perror("pipe");
        return 1;
    }
    const pid_t pid = fork();
    if (pid == 0)
    {
        char c;
        close(fds[1]);
        (void)!read(fds[0], &c, 1);
        _exit(0);
    }
    close(fds[0]);
    const long long t0 = now_ns();
    for (unsigned long off = 0; off < cow; off += PAGE)
    {
        data[off] = 2;
    }
    printf("cow_ns %lld %lu\n", now_ns() - t0, cow / PAGE);
    close(fds[1]);
    waitpid(pid, NULL, 0);
    return 0;
}
