/*
 * The host kernel's side of `mmemu bench` and bench/run: the will-it-scale loops and the seed
 * scenario, run natively so the emulator's figures have a same-machine, same-run reference.
 * Built on first use by io.mmemu.bench.workload.HostProgram with the system's cc.
 *
 *   host_bench page_fault1 THREADS SECONDS SIZE    mmap SIZE private anon, write a byte a page, munmap
 *   host_bench page_fault1_guard THREADS SECONDS SIZE   page_fault1 with a PROT_NONE guard page after
 *                                                  each mapping (mapped PROT_NONE, then all but the
 *                                                  guard made writable: threads' mappings never merge)
 *   host_bench mmap1       THREADS SECONDS SIZE    mmap SIZE private anon + munmap, untouched
 *   host_bench page_fault1_thp THREADS SECONDS SIZE     mmap SIZE + 2 MiB private anon, MADV_HUGEPAGE,
 *                                                  write a byte a 2 MiB block of its aligned part (one
 *                                                  op: a huge page fault), munmap
 *   host_bench page_fault2 THREADS SECONDS SIZE    page_fault1 on a private mapping of a tmp file
 *   host_bench page_fault3 THREADS SECONDS SIZE    page_fault1 on a shared mapping of a tmp file
 *   host_bench mmap2       THREADS SECONDS SIZE    mmap1 of a tmp file, MAP_SHARED
 *       (each thread its own file: mkstemp in $TMPDIR or /tmp, ftruncate to SIZE, unlink: will-it-scale's)
 *   host_bench seed        THREADS SECONDS SIZE BIG
 *       THREADS threads run page_fault1 loops of SIZE (each write timed: fault latency) while,
 *       SECONDS/2 in, another thread munmaps a fully populated (MAP_POPULATE) mapping of BIG bytes.
 *   host_bench seed_thp    THREADS SECONDS SIZE BIG
 *       seed with every mapping advised MADV_HUGEPAGE, the big one populated after the advice
 *       (MADV_POPULATE_WRITE): huge pages under the host's madvise policy
 *
 * Output, one fact a line (parsed by HostProgram; same words as the emulator's side):
 *   thread I OPS           operations of thread I (a page written, or an mmap+munmap pair)
 *   elapsed_ns N           measured time
 *   lat all|window P50 P99 P999 MAX COUNT   fault latencies in ns (seed), whole run | munmap window
 *   munmap_ns N PAGES      the big munmap's time and page count (seed)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
/* Log-linear latency buckets: 32 sub-buckets per power of two (~3% resolution), up to 2^40 ns. */
#define SUB_BITS 5
#define SUBS (1 << SUB_BITS)
#define BUCKETS (41 * SUBS)

struct histogram
{
    uint64_t counts[BUCKETS];
    uint64_t total;
    uint64_t max;
};

struct worker
{
    pthread_t thread;
    int id;
    uint64_t ops;
    struct histogram all;
    struct histogram window;
    char pad[64];
};

static atomic_int stop;
/* The big munmap's start and end (now_ns), UINT64_MAX until known. */
static _Atomic uint64_t window_start = UINT64_MAX;
static _Atomic uint64_t window_end = UINT64_MAX;
static int mode_seed;
static size_t size;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int bucket_of(uint64_t v)
{
    if (v < SUBS)
    {
        return (int)v;
    }
    const int msb = 63 - __builtin_clzll(v);
    const int shift = msb - SUB_BITS;
    int b = (shift + 1) * SUBS + (int)((v >> shift) & (SUBS - 1));
    return b < BUCKETS ? b : BUCKETS - 1;
}

/* The largest value a bucket holds (a percentile is reported as its bucket's upper edge). */
static uint64_t bucket_top(int b)
{
    if (b < SUBS)
    {
        return (uint64_t)b;
    }
    const int shift = b / SUBS - 1;
    const uint64_t base = ((uint64_t)SUBS + (uint64_t)(b % SUBS)) << shift;
    return base + ((1ULL << shift) - 1);
}

static void record(struct histogram *h, uint64_t v)
{
    h->counts[bucket_of(v)]++;
    h->total++;
    if (v > h->max)
    {
        h->max = v;
    }
}

static uint64_t percentile(const struct histogram *h, double p)
{
    if (h->total == 0)
    {
        return 0;
    }
    uint64_t rank = (uint64_t)(p / 100.0 * (double)h->total + 0.5);
    if (rank < 1)
    {
        rank = 1;
    }
    uint64_t seen = 0;
    for (int b = 0; b < BUCKETS; b++)
    {
        seen += h->counts[b];
        if (seen >= rank)
        {
            const uint64_t top = bucket_top(b);
            return top < h->max ? top : h->max;
        }
    }
    return h->max;
}

static void merge(struct histogram *into, const struct histogram *from)
{
    for (int b = 0; b < BUCKETS; b++)
    {
        into->counts[b] += from->counts[b];
    }
    into->total += from->total;
    if (from->max > into->max)
    {
        into->max = from->max;
    }
}

/* page_fault2/page_fault3/mmap2: the mapping type and whether each thread maps its own tmp file */
static int map_type = MAP_PRIVATE | MAP_ANONYMOUS;
static int on_file;
/* page_fault1_guard: a PROT_NONE page after each mapping */
static int guarded;
/* seed_thp: every mapping advised MADV_HUGEPAGE */
static int huge_advice;

static int tmp_file(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/willitscale.XXXXXX", dir != NULL && *dir != '\0' ? dir : "/tmp");
    const int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
    {
        fprintf(stderr, "host_bench: tmp file %s: %s\n", path, strerror(errno));
        exit(1);
    }
    unlink(path);
    return fd;
}

static void *map_fd_or_die(size_t length, int prot, int fd)
{
    void *p = mmap(NULL, length, prot, fd >= 0 ? map_type : MAP_PRIVATE | MAP_ANONYMOUS, fd, 0);
    if (p == MAP_FAILED)
    {
        fprintf(stderr, "host_bench: mmap of %zu bytes: %s\n", length, strerror(errno));
        exit(1);
    }
    return p;
}

static void *map_or_die(size_t length, int flags)
{
    void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (p == MAP_FAILED)
    {
        fprintf(stderr, "host_bench: mmap of %zu bytes: %s\n", length, strerror(errno));
        exit(1);
    }
    return p;
}

static void *page_fault1(void *arg)
{
    struct worker *w = arg;
    const int fd = on_file ? tmp_file() : -1;
    const size_t guard = guarded ? PAGE : 0;
    /* at least one round, however late this thread starts: a loaded machine may not run it
       before the stop, and a side with no operation has no rate */
    do
    {
        /* guarded: mapped writable and then guarded, it would merge for a moment with a neighbour */
        char *p = map_fd_or_die(size + guard, guard != 0 ? PROT_NONE : PROT_READ | PROT_WRITE, fd);
        if (guard != 0 && mprotect(p, size, PROT_READ | PROT_WRITE) != 0)
        {
            fprintf(stderr, "host_bench: mprotect of the mapping: %s\n", strerror(errno));
            exit(1);
        }
        if (huge_advice && madvise(p, size, MADV_HUGEPAGE) != 0)
        {
            fprintf(stderr, "host_bench: madvise(MADV_HUGEPAGE): %s\n", strerror(errno));
            exit(1);
        }
        for (size_t off = 0; off < size; off += PAGE)
        {
            if (mode_seed)
            {
                const uint64_t t0 = now_ns();
                p[off] = 1;
                const uint64_t t1 = now_ns();
                record(&w->all, t1 - t0);
                /* overlapped the munmap: includes a fault that waited for all of it */
                if (t1 > atomic_load_explicit(&window_start, memory_order_relaxed) &&
                    t0 < atomic_load_explicit(&window_end, memory_order_relaxed))
                {
                    record(&w->window, t1 - t0);
                }
            }
            else
            {
                p[off] = 1;
            }
            w->ops++;
        }
        munmap(p, size + guard);
    } while (!atomic_load_explicit(&stop, memory_order_relaxed));
    if (fd >= 0)
    {
        close(fd);
    }
    return NULL;
}

#define HUGE (2UL << 20)

/* page_fault1_thp: one write per 2 MiB block of a MADV_HUGEPAGE mapping, each a huge page fault */
static void *page_fault1_thp(void *arg)
{
    struct worker *w = arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed))
    {
        char *p = map_or_die(size + HUGE, 0);
        if (madvise(p, size + HUGE, MADV_HUGEPAGE) != 0)
        {
            fprintf(stderr, "host_bench: madvise(MADV_HUGEPAGE): %s\n", strerror(errno));
            exit(1);
        }
        char *aligned = (char *)(((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
        for (size_t off = 0; off + HUGE <= size; off += HUGE)
        {
            aligned[off] = 1;
            w->ops++;
        }
        munmap(p, size + HUGE);
    }
    return NULL;
}

static void *mmap1(void *arg)
{
    struct worker *w = arg;
    const int fd = on_file ? tmp_file() : -1;
    /* at least one round, however late this thread starts: a loaded machine may not run it
       before the stop, and a side with no operation has no rate */
    do
    {
        void *p = map_fd_or_die(size, PROT_READ | PROT_WRITE, fd);
        munmap(p, size);
        w->ops++;
    } while (!atomic_load_explicit(&stop, memory_order_relaxed));
    if (fd >= 0)
    {
        close(fd);
    }
    return NULL;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    {
    }
}

static void print_latency(const char *name, const struct histogram *h)
{
    printf("lat %s %llu %llu %llu %llu %llu\n", name,
        (unsigned long long)percentile(h, 50), (unsigned long long)percentile(h, 99),
        (unsigned long long)percentile(h, 99.9), (unsigned long long)h->max, (unsigned long long)h->total);
}

static int usage(void)
{
    fprintf(stderr, "usage: host_bench page_fault1|page_fault1_guard|page_fault1_thp|page_fault2|page_fault3|mmap1|mmap2 THREADS SECONDS SIZE | seed|seed_thp THREADS SECONDS SIZE BIG\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 5)
    {
        return usage();
    }
    const char *mode = argv[1];
    const int threads = atoi(argv[2]);
    const double seconds = atof(argv[3]);
    size = (size_t)strtoull(argv[4], NULL, 0) & ~(PAGE - 1);
    void *(*loop)(void *);
    if (strcmp(mode, "page_fault1") == 0)
    {
        loop = page_fault1;
    }
    else if (strcmp(mode, "page_fault1_guard") == 0)
    {
        loop = page_fault1;
        guarded = 1;
    }
    else if (strcmp(mode, "page_fault1_thp") == 0)
    {
        loop = page_fault1_thp;
    }
    else if (strcmp(mode, "mmap1") == 0)
    {
        loop = mmap1;
    }
    else if (strcmp(mode, "page_fault2") == 0 || strcmp(mode, "page_fault3") == 0)
    {
        loop = page_fault1;
        on_file = 1;
        map_type = strcmp(mode, "page_fault2") == 0 ? MAP_PRIVATE : MAP_SHARED;
    }
    else if (strcmp(mode, "mmap2") == 0)
    {
        loop = mmap1;
        on_file = 1;
        map_type = MAP_SHARED;
    }
    else if ((strcmp(mode, "seed") == 0 || strcmp(mode, "seed_thp") == 0) && argc >= 6)
    {
        loop = page_fault1;
        mode_seed = 1;
        huge_advice = strcmp(mode, "seed_thp") == 0;
    }
    else
    {
        return usage();
    }
    if (threads < 0 || threads > 1024 || seconds <= 0 || size == 0 || (threads == 0 && !mode_seed))
    {
        return usage();
    }

    char *big = NULL;
    size_t big_size = 0;
    if (mode_seed)
    {
        big_size = (size_t)strtoull(argv[5], NULL, 0) & ~(PAGE - 1);
        big = map_or_die(big_size, huge_advice ? 0 : MAP_POPULATE);
        if (huge_advice && (madvise(big, big_size, MADV_HUGEPAGE) != 0 || madvise(big, big_size, MADV_POPULATE_WRITE) != 0))
        {
            fprintf(stderr, "host_bench: advising or populating the big mapping: %s\n", strerror(errno));
            return 1;
        }
    }

    struct worker *workers = calloc((size_t)(threads > 0 ? threads : 1), sizeof(struct worker));
    if (workers == NULL)
    {
        return 1;
    }
    const uint64_t start = now_ns();
    for (int i = 0; i < threads; i++)
    {
        workers[i].id = i;
        if (pthread_create(&workers[i].thread, NULL, loop, &workers[i]) != 0)
        {
            fprintf(stderr, "host_bench: pthread_create failed\n");
            return 1;
        }
    }
    const uint64_t duration = (uint64_t)(seconds * 1e9);
    uint64_t munmap_ns = 0;
    if (mode_seed)
    {
        sleep_ns(duration / 2);
        const uint64_t t0 = now_ns();
        atomic_store(&window_start, t0);
        munmap(big, big_size);
        const uint64_t t1 = now_ns();
        atomic_store(&window_end, t1);
        munmap_ns = t1 - t0;
        const uint64_t spent = now_ns() - start;
        if (spent < duration)
        {
            sleep_ns(duration - spent);
        }
    }
    else
    {
        sleep_ns(duration);
    }
    atomic_store(&stop, 1);
    struct histogram all;
    struct histogram window;
    memset(&all, 0, sizeof all);
    memset(&window, 0, sizeof window);
    for (int i = 0; i < threads; i++)
    {
        pthread_join(workers[i].thread, NULL);
    }
    const uint64_t elapsed = now_ns() - start;
    for (int i = 0; i < threads; i++)
    {
        printf("thread %d %llu\n", i, (unsigned long long)workers[i].ops);
        merge(&all, &workers[i].all);
        merge(&window, &workers[i].window);
    }
    printf("elapsed_ns %llu\n", (unsigned long long)elapsed);
    if (mode_seed)
    {
        print_latency("all", &all);
        print_latency("window", &window);
        printf("munmap_ns %llu %llu\n", (unsigned long long)munmap_ns, (unsigned long long)(big_size / PAGE));
    }
    free(workers);
    return 0;
}
