// SPDX-License-Identifier: Apache-2.0
/*
 * views_ref: captures, on the host kernel, what mmemu's views must print for one fixed scenario,
 * so the inspection views are tested against the real /proc files rather than against themselves.
 *
 *   views_ref SCRIPT_OUT TEXT_OUT PAGEMAP_BIN_OUT
 *
 * Runs a fixed sequence of memory calls inside the window [0x200000000000, +16 MiB) of its own
 * address space, and writes:
 *   SCRIPT_OUT       the calls as a `mmemu replay` script (strace syntax), one per line;
 *   TEXT_OUT         what `mmemu replay SCRIPT --window W W+16M --maps --smaps --pagemap P Q`
 *                    prints: each call with its result, the /proc/self/maps lines and the
 *                    /proc/self/smaps blocks of the VMAs in the window, and "0xVA 0xWORD" per page
 *                    of [P, Q) from /proc/self/pagemap;
 *   PAGEMAP_BIN_OUT  the raw bytes pread() returns from /proc/self/pagemap for [P, Q).
 * Pagemap words have the PFN field (bits 0-54) cleared, as an unprivileged reader sees them
 * (fs/proc/task_mmu.c shows PFNs only to CAP_SYS_ADMIN, and this may run as root).
 *
 * Build and run: gcc -O1 -Wall -o views_ref views_ref.c && ./views_ref s.strace out.txt pm.bin
 * The program exits 3 if the window is not free or a call fails (then nothing is a fixture).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define W 0x200000000000ULL
#define WINDOW_END (W + (16ULL << 20))
#define PAGEMAP_START W
#define PAGEMAP_END (W + 0x1000000ULL)
#define PAGE 4096ULL
#define PFN_MASK ((1ULL << 55) - 1)
#define RW "PROT_READ|PROT_WRITE"
#define ANON "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED"
#define SHARED "MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED"

static FILE *script;
static FILE *text;

static void fail(const char *what)
{
    fprintf(stderr, "views_ref: %s\n", what);
    exit(3);
}

/* Records one call: the script line, and the same line with its result in the text output. */
static void record(const char *result, const char *format, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, format);
    vsnprintf(line, sizeof line, format, ap);
    va_end(ap);
    fprintf(script, "%s\n", line);
    fprintf(text, "%s = %s\n", line, result);
}

static void map(uint64_t addr, uint64_t len, int prot, const char *prots, int flags, const char *flagss)
{
    void *p = mmap((void *)addr, len, prot, flags, -1, 0);
    if (p != (void *)addr)
        fail("mmap");
    char result[32];
    snprintf(result, sizeof result, "0x%" PRIx64, addr);
    record(result, "mmap(0x%" PRIx64 ", %" PRIu64 ", %s, %s, -1, 0)", addr, len, prots, flagss);
}

static void protect(uint64_t addr, uint64_t len, int prot, const char *prots)
{
    if (mprotect((void *)addr, len, prot) != 0)
        fail("mprotect");
    record("0", "mprotect(0x%" PRIx64 ", %" PRIu64 ", %s)", addr, len, prots);
}

static void advise(uint64_t addr, uint64_t len, int advice, const char *advices)
{
    if (madvise((void *)addr, len, advice) != 0)
        fail("madvise");
    record("0", "madvise(0x%" PRIx64 ", %" PRIu64 ", %s)", addr, len, advices);
}

static void remap_dup(uint64_t old, uint64_t len, uint64_t target)
{
    void *p = mremap((void *)old, 0, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)target);
    if (p != (void *)target)
        fail("mremap");
    char result[32];
    snprintf(result, sizeof result, "0x%" PRIx64, target);
    record(result, "mremap(0x%" PRIx64 ", 0, %" PRIu64 ", MREMAP_MAYMOVE|MREMAP_FIXED, 0x%" PRIx64 ")", old, len, target);
}

/* touch as mmemu defines it: one byte per page, read, or write 0x01. */
static void touch(uint64_t addr, uint64_t len, int write)
{
    for (uint64_t off = 0; off < len; off += PAGE)
    {
        volatile char *c = (volatile char *)(addr + off);
        if (write)
            *c = 1;
        else
            (void)*c;
    }
    record("0", "touch(0x%" PRIx64 ", %" PRIu64 ", %s)", addr, len, write ? "PROT_WRITE" : "PROT_READ");
}

/* Copies the lines of a /proc file that belong to VMAs starting inside the window. */
static void copy_proc(const char *path, int smaps)
{
    static char buf[1 << 20];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail(path);
    int in = 0;
    while (fgets(buf, sizeof buf, f) != NULL)
    {
        uint64_t start, end;
        char c;
        if (sscanf(buf, "%" SCNx64 "-%" SCNx64 " %c", &start, &end, &c) == 3 && strchr(buf, ':') != NULL &&
            strncmp(buf, "VmFlags", 7) != 0)
            in = start >= W && start < WINDOW_END;
        else if (!smaps)
            in = 0;
        if (in)
            fputs(buf, text);
    }
    fclose(f);
}

static void window_free(void)
{
    char line[512];
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        fail("/proc/self/maps");
    while (fgets(line, sizeof line, f) != NULL)
    {
        uint64_t start, end;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) == 2 && start < WINDOW_END && end > W)
            fail("window not free");
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 4)
    {
        fprintf(stderr, "usage: views_ref SCRIPT_OUT TEXT_OUT PAGEMAP_BIN_OUT\n");
        return 2;
    }
    script = fopen(argv[1], "w");
    text = fopen(argv[2], "w");
    FILE *bin = fopen(argv[3], "wb");
    if (script == NULL || text == NULL || bin == NULL)
        fail("cannot open outputs");
    window_free();

    /* A: private anonymous, written, read, one page dropped */
    map(W, 16 * PAGE, PROT_READ | PROT_WRITE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, ANON);
    touch(W, 4 * PAGE, 1);
    touch(W + 4 * PAGE, 2 * PAGE, 0);
    advise(W + 2 * PAGE, PAGE, MADV_DONTNEED, "MADV_DONTNEED");

    /* B: written, then its upper half made read-only (a split) and read */
    const uint64_t b = W + 0x100000;
    map(b, 8 * PAGE, PROT_READ | PROT_WRITE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, ANON);
    touch(b, PAGE, 1);
    touch(b + 4 * PAGE, PAGE, 1);
    protect(b + 4 * PAGE, 4 * PAGE, PROT_READ, "PROT_READ");
    touch(b + 5 * PAGE, PAGE, 0);

    /* C: shared anonymous, one page written, one read; D: a second mapping of the same object
       that writes page 0, reads page 1 (both then mapped twice) and writes page 2. D writes page 0
       rather than reading it: a read would map it with a clean entry, which Linux still counts
       dirty (its folio is), the emulator clean. D's read comes before page 2 exists, so
       fault-around (a read fault maps the pages of its 64 KiB window in the page cache) maps
       nothing more. */
    const uint64_t c = W + 0x200000;
    const uint64_t d = W + 0x300000;
    map(c, 4 * PAGE, PROT_READ | PROT_WRITE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, SHARED);
    touch(c, PAGE, 1);
    touch(c + PAGE, PAGE, 0);
    remap_dup(c, 4 * PAGE, d);
    touch(d, PAGE, 1);
    touch(d + PAGE, PAGE, 0);
    touch(d + 2 * PAGE, PAGE, 1);

    /* E: no access */
    map(W + 0x400000, 4 * PAGE, PROT_NONE, "PROT_NONE", MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, ANON);

    /* F: locked (populated for write), G: huge-page advised and holding an aligned 2 MiB,
       H: huge-page advised but too small for one, I: no reserve, J: stack, K: executable,
       L: grows down */
    map(W + 0x500000, 4 * PAGE, PROT_READ | PROT_WRITE, RW,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_LOCKED, ANON "|MAP_LOCKED");
    map(W + 0x800000, 0x400000, PROT_READ | PROT_WRITE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, ANON);
    advise(W + 0x800000, 0x400000, MADV_HUGEPAGE, "MADV_HUGEPAGE");
    map(W + 0xc01000, 0x100000, PROT_READ | PROT_WRITE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, ANON);
    advise(W + 0xc01000, 0x100000, MADV_HUGEPAGE, "MADV_HUGEPAGE");
    map(W + 0xd00000, 4 * PAGE, PROT_READ | PROT_WRITE, RW,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, ANON "|MAP_NORESERVE");
    touch(W + 0xd00000, PAGE, 1);
    map(W + 0xe00000, 4 * PAGE, PROT_READ | PROT_WRITE, RW,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_STACK, ANON "|MAP_STACK");
    map(W + 0xe80000, 4 * PAGE, PROT_READ | PROT_EXEC, "PROT_READ|PROT_EXEC",
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, ANON);
    touch(W + 0xe80000, 2 * PAGE, 0);
    map(W + 0xf00000, 4 * PAGE, PROT_READ | PROT_WRITE, RW,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, ANON "|MAP_GROWSDOWN");

    copy_proc("/proc/self/maps", 0);
    copy_proc("/proc/self/smaps", 1);

    FILE *pm = fopen("/proc/self/pagemap", "rb");
    if (pm == NULL)
        fail("/proc/self/pagemap");
    for (uint64_t va = PAGEMAP_START; va < PAGEMAP_END; va += PAGE)
    {
        uint64_t word;
        if (fseeko(pm, (off_t)(va / PAGE * 8), SEEK_SET) != 0 || fread(&word, 8, 1, pm) != 1)
            fail("pagemap read");
        word &= ~PFN_MASK;
        fprintf(text, "0x%" PRIx64 " 0x%016" PRIx64 "\n", va, word);
        fwrite(&word, 8, 1, bin);
    }
    fclose(pm);
    fclose(bin);
    fclose(text);
    fclose(script);
    return 0;
}
