// SPDX-License-Identifier: Apache-2.0
/*
 * replay_ref: the host kernel's side of mmemu's differential harness.
 *
 * Runs a replay script (docs/replay.md, the contract in REPLAY-SPEC) on the host kernel, each
 * statement with its raw syscall, inside a window of this process's own address space, and prints
 * exactly what `mmemu replay` prints for the same script and options:
 *
 *   replay_ref SCRIPT [--maps] [--smaps] [--pagemap START END] [--window START END] [--physmem SIZE]
 *              [--baseline-vmas] [--thp]
 *
 * SCRIPT is a file or `-` for stdin. --physmem is accepted and ignored (it sizes the emulator's
 * memory) so one command line serves both sides. --baseline-vmas prints to stderr how many VMAs
 * this process has outside the window before the first statement (the emulator starts with none;
 * see the map-count fixture). --smaps prints the /proc/self/smaps blocks of the VMAs in the window
 * after the maps lines. --thp runs under the host's THP policy instead of disabling THP, and prints
 * to stderr how much of /proc/vmstat's THP allocation counters moved meanwhile
 * ("thp-vmstat: thp_fault_fallback=N ... khugepaged_pages_collapsed=N"): compaction failing to find an
 * order-9 block, or khugepaged collapsing a range, makes the host's output one the emulator need
 * not reproduce, and the harness skips such a run. Exit status: 0 done, 2 malformed script or bad
 * options, 3 the host cannot run it (window not free, a statement would reach the runner's own
 * mappings).
 *
 * Processes (docs/differential.md, "fork"): `fork()` forks the process that makes it; processes are
 * numbered 0 (the first) and then in creation order, and `fork()` prints the child's number. A line
 * may start with `@N ` to be run by process N (no prefix: process 0). Every process walks the same
 * statement list and runs its own lines; a token passed through pipes keeps the script's order
 * across processes exactly (so copy-on-write, which depends on who writes first, is deterministic),
 * and the process holding it is the only one writing to stdout. After the statements each process
 * in turn prints its maps, smaps and pagemap, under a "--- process N" line when the script forked.
 *
 * Why the choices:
 * - raw syscall(SYS_...) so no libc wrapper rewrites an argument or an errno;
 * - prctl(PR_SET_THP_DISABLE) so faults map 4 KiB pages as the emulator does (unless --thp);
 * - the whole script is parsed, and every buffer allocated, before the first statement, and then a
 *   snapshot of /proc/self/maps is taken: a statement whose range would reach one of those
 *   mappings (our code, stack, libc, buffers) is refused instead of run, so a bad script cannot
 *   unmap or overwrite the runner under itself. A range whose arithmetic wraps past 2^64 is let
 *   through for the five syscalls: each of them rejects such a range before touching anything.
 *   MADV_HWPOISON and MADV_SOFT_OFFLINE are refused (as root they would poison host memory).
 * - touch runs under SIGSEGV/SIGBUS handlers that siglongjmp back with si_code and si_addr.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/mman.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE_SIZE 4096ULL
#define PFN_MASK ((1ULL << 55) - 1)
#define EXIT_BAD_INPUT 2
#define EXIT_HOST 3
#define MAPS_BUFFER_SIZE (256UL << 20)
#define OUT_BUFFER_SIZE (1UL << 20)
#define MAX_HOST_VMAS 70000
#define MAX_ARGS 6
#define ERROR_TEXT 256
#define MAX_PROCESSES 8
#define TURN_TIMEOUT_MS 30000

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE 101
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MAP_UNINITIALIZED
#define MAP_UNINITIALIZED 0x4000000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* ---------------------------------------------------------------------------------------------
 * Flag names. The values come from the host's own headers (not copied from mmemu's Mman), so a
 * wrong constant on either side shows up as a difference.
 */
struct name
{
    const char *name;
    uint64_t value;
};

#define N(x) { #x, (uint64_t)(x) }

static const struct name PROT_TABLE[] = {
    N(PROT_NONE), N(PROT_READ), N(PROT_WRITE), N(PROT_EXEC), N(PROT_SEM), N(PROT_GROWSDOWN),
    N(PROT_GROWSUP), { NULL, 0 }
};

static const struct name MAP_TABLE[] = {
    N(MAP_SHARED), N(MAP_PRIVATE), N(MAP_SHARED_VALIDATE), N(MAP_FIXED), N(MAP_ANONYMOUS),
    N(MAP_32BIT), N(MAP_GROWSDOWN), N(MAP_DENYWRITE), N(MAP_EXECUTABLE), N(MAP_LOCKED),
    N(MAP_NORESERVE), N(MAP_POPULATE), N(MAP_NONBLOCK), N(MAP_STACK), N(MAP_HUGETLB), N(MAP_SYNC),
    N(MAP_FIXED_NOREPLACE), N(MAP_UNINITIALIZED), { "MAP_ANON", MAP_ANONYMOUS }, { "MAP_FILE", 0 }, { NULL, 0 }
};

static const struct name MREMAP_TABLE[] = {
    N(MREMAP_MAYMOVE), N(MREMAP_FIXED), N(MREMAP_DONTUNMAP), { NULL, 0 }
};

static const struct name MADV_TABLE[] = {
    N(MADV_NORMAL), N(MADV_RANDOM), N(MADV_SEQUENTIAL), N(MADV_WILLNEED), N(MADV_DONTNEED),
    N(MADV_FREE), N(MADV_REMOVE), N(MADV_DONTFORK), N(MADV_DOFORK), N(MADV_MERGEABLE),
    N(MADV_UNMERGEABLE), N(MADV_HUGEPAGE), N(MADV_NOHUGEPAGE), N(MADV_DONTDUMP), N(MADV_DODUMP),
    N(MADV_WIPEONFORK), N(MADV_KEEPONFORK), N(MADV_COLD), N(MADV_PAGEOUT), N(MADV_POPULATE_READ),
    N(MADV_POPULATE_WRITE), N(MADV_DONTNEED_LOCKED), N(MADV_COLLAPSE), N(MADV_HWPOISON),
    N(MADV_SOFT_OFFLINE), N(MADV_GUARD_INSTALL), N(MADV_GUARD_REMOVE), { NULL, 0 }
};

/* ---------------------------------------------------------------------------------------------
 * Statements.
 */
enum call
{
    CALL_MMAP,
    CALL_MUNMAP,
    CALL_MPROTECT,
    CALL_MREMAP,
    CALL_MADVISE,
    CALL_TOUCH,
    CALL_FORK
};

enum arg_kind
{
    ARG_NUMBER,
    ARG_PROT,
    ARG_MAP,
    ARG_MREMAP,
    ARG_MADV
};

struct call_syntax
{
    const char *name;
    enum call call;
    int min_args;
    int max_args;
    enum arg_kind kinds[MAX_ARGS];
};

static const struct call_syntax CALLS[] = {
    { "mmap", CALL_MMAP, 6, 6, { ARG_NUMBER, ARG_NUMBER, ARG_PROT, ARG_MAP, ARG_NUMBER, ARG_NUMBER } },
    { "munmap", CALL_MUNMAP, 2, 2, { ARG_NUMBER, ARG_NUMBER } },
    { "mprotect", CALL_MPROTECT, 3, 3, { ARG_NUMBER, ARG_NUMBER, ARG_PROT } },
    { "mremap", CALL_MREMAP, 4, 5, { ARG_NUMBER, ARG_NUMBER, ARG_NUMBER, ARG_MREMAP, ARG_NUMBER } },
    { "madvise", CALL_MADVISE, 3, 3, { ARG_NUMBER, ARG_NUMBER, ARG_MADV } },
    { "touch", CALL_TOUCH, 3, 3, { ARG_NUMBER, ARG_NUMBER, ARG_PROT } },
    { "fork", CALL_FORK, 0, 0, { 0 } },
    { NULL, 0, 0, 0, { 0 } }
};

struct statement
{
    int line;
    const char *text; /* the call as written, trimmed, without " = ..." (an @N prefix included) */
    int process; /* who runs it: the N of an @N prefix, else 0 */
    enum call call;
    uint64_t args[MAX_ARGS]; /* absent optional arguments are 0 */
};

/* ---------------------------------------------------------------------------------------------
 * Output: one static buffer written with write(2), so printing allocates nothing after the
 * snapshot of our own mappings.
 */
static char out_buffer[OUT_BUFFER_SIZE];
static size_t out_length;
static int self; /* this process's number (0 until a fork() line) */
static pid_t root_pid; /* process 0's pid */

static void out_flush(void)
{
    size_t done = 0;
    while (done < out_length)
    {
        const ssize_t n = write(STDOUT_FILENO, out_buffer + done, out_length - done);
        if (n < 0)
        {
            if (errno == EINTR)
            {
                continue;
            }
            _exit(EXIT_HOST);
        }
        done += (size_t)n;
    }
    out_length = 0;
}

static void out_bytes(const char *bytes, const size_t length)
{
    if (length > sizeof(out_buffer) - out_length)
    {
        out_flush();
    }
    if (length > sizeof(out_buffer))
    {
        size_t done = 0;
        while (done < length)
        {
            const ssize_t n = write(STDOUT_FILENO, bytes + done, length - done);
            if (n < 0 && errno != EINTR)
            {
                _exit(EXIT_HOST);
            }
            done += n > 0 ? (size_t)n : 0;
        }
        return;
    }
    memcpy(out_buffer + out_length, bytes, length);
    out_length += length;
}

static void out_printf(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void out_printf(const char *format, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, format);
    const int n = vsnprintf(line, sizeof(line), format, ap);
    va_end(ap);
    out_bytes(line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void fail(const int status, const char *format, ...) __attribute__((format(printf, 2, 3), noreturn));

static void fail(const int status, const char *format, ...)
{
    out_flush();
    va_list ap;
    va_start(ap, format);
    fputs("replay_ref: ", stderr);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (self != 0)
    {
        /* a forked process: take the whole run down (the others die of PR_SET_PDEATHSIG) */
        fflush(stderr);
        kill(root_pid, SIGKILL);
        _exit(status);
    }
    exit(status);
}

/* ---------------------------------------------------------------------------------------------
 * Parsing. Every error names the script and line; all of them are reported before exiting.
 */
static const char *script_name;
static int error_count;
/* Processes the script makes: 1 + its fork() lines. */
static int process_count = 1;

static void parse_error(const int line, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void parse_error(const int line, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fprintf(stderr, "%s:%d: ", script_name, line);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
    va_end(ap);
    error_count++;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
    {
        s++;
    }
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
    {
        *--end = '\0';
    }
    return s;
}

/* Decimal, 0x-hex, negative decimal (two's complement), or NULL. 0 on success, -1 if malformed. */
static int parse_number(const char *token, uint64_t *value)
{
    if (strcmp(token, "NULL") == 0)
    {
        *value = 0;
        return 0;
    }
    const char *p = token;
    const int negative = *p == '-';
    if (negative)
    {
        p++;
    }
    uint64_t v = 0;
    if (!negative && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
    {
        p += 2;
        if (*p == '\0')
        {
            return -1;
        }
        for (; *p; p++)
        {
            if (!isxdigit((unsigned char)*p) || v >> 60 != 0)
            {
                return -1;
            }
            v = v << 4 | (uint64_t)(isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
        }
    }
    else
    {
        if (*p == '\0')
        {
            return -1;
        }
        for (; *p; p++)
        {
            if (!isdigit((unsigned char)*p))
            {
                return -1;
            }
            const uint64_t digit = (uint64_t)(*p - '0');
            if (v > (UINT64_MAX - digit) / 10)
            {
                return -1;
            }
            v = v * 10 + digit;
        }
        if (negative)
        {
            if (v > (1ULL << 63))
            {
                return -1;
            }
            v = (uint64_t)0 - v;
        }
    }
    *value = v;
    return 0;
}

static const struct name *table_for(const enum arg_kind kind)
{
    switch (kind)
    {
    case ARG_PROT:
        return PROT_TABLE;
    case ARG_MAP:
        return MAP_TABLE;
    case ARG_MREMAP:
        return MREMAP_TABLE;
    case ARG_MADV:
        return MADV_TABLE;
    default:
        return NULL;
    }
}

static int lookup_name(const struct name *table, const char *token, uint64_t *value)
{
    for (const struct name *n = table; n->name != NULL; n++)
    {
        if (strcmp(n->name, token) == 0)
        {
            *value = n->value;
            return 0;
        }
    }
    return -1;
}

/* One argument; 0 on success, else an error was reported. */
static int parse_arg(const int line, const char *call, const int index, const enum arg_kind kind, char *text, uint64_t *value)
{
    char *arg = trim(text);
    if (*arg == '\0')
    {
        parse_error(line, "%s: argument %d is empty", call, index + 1);
        return -1;
    }
    if (kind == ARG_NUMBER)
    {
        if (parse_number(arg, value) != 0)
        {
            parse_error(line, "%s: argument %d: bad number '%s'", call, index + 1, arg);
            return -1;
        }
        return 0;
    }
    if (kind == ARG_MADV && strchr(arg, '|') != NULL)
    {
        parse_error(line, "%s: argument %d: advice is one name or a number, not '%s'", call, index + 1, arg);
        return -1;
    }
    const size_t length = strlen(arg);
    if (arg[0] == '|' || arg[length - 1] == '|' || strstr(arg, "||") != NULL)
    {
        parse_error(line, "%s: argument %d: empty flag between '|'", call, index + 1);
        return -1;
    }
    uint64_t bits = 0;
    char *save = NULL;
    for (char *token = strtok_r(arg, "|", &save); token != NULL; token = strtok_r(NULL, "|", &save))
    {
        char *t = trim(token);
        uint64_t v;
        if (*t == '\0')
        {
            parse_error(line, "%s: argument %d: empty flag between '|'", call, index + 1);
            return -1;
        }
        char *shift = kind == ARG_MAP ? strstr(t, "<<") : NULL;
        if (shift != NULL)
        {
            /* strace prints mmap's huge page size bits as N<<MAP_HUGE_SHIFT */
            *shift = '\0';
            const char *what = trim(shift + 2);
            if (strcmp(what, "MAP_HUGE_SHIFT") != 0 || parse_number(trim(t), &v) != 0 || v > 63)
            {
                parse_error(line, "%s: argument %d: bad huge page size '%s<<%s'", call, index + 1, t, what);
                return -1;
            }
            v <<= MAP_HUGE_SHIFT;
        }
        else if (isdigit((unsigned char)*t) || *t == '-')
        {
            if (parse_number(t, &v) != 0)
            {
                parse_error(line, "%s: argument %d: bad number '%s'", call, index + 1, t);
                return -1;
            }
        }
        else if (lookup_name(table_for(kind), t, &v) != 0)
        {
            parse_error(line, "%s: argument %d: unknown flag '%s'", call, index + 1, t);
            return -1;
        }
        bits |= v;
    }
    *value = bits;
    return 0;
}

/* Parses one non-blank, non-comment line (already cut at " = " and trimmed) into s. */
/*
 * Blanks out C comments (strace writes one after a number for bits it cannot name) so that
 * they may stand between any two tokens; 0, or -1 for an unterminated comment.
 */
static int blank_comments(char *text)
{
    for (char *p = text; *p; p++)
    {
        if (p[0] == '/' && p[1] == '*')
        {
            char *end = strstr(p + 2, "*/");
            if (end == NULL)
            {
                return -1;
            }
            memset(p, ' ', (size_t)(end + 2 - p));
            p = end + 1;
        }
    }
    return 0;
}

/*
 * Parses one non-blank, non-comment line (trimmed) into s: a call, then nothing or '=' and
 * strace's recorded result, which is ignored. The echoed text runs from the call's name to its
 * ')' as written, comments included.
 */
static void parse_statement(const int line, const char *line_text, struct statement *s)
{
    s->line = line;
    s->text = strdup(line_text);
    memset(s->args, 0, sizeof(s->args));
    char *text = strdup(line_text);
    if (s->text == NULL || text == NULL)
    {
        fail(EXIT_HOST, "out of memory");
    }
    if (blank_comments(text) != 0)
    {
        parse_error(line, "unterminated /* comment");
        return;
    }

    char *p = text;
    s->process = 0;
    if (*p == '@')
    {
        /* @N: the process that runs the line */
        p++;
        int n = 0;
        const char *digits = p;
        while (isdigit((unsigned char)*p) && n < 1000)
        {
            n = n * 10 + (*p++ - '0');
        }
        if (p == digits || !isspace((unsigned char)*p))
        {
            parse_error(line, "expected a process number and a space after '@'");
            return;
        }
        s->process = n;
        while (isspace((unsigned char)*p))
        {
            p++;
        }
    }
    char *name = p;
    while (isalnum((unsigned char)*p) || *p == '_')
    {
        p++;
    }
    if (p == name)
    {
        parse_error(line, "expected a call name, found '%s'", text);
        return;
    }
    const char saved = *p;
    *p = '\0';
    const struct call_syntax *syntax = NULL;
    for (const struct call_syntax *c = CALLS; c->name != NULL; c++)
    {
        if (strcmp(c->name, name) == 0)
        {
            syntax = c;
        }
    }
    if (syntax == NULL)
    {
        parse_error(line, "unknown call '%s' (known: mmap munmap mprotect mremap madvise touch fork)", name);
        return;
    }
    *p = saved;
    while (isspace((unsigned char)*p))
    {
        p++;
    }
    if (*p != '(')
    {
        parse_error(line, "%s: expected '(' after the call name", syntax->name);
        return;
    }
    char *open = p;
    char *close = NULL;
    for (char *q = open + 1; *q; q++)
    {
        if (*q == '(')
        {
            parse_error(line, "%s: unbalanced parentheses", syntax->name);
            return;
        }
        if (*q == ')')
        {
            close = q;
            break;
        }
    }
    if (close == NULL)
    {
        parse_error(line, "%s: unbalanced parentheses: no ')'", syntax->name);
        return;
    }
    char *rest = trim(close + 1);
    if (*rest != '\0' && *rest != '=')
    {
        parse_error(line, "%s: trailing garbage after ')': '%s'", syntax->name, rest);
        return;
    }
    ((char *)s->text)[close + 1 - text] = '\0';
    *close = '\0';
    char *inside = open + 1;
    char *args[MAX_ARGS + 1];
    int count = 0;
    if (*trim(inside) != '\0')
    {
        char *start = inside;
        for (char *q = inside;; q++)
        {
            if (*q == ',' || *q == '\0')
            {
                const int last = *q == '\0';
                *q = '\0';
                if (count == MAX_ARGS)
                {
                    count++;
                    break;
                }
                args[count++] = start;
                start = q + 1;
                if (last)
                {
                    break;
                }
            }
        }
    }
    if (count < syntax->min_args || count > syntax->max_args)
    {
        if (syntax->min_args == syntax->max_args)
        {
            parse_error(line, "%s takes %d arguments, found %d", syntax->name, syntax->min_args, count);
        }
        else
        {
            parse_error(line, "%s takes %d or %d arguments, found %d", syntax->name, syntax->min_args,
                syntax->max_args, count);
        }
        return;
    }
    s->call = syntax->call;
    for (int i = 0; i < count; i++)
    {
        if (parse_arg(line, syntax->name, i, syntax->kinds[i], args[i], &s->args[i]) != 0)
        {
            return;
        }
    }
    if (s->call == CALL_TOUCH && (s->args[2] & ~(uint64_t)(PROT_READ | PROT_WRITE)) != 0)
    {
        parse_error(line, "touch: access is PROT_NONE, PROT_READ, PROT_WRITE or PROT_READ|PROT_WRITE, not 0x%" PRIx64,
            s->args[2]);
    }
}

static char *read_all(const char *path, size_t *length)
{
    const int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
    {
        fail(EXIT_BAD_INPUT, "cannot open %s: %s", path, strerror(errno));
    }
    size_t capacity = 1 << 16;
    size_t used = 0;
    char *data = malloc(capacity + 1);
    for (;;)
    {
        if (data == NULL)
        {
            fail(EXIT_HOST, "out of memory reading %s", path);
        }
        if (used == capacity)
        {
            capacity *= 2;
            data = realloc(data, capacity + 1);
            continue;
        }
        const ssize_t n = read(fd, data + used, capacity - used);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n < 0)
        {
            fail(EXIT_BAD_INPUT, "cannot read %s: %s", path, strerror(errno));
        }
        if (n == 0)
        {
            break;
        }
        used += (size_t)n;
    }
    if (fd != STDIN_FILENO)
    {
        close(fd);
    }
    data[used] = '\0';
    *length = used;
    return data;
}

static struct statement *parse_script(char *data, const size_t length, int *count)
{
    int lines = 1;
    for (size_t i = 0; i < length; i++)
    {
        lines += data[i] == '\n';
    }
    struct statement *statements = calloc((size_t)lines, sizeof(*statements));
    if (statements == NULL)
    {
        fail(EXIT_HOST, "out of memory");
    }
    int n = 0;
    int line = 0;
    size_t offset = 0;
    while (offset < length)
    {
        char *text = data + offset;
        char *newline = memchr(text, '\n', length - offset);
        const size_t line_length = newline != NULL ? (size_t)(newline - text) : length - offset;
        offset += line_length + 1;
        line++;
        text[line_length] = '\0';
        if (memchr(text, '\0', line_length) != NULL)
        {
            parse_error(line, "the line contains a NUL byte");
            continue;
        }
        text = trim(text);
        if (*text == '\0' || *text == '#')
        {
            continue;
        }
        const int errors = error_count;
        struct statement *s = &statements[n++];
        parse_statement(line, text, s);
        if (error_count == errors && s->process >= process_count)
        {
            parse_error(line, "process %d does not exist here (fork() makes processes 1, 2, ...)", s->process);
        }
        else if (error_count == errors && s->call == CALL_FORK)
        {
            s->args[0] = (uint64_t)process_count; /* the child's number */
            if (++process_count > MAX_PROCESSES)
            {
                parse_error(line, "more than %d processes", MAX_PROCESSES);
            }
        }
    }
    *count = n;
    return statements;
}

/* ---------------------------------------------------------------------------------------------
 * This process's own mappings, and the window.
 */
static char *maps_buffer; /* mmap'd once, before the snapshot */

/* Reads a /proc/self file whole into maps_buffer. */
static size_t read_proc(const char *path)
{
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
    {
        fail(EXIT_HOST, "cannot open %s: %s", path, strerror(errno));
    }
    size_t used = 0;
    for (;;)
    {
        if (used == MAPS_BUFFER_SIZE - 1)
        {
            fail(EXIT_HOST, "%s is larger than %lu bytes", path, MAPS_BUFFER_SIZE);
        }
        const ssize_t n = read(fd, maps_buffer + used, MAPS_BUFFER_SIZE - 1 - used);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n < 0)
        {
            fail(EXIT_HOST, "cannot read %s: %s", path, strerror(errno));
        }
        if (n == 0)
        {
            break;
        }
        used += (size_t)n;
    }
    close(fd);
    maps_buffer[used] = '\0';
    return used;
}

static size_t read_proc_maps(void)
{
    return read_proc("/proc/self/maps");
}

/* Parses "start-end " at the head of a maps line. */
static int maps_range(const char *line, uint64_t *start, uint64_t *end)
{
    char *dash;
    *start = strtoull(line, &dash, 16);
    if (*dash != '-')
    {
        return -1;
    }
    char *space;
    *end = strtoull(dash + 1, &space, 16);
    return *space == ' ' ? 0 : -1;
}

struct range
{
    uint64_t start;
    uint64_t end;
};

static struct range host_vmas[MAX_HOST_VMAS];
static int host_vma_count;
static uint64_t window_start;
static uint64_t window_end;
static int have_window;

/* Remembers every mapping this process has now; fails unless none intersects the window. */
static void snapshot_own_mappings(void)
{
    read_proc_maps();
    host_vma_count = 0;
    for (char *line = maps_buffer; *line != '\0';)
    {
        char *eol = strchr(line, '\n');
        uint64_t start;
        uint64_t end;
        if (maps_range(line, &start, &end) != 0)
        {
            fail(EXIT_HOST, "cannot parse /proc/self/maps line: %.*s", (int)(eol ? eol - line : (long)strlen(line)), line);
        }
        if (have_window && start < window_end && end > window_start)
        {
            fail(EXIT_HOST, "the window [0x%" PRIx64 ", 0x%" PRIx64 ") is not free in this process: %.*s",
                window_start, window_end, (int)(eol ? eol - line : (long)strlen(line)), line);
        }
        if (host_vma_count == MAX_HOST_VMAS)
        {
            fail(EXIT_HOST, "more than %d mappings in this process", MAX_HOST_VMAS);
        }
        host_vmas[host_vma_count++] = (struct range){ start, end };
        line = eol ? eol + 1 : line + strlen(line);
    }
}

/* The runner's own mapping that [start, start + length) reaches, or NULL. */
static const struct range *reaches_own(const uint64_t start, const uint64_t length)
{
    if (length == 0)
    {
        return NULL;
    }
    const uint64_t first = start & ~(PAGE_SIZE - 1);
    const uint64_t last = start + length - 1 < start ? UINT64_MAX : start + length - 1;
    for (int i = 0; i < host_vma_count; i++)
    {
        if (host_vmas[i].start <= last && host_vmas[i].end > first)
        {
            return &host_vmas[i];
        }
    }
    return NULL;
}

/* Whether every syscall rejects this range before acting on it: its page-aligned end wraps. */
static int wraps(const uint64_t start, const uint64_t length)
{
    return length > UINT64_MAX - (PAGE_SIZE - 1) || start + ((length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) < start;
}

static void refuse_if_reaches_own(const struct statement *s, const uint64_t start, const uint64_t length, const int exempt_wrap)
{
    if (exempt_wrap && wraps(start, length))
    {
        return;
    }
    const struct range *own = reaches_own(start, length);
    if (own != NULL)
    {
        fail(EXIT_HOST, "%s:%d: refusing to run '%s' on the host: [0x%" PRIx64 ", +0x%" PRIx64
            ") reaches the runner's own mapping %" PRIx64 "-%" PRIx64 " (keep scripts inside the window)",
            script_name, s->line, s->text, start, length, own->start, own->end);
    }
}

/* ---------------------------------------------------------------------------------------------
 * touch: accesses under SIGSEGV/SIGBUS handlers.
 */
static sigjmp_buf touch_return;
static volatile sig_atomic_t touching;
static volatile int fault_signal;
static volatile int fault_code;
static volatile uintptr_t fault_address;

static void on_fault(const int signal, siginfo_t *info, void *context)
{
    (void)context;
    if (!touching)
    {
        /* A fault outside touch is the runner's own bug: die of it, visibly. */
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        sigaction(signal, &dfl, NULL);
        raise(signal);
        return;
    }
    touching = 0;
    fault_signal = signal;
    fault_code = info->si_code;
    fault_address = (uintptr_t)info->si_addr;
    siglongjmp(touch_return, 1);
}

static void install_fault_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) != 0 || sigaction(SIGBUS, &sa, NULL) != 0)
    {
        fail(EXIT_HOST, "sigaction: %s", strerror(errno));
    }
}

static const char *code_name(const int signal, const int code, char *buffer, const size_t size)
{
    if (signal == SIGSEGV)
    {
        switch (code)
        {
        case SEGV_MAPERR: return "SEGV_MAPERR";
        case SEGV_ACCERR: return "SEGV_ACCERR";
#ifdef SEGV_BNDERR
        case SEGV_BNDERR: return "SEGV_BNDERR";
#endif
#ifdef SEGV_PKUERR
        case SEGV_PKUERR: return "SEGV_PKUERR";
#endif
        default: break;
        }
    }
    else
    {
        switch (code)
        {
        case BUS_ADRALN: return "BUS_ADRALN";
        case BUS_ADRERR: return "BUS_ADRERR";
        case BUS_OBJERR: return "BUS_OBJERR";
#ifdef BUS_MCEERR_AR
        case BUS_MCEERR_AR: return "BUS_MCEERR_AR";
#endif
        default: break;
        }
    }
    if (code == SI_KERNEL)
    {
        return "SI_KERNEL";
    }
    snprintf(buffer, size, "%d", code);
    return buffer;
}

/* Runs touch(addr, len, prot); prints its result. */
static void touch(const uint64_t addr, const uint64_t length, const uint64_t prot)
{
    const int reads = (prot & PROT_READ) != 0;
    const int writes = (prot & PROT_WRITE) != 0;
    if (sigsetjmp(touch_return, 1) != 0)
    {
        char code[16];
        out_printf("%s {si_code=%s, si_addr=0x%" PRIxPTR "}\n", fault_signal == SIGBUS ? "SIGBUS" : "SIGSEGV",
            code_name(fault_signal, fault_code, code, sizeof(code)), fault_address);
        return;
    }
    if (reads || writes)
    {
        touching = 1;
        for (uint64_t offset = 0; offset < length; offset += PAGE_SIZE)
        {
            volatile uint8_t *byte = (volatile uint8_t *)(uintptr_t)(addr + offset);
            if (reads)
            {
                (void)*byte;
            }
            if (writes)
            {
                *byte = 0x01;
            }
            if (offset > UINT64_MAX - PAGE_SIZE)
            {
                break;
            }
        }
        touching = 0;
    }
    out_printf("0\n");
}

/* ---------------------------------------------------------------------------------------------
 * Running the statements.
 */
static void print_result(const long result, const int is_address);
static void fork_process(const int child);
static void print_result(const long result, const int is_address)
{
    if (result == -1)
    {
        const int e = errno;
        const char *name = strerrorname_np(e);
        const char *message = strerrordesc_np(e);
        if (name != NULL)
        {
            out_printf("-1 %s (%s)\n", name, message);
        }
        else
        {
            out_printf("-1 E%d (Unknown error %d)\n", e, e);
        }
        return;
    }
    if (!is_address)
    {
        out_printf("%ld\n", result);
        return;
    }
    const uint64_t address = (uint64_t)result;
    if (have_window && (address < window_start || address >= window_end))
    {
        out_printf("<outside window>\n");
    }
    else
    {
        out_printf("0x%" PRIx64 "\n", address);
    }
}

/* Refuses (exit 3) a statement that could unmap, remap or overwrite the runner's own memory. */
static void check_reach(const struct statement *s)
{
    const uint64_t *a = s->args;
    switch (s->call)
    {
    case CALL_MMAP:
        if ((a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0)
        {
            refuse_if_reaches_own(s, a[0], a[1], 1);
        }
        break;
    case CALL_MUNMAP:
    case CALL_MPROTECT:
        refuse_if_reaches_own(s, a[0], a[1], 1);
        break;
    case CALL_MREMAP:
        refuse_if_reaches_own(s, a[0], a[1], 1);
        if ((a[3] & MREMAP_FIXED) != 0)
        {
            refuse_if_reaches_own(s, a[4], a[2], 1);
        }
        break;
    case CALL_MADVISE:
        if (a[2] == MADV_HWPOISON || a[2] == MADV_SOFT_OFFLINE)
        {
            fail(EXIT_HOST, "%s:%d: refusing to run '%s' on the host: it would poison host memory", script_name,
                s->line, s->text);
        }
        refuse_if_reaches_own(s, a[0], a[1], 1);
        break;
    case CALL_TOUCH:
        if ((a[2] & (PROT_READ | PROT_WRITE)) != 0)
        {
            refuse_if_reaches_own(s, a[0], a[1], 0);
        }
        break;
    case CALL_FORK:
        break;
    }
}

static void run(const struct statement *s)
{
    const uint64_t *a = s->args;
    check_reach(s);
    out_bytes(s->text, strlen(s->text));
    out_bytes(" = ", 3);
    switch (s->call)
    {
    case CALL_MMAP:
        print_result(syscall(SYS_mmap, a[0], a[1], a[2], a[3], a[4], a[5]), 1);
        break;
    case CALL_MUNMAP:
        print_result(syscall(SYS_munmap, a[0], a[1]), 0);
        break;
    case CALL_MPROTECT:
        print_result(syscall(SYS_mprotect, a[0], a[1], a[2]), 0);
        break;
    case CALL_MREMAP:
        print_result(syscall(SYS_mremap, a[0], a[1], a[2], a[3], a[4]), 1);
        break;
    case CALL_MADVISE:
        print_result(syscall(SYS_madvise, a[0], a[1], a[2]), 0);
        break;
    case CALL_TOUCH:
        touch(a[0], a[1], a[2]);
        break;
    case CALL_FORK:
        fork_process((int)a[0]);
        break;
    }
}

static void print_maps(void)
{
    read_proc_maps();
    for (char *line = maps_buffer; *line != '\0';)
    {
        char *eol = strchr(line, '\n');
        const size_t length = eol ? (size_t)(eol - line) : strlen(line);
        uint64_t start;
        uint64_t end;
        if (maps_range(line, &start, &end) != 0)
        {
            fail(EXIT_HOST, "cannot parse /proc/self/maps line: %.*s", (int)length, line);
        }
        if (!have_window || (start < window_end && end > window_start))
        {
            out_bytes(line, length);
            out_bytes("\n", 1);
        }
        line = eol ? eol + 1 : line + length;
    }
}

/* The /proc/self/smaps blocks of the VMAs in the window. */
static void print_smaps(void)
{
    read_proc("/proc/self/smaps");
    int shown = 0;
    for (char *line = maps_buffer; *line != '\0';)
    {
        char *eol = strchr(line, '\n');
        const size_t length = eol ? (size_t)(eol - line) : strlen(line);
        uint64_t start;
        uint64_t end;
        if (maps_range(line, &start, &end) == 0)
        {
            shown = !have_window || (start < window_end && end > window_start);
        }
        if (shown)
        {
            out_bytes(line, length);
            out_bytes("\n", 1);
        }
        line = eol ? eol + 1 : line + length;
    }
}

static void print_pagemap(const int fd, const uint64_t start, const uint64_t end)
{
    uint64_t words[512];
    for (uint64_t va = start & ~(PAGE_SIZE - 1); va < end;)
    {
        const uint64_t pages = (end - va + PAGE_SIZE - 1) / PAGE_SIZE;
        const size_t count = pages < 512 ? (size_t)pages : 512;
        const ssize_t n = pread(fd, words, count * sizeof(uint64_t), (off_t)(va / PAGE_SIZE * sizeof(uint64_t)));
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n <= 0 || n % sizeof(uint64_t) != 0)
        {
            fail(EXIT_HOST, "cannot read /proc/self/pagemap at 0x%" PRIx64 ": %s", va, n < 0 ? strerror(errno) : "short read");
        }
        for (size_t i = 0; i < (size_t)n / sizeof(uint64_t); i++, va += PAGE_SIZE)
        {
            out_printf("0x%" PRIx64 " 0x%016" PRIx64 "\n", va, (uint64_t)(words[i] & ~PFN_MASK));
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Processes: fork() and the turn token.
 */
static int turn_pipes[MAX_PROCESSES][2]; /* a byte in turn_pipes[N][0]: process N's turn */
static int pagemap_fd = -1;

/* Makes the pipes before the snapshot (a pipe maps nothing, but nothing is made after it). */
static void make_turn_pipes(void)
{
    for (int i = 0; i < process_count && process_count > 1; i++)
    {
        if (pipe2(turn_pipes[i], O_CLOEXEC) != 0)
        {
            fail(EXIT_HOST, "pipe2: %s", strerror(errno));
        }
    }
}

/* Hands the turn from process `from` to process `to`: the holder flushes its output first. */
static void pass_turn(const int from, const int to)
{
    if (from == to)
    {
        return;
    }
    if (self == from)
    {
        out_flush();
        const char token = 't';
        while (write(turn_pipes[to][1], &token, 1) != 1)
        {
            if (errno != EINTR)
            {
                fail(EXIT_HOST, "passing the turn to process %d: %s", to, strerror(errno));
            }
        }
    }
    else if (self == to)
    {
        struct pollfd wait = { .fd = turn_pipes[self][0], .events = POLLIN };
        char token;
        for (;;)
        {
            const int ready = poll(&wait, 1, TURN_TIMEOUT_MS);
            if (ready < 0 && errno == EINTR)
            {
                continue;
            }
            if (ready == 0)
            {
                fail(EXIT_HOST, "process %d waited %d ms for its turn from process %d", self, TURN_TIMEOUT_MS, from);
            }
            if (ready < 0 || read(turn_pipes[self][0], &token, 1) != 1)
            {
                fail(EXIT_HOST, "process %d: waiting for its turn: %s", self, strerror(errno));
            }
            break;
        }
    }
}

/* fork() as process `child`: prints the child's number in the parent; the child goes on silently. */
static void fork_process(const int child)
{
    out_flush();
    const pid_t pid = fork();
    if (pid < 0)
    {
        print_result(-1, 0);
        return;
    }
    if (pid > 0)
    {
        out_printf("%d\n", child);
        return;
    }
    self = child;
    /* the child of a runner that fails (or is killed) must not wait for a turn forever */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() == 1)
    {
        _exit(EXIT_HOST);
    }
    if (pagemap_fd >= 0)
    {
        /* an open pagemap file reads the mm of the process that opened it */
        close(pagemap_fd);
        pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (pagemap_fd < 0)
        {
            fail(EXIT_HOST, "cannot open /proc/self/pagemap in process %d: %s", self, strerror(errno));
        }
    }
}

/* Waits for this process's children; fails unless each exited 0. */
static void reap_children(void)
{
    int status;
    pid_t pid;
    while ((pid = wait(&status)) > 0 || (pid < 0 && errno == EINTR))
    {
        if (pid > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        {
            fail(EXIT_HOST, "process %d's child %d ended with status 0x%x", self, (int)pid, status);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * THP: the host's allocation counters, to tell a deterministic run from one where compaction or
 * khugepaged decided the outcome.
 */
static const char *const THP_COUNTERS[] = {
    "thp_fault_fallback", "thp_fault_fallback_charge", "thp_collapse_alloc", "thp_zero_page_alloc_failed", NULL
};
static long long thp_counts[8];
static long long khugepaged_collapsed;
static char vmstat_buffer[1 << 16];

/* khugepaged's own count of collapses (MADV_COLLAPSE's are in thp_collapse_alloc only); -1 if unknown. */
static long long read_khugepaged_collapsed(void)
{
    const int fd = open("/sys/kernel/mm/transparent_hugepage/khugepaged/pages_collapsed", O_RDONLY | O_CLOEXEC);
    char text[32];
    const ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
    if (fd >= 0)
    {
        close(fd);
    }
    if (n <= 0)
    {
        return -1;
    }
    text[n] = '\0';
    return atoll(text);
}

static void read_thp_counters(long long *counts)
{
    const int fd = open("/proc/vmstat", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, vmstat_buffer, sizeof(vmstat_buffer) - 1);
    if (fd >= 0)
    {
        close(fd);
    }
    if (n < 0)
    {
        fail(EXIT_HOST, "cannot read /proc/vmstat: %s", strerror(errno));
    }
    vmstat_buffer[n] = '\0';
    for (int i = 0; THP_COUNTERS[i] != NULL; i++)
    {
        counts[i] = 0;
        const size_t length = strlen(THP_COUNTERS[i]);
        for (const char *line = vmstat_buffer; line != NULL && *line != '\0';)
        {
            if (strncmp(line, THP_COUNTERS[i], length) == 0 && line[length] == ' ')
            {
                counts[i] = atoll(line + length + 1);
                break;
            }
            line = strchr(line, '\n');
            line = line != NULL ? line + 1 : NULL;
        }
    }
}

static void print_thp_counter_deltas(void)
{
    long long now[8];
    read_thp_counters(now);
    fputs("thp-vmstat:", stderr);
    for (int i = 0; THP_COUNTERS[i] != NULL; i++)
    {
        fprintf(stderr, " %s=%lld", THP_COUNTERS[i], now[i] - thp_counts[i]);
    }
    fprintf(stderr, " khugepaged_pages_collapsed=%lld\n", read_khugepaged_collapsed() - khugepaged_collapsed);
}

/* ---------------------------------------------------------------------------------------------
 * Options and main.
 */
static void usage(void)
{
    fprintf(stderr, "usage: replay_ref SCRIPT [--maps] [--smaps] [--pagemap START END] [--window START END] "
                    "[--physmem SIZE] [--baseline-vmas] [--thp]\n");
    exit(EXIT_BAD_INPUT);
}

static uint64_t option_number(const char *option, const char *text)
{
    uint64_t value;
    if (text == NULL || parse_number(text, &value) != 0)
    {
        fprintf(stderr, "replay_ref: %s: bad number '%s'\n", option, text ? text : "");
        usage();
    }
    return value;
}

int main(const int argc, char **argv)
{
    const char *script = NULL;
    int maps = 0;
    int smaps = 0;
    int pagemap = 0;
    int baseline = 0;
    int thp = 0;
    uint64_t pagemap_start = 0;
    uint64_t pagemap_end = 0;
    for (int i = 1; i < argc; i++)
    {
        if (strcmp(argv[i], "--maps") == 0)
        {
            maps = 1;
        }
        else if (strcmp(argv[i], "--smaps") == 0)
        {
            smaps = 1;
        }
        else if (strcmp(argv[i], "--thp") == 0)
        {
            thp = 1;
        }
        else if (strcmp(argv[i], "--pagemap") == 0 && i + 2 < argc)
        {
            pagemap = 1;
            pagemap_start = option_number("--pagemap", argv[++i]);
            pagemap_end = option_number("--pagemap", argv[++i]);
        }
        else if (strcmp(argv[i], "--window") == 0 && i + 2 < argc)
        {
            window_start = option_number("--window", argv[++i]);
            window_end = option_number("--window", argv[++i]);
            have_window = window_start != 0 || window_end != 0;
        }
        else if (strcmp(argv[i], "--physmem") == 0 && i + 1 < argc)
        {
            i++; /* the emulator's memory size: nothing to do on the host */
        }
        else if (strcmp(argv[i], "--baseline-vmas") == 0)
        {
            baseline = 1;
        }
        else if (script == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
        {
            script = argv[i];
        }
        else
        {
            fprintf(stderr, "replay_ref: unknown or incomplete option '%s'\n", argv[i]);
            usage();
        }
    }
    if (script == NULL)
    {
        usage();
    }
    if (have_window && window_end <= window_start)
    {
        fprintf(stderr, "replay_ref: --window START END needs START < END\n");
        usage();
    }
    if (pagemap && pagemap_end < pagemap_start)
    {
        fprintf(stderr, "replay_ref: --pagemap START END needs START <= END\n");
        usage();
    }

    script_name = script;
    size_t length;
    char *data = read_all(script, &length);
    int count;
    struct statement *statements = parse_script(data, length, &count);
    if (error_count > 0)
    {
        return EXIT_BAD_INPUT;
    }

    root_pid = getpid();
    if (!thp && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
    {
        fail(EXIT_HOST, "prctl(PR_SET_THP_DISABLE): %s", strerror(errno));
    }
    maps_buffer = mmap(NULL, MAPS_BUFFER_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (maps_buffer == MAP_FAILED)
    {
        fail(EXIT_HOST, "mmap of the maps buffer: %s", strerror(errno));
    }
    pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pagemap && pagemap_fd < 0)
    {
        fail(EXIT_HOST, "cannot open /proc/self/pagemap: %s", strerror(errno));
    }
    install_fault_handlers();
    /* Warm up everything the run uses (lazy symbol binding, stdio's stderr) before the snapshot. */
    (void)strerrorname_np(EINVAL);
    (void)strerrordesc_np(EINVAL);
    out_printf("%s", "");
    make_turn_pipes();
    if (thp)
    {
        read_thp_counters(thp_counts);
        khugepaged_collapsed = read_khugepaged_collapsed();
    }
    snapshot_own_mappings();
    if (baseline)
    {
        /* mm->map_count: every line but the [vsyscall] gate area, which is no VMA of ours. */
        int vmas = 0;
        for (int i = 0; i < host_vma_count; i++)
        {
            vmas += host_vmas[i].start < (1ULL << 47);
        }
        fprintf(stderr, "baseline-vmas: %d\n", vmas);
    }

    /* Every process walks the whole list (a child from the line after its fork); `turn` is the
     * same in all of them: the process whose line ran last. */
    int turn = 0;
    for (int i = 0; i < count; i++)
    {
        pass_turn(turn, statements[i].process);
        turn = statements[i].process;
        if (self == turn)
        {
            run(&statements[i]);
        }
    }
    for (int process = 0; process < process_count; process++)
    {
        pass_turn(turn, process);
        turn = process;
        if (self != process)
        {
            continue;
        }
        if (process_count > 1)
        {
            out_printf("--- process %d\n", process);
        }
        if (maps)
        {
            print_maps();
        }
        if (smaps)
        {
            print_smaps();
        }
        if (pagemap)
        {
            print_pagemap(pagemap_fd, pagemap_start, pagemap_end);
        }
    }
    /* One more round before anyone exits: a process gone early would change what the later ones
     * print (mapcounts, Pss, the exclusive bit). Each waits here until the last views are out. */
    for (int process = 0; process < process_count && process_count > 1; process++)
    {
        pass_turn(turn, process);
        turn = process;
    }
    out_flush();
    reap_children();
    if (self == 0 && thp)
    {
        print_thp_counter_deltas();
    }
    return 0;
}
