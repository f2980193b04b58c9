// SPDX-License-Identifier: Apache-2.0
/*
 * host_run: `mmemu run PROGRAM --host` -- a parsed mmemu program, run on the host kernel.
 *
 * The JVM parses and checks the program (one parser), lowers it to the instruction image below
 * (io.mmemu.program.HostImage writes it; the layout is written down there and here), writes it to
 * this process's standard input, and reads the lines this process prints. Built on first use by
 * io.mmemu.program.HostRunner with the system's C compiler and cached under the temp directory.
 *
 * Image: little-endian 64-bit words.
 *   header   MAGIC VERSION slots events named_threads seed duration_ns(-1: none) default_threads
 *            reserved(0) reserved(0)
 *   names    the events' names, then the named threads': each n_bytes, then the bytes in words
 *   block    n_statements, then each statement
 *   stmt     op line column, then by op:
 *     CALL      id call nargs expr*nargs slot(-1) stride random seed value (exprs, len 0 = absent)
 *               n_expect (kind number address expr)*n_expect
 *     ASSIGN    slot expr
 *     REPEAT    count(expr) index_slot(-1) block
 *     FOR       nanos block
 *     UNTIL     event block
 *     PARALLEL  count(expr, len 0 = the default threads) block
 *     THREAD    index block               JOIN index      BARRIER      POST event
 *     WAIT      event                     SLEEP nanos     SIGNALS fatal
 *   expr     n_words, then RPN words: CONST(next word is the value) | VAR slot | ADD SUB MUL |
 *            DIV MOD (line << 20 | column in the payload); a word is kind | payload << 8.
 *
 * `host_run --check` reads the image, sets up and refuses as a run would, and exits before the run.
 *
 * Output, one fact a line (read by io.mmemu.program.HostRun):
 *   refuse LINE COLUMN reason      (before the run; exit 3)
 *   start                          tick ELAPSED_NS FAULTS PTE_KB ANON_KB RSS_KB HWM_KB
 *   fail ID SIGNAL VALUE ADDR N V1..VN     mismatch ID COUNT VALUE SEEN ADDR
 *   error LINE COLUMN reason       killed ID SIGNAL ADDR          deadlock TEXT
 *   at the end: wall NS / faults N / signals MAPERR ACCERR SI_KERNEL BUS / statements N /
 *   failed N / lat VALUE COUNT (repeated) / memory PTE_KB ANON_KB RSS_KB HWM_KB / interrupted 0|1 / done
 *
 * Signal codes are mmemu's (io.mmemu.vm.Signal): 1 SEGV_MAPERR, 2 SEGV_ACCERR, 3 BUS_ADRERR (any
 * SIGBUS), 4 SI_KERNEL. Exit status: 0 the run ended (whatever the program did), 2 a malformed
 * image, 3 refused before the run, anything else a failure of the runner itself.
 *
 * Safety: the program runs in this process, never in the JVM. Before the first statement every
 * buffer, thread stack and heap byte the runner will use is allocated, and a snapshot of
 * /proc/self/maps is taken: those are the runner's own mappings, and the program's window is the
 * rest of the address space. After the snapshot the runner maps nothing (thread stacks come from
 * a pool, the heap is pre-grown and never trimmed, one malloc arena), so a statement whose range
 * reaches a snapshot mapping is the only way to hurt the runner: with constant arguments it is
 * refused before the run, with computed ones it stops the run with an error. ASLR is turned off
 * (personality, a re-exec) when the host allows it, so that refusals do not depend on the run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/mman.h>
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x4d4d484f53543031ULL /* "MMHOST01" */
#define VERSION 1
#define EXIT_BAD_IMAGE 2
#define EXIT_REFUSED 3
#define EXIT_RUNNER 4
#define MAX_THREADS 1024
#define STACK_SIZE (256UL << 10)
#define KEPT_FAILURES 20
#define EXPR_STACK 64
#define HEAP_HEADROOM (16UL << 20)
#define MAX_OWN 4096
#define PAGE 4096ULL

enum op { OP_CALL = 1, OP_ASSIGN, OP_REPEAT, OP_FOR, OP_UNTIL, OP_PARALLEL, OP_THREAD, OP_JOIN, OP_BARRIER,
    OP_POST, OP_WAIT, OP_SLEEP, OP_SIGNALS };
enum call { C_MMAP, C_MUNMAP, C_MPROTECT, C_MREMAP, C_MADVISE, C_PKEY_MPROTECT, C_TOUCH };
enum expr_kind { E_CONST = 1, E_VAR, E_ADD, E_SUB, E_MUL, E_DIV, E_MOD };
enum expect_kind { EXPECT_OK, EXPECT_ERRNO, EXPECT_SIGNAL, EXPECT_VALUE };
enum sig { S_NONE, S_MAPERR, S_ACCERR, S_BUS, S_SIKERNEL };
#define ANY_SEGV (-1)
#define ANY_ADDRESS (-1LL)

/* ------------------------------------------------------------------------------------------ image */

struct expr
{
    int n;
    const int64_t *w;
};

struct expectation
{
    int kind;
    int number;
    int64_t address;
    struct expr value;
};

struct node;

/*
 * A statement's failures of one kind: how many, and the addresses of the first and the last. The
 * thread that takes the count from 0 writes the first address; the last is whichever store came
 * last. Relaxed atomics: read only after every thread has ended.
 */
enum failure_kind { FAIL_OUTCOME, FAIL_BYTES }; /* numbered as the Java side's FailureGroups.Kind */
struct tally
{
    uint64_t count;
    int64_t first, last;
};

struct block
{
    int n;
    struct node *nodes;
    int thread_nodes; /* THREAD statements directly in it: children it may have to join */
};

struct node
{
    int op, line, column;
    int id, call, nargs, slot, index, event, fatal, n_expect;
    struct expr args[6], stride, random, seed, value, count;
    struct expectation *expect;
    int64_t nanos;
    struct block body;
    struct tally tally[2]; /* a call's failed expectations, by kind (FAIL_OUTCOME, FAIL_BYTES) */
};

static const int64_t *image;
static size_t image_words;
static size_t cursor;
static int64_t slots, events, named_threads, seed_option, duration_option, default_threads;
static struct block program;
static char **thread_names;
static char **event_names;

/*
 * The runner's own descriptors. The program has no files (as on the emulator, where every fd is
 * EBADF), so before the run they move above LOW_FDS and every descriptor below is closed.
 */
#define LOW_FDS 512
static int out_fd = STDOUT_FILENO;
static int err_fd = STDERR_FILENO;
static int status_fd = -1;

static void die(const int status, const char *format, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(const int status, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    dprintf(err_fd, "host_run: ");
    vdprintf(err_fd, format, ap);
    dprintf(err_fd, "\n");
    va_end(ap);
    exit(status);
}

static int64_t word(void)
{
    if (cursor >= image_words)
    {
        die(EXIT_BAD_IMAGE, "image ends early");
    }
    return image[cursor++];
}

static struct expr read_expr(void)
{
    struct expr e;
    e.n = (int)word();
    if (e.n < 0 || cursor + (size_t)e.n > image_words)
    {
        die(EXIT_BAD_IMAGE, "bad expression length");
    }
    e.w = image + cursor;
    cursor += (size_t)e.n;
    return e;
}

static void read_block(struct block *b);

static void read_node(struct node *n)
{
    memset(n, 0, sizeof(*n));
    n->op = (int)word();
    n->line = (int)word();
    n->column = (int)word();
    n->slot = -1;
    switch (n->op)
    {
    case OP_CALL:
        n->id = (int)word();
        n->call = (int)word();
        n->nargs = (int)word();
        if (n->nargs < 0 || n->nargs > 6)
        {
            die(EXIT_BAD_IMAGE, "bad argument count");
        }
        for (int i = 0; i < n->nargs; i++)
        {
            n->args[i] = read_expr();
        }
        n->slot = (int)word();
        n->stride = read_expr();
        n->random = read_expr();
        n->seed = read_expr();
        n->value = read_expr();
        n->n_expect = (int)word();
        n->expect = calloc((size_t)n->n_expect + 1, sizeof(struct expectation));
        for (int i = 0; i < n->n_expect; i++)
        {
            n->expect[i].kind = (int)word();
            n->expect[i].number = (int)word();
            n->expect[i].address = word();
            n->expect[i].value = read_expr();
        }
        break;
    case OP_ASSIGN:
        n->slot = (int)word();
        n->value = read_expr();
        break;
    case OP_REPEAT:
        n->count = read_expr();
        n->slot = (int)word();
        read_block(&n->body);
        break;
    case OP_FOR:
        n->nanos = word();
        read_block(&n->body);
        break;
    case OP_UNTIL:
        n->event = (int)word();
        read_block(&n->body);
        break;
    case OP_PARALLEL:
        n->count = read_expr();
        read_block(&n->body);
        break;
    case OP_THREAD:
        n->index = (int)word();
        read_block(&n->body);
        break;
    case OP_JOIN:
        n->index = (int)word();
        break;
    case OP_BARRIER:
        break;
    case OP_POST:
    case OP_WAIT:
        n->event = (int)word();
        break;
    case OP_SLEEP:
        n->nanos = word();
        break;
    case OP_SIGNALS:
        n->fatal = (int)word();
        break;
    default:
        die(EXIT_BAD_IMAGE, "unknown statement %d", n->op);
    }
}

static void read_block(struct block *b)
{
    b->n = (int)word();
    if (b->n < 0 || (size_t)b->n > image_words)
    {
        die(EXIT_BAD_IMAGE, "bad block length");
    }
    b->nodes = calloc((size_t)b->n + 1, sizeof(struct node));
    b->thread_nodes = 0;
    for (int i = 0; i < b->n; i++)
    {
        read_node(&b->nodes[i]);
        b->thread_nodes += b->nodes[i].op == OP_THREAD;
    }
}

static char **read_names(const int64_t count)
{
    char **names = calloc((size_t)count + 1, sizeof(char *));
    for (int64_t i = 0; i < count; i++)
    {
        const int64_t length = word();
        if (length < 0 || length > 4096 || cursor + (size_t)(length + 7) / 8 > image_words)
        {
            die(EXIT_BAD_IMAGE, "bad name");
        }
        names[i] = calloc((size_t)length + 1, 1);
        memcpy(names[i], image + cursor, (size_t)length);
        cursor += (size_t)(length + 7) / 8;
    }
    return names;
}

static void read_image(void)
{
    size_t capacity = 1 << 16;
    size_t used = 0;
    char *bytes = malloc(capacity);
    for (;;)
    {
        if (used == capacity)
        {
            capacity *= 2;
            bytes = realloc(bytes, capacity);
        }
        const ssize_t n = read(STDIN_FILENO, bytes + used, capacity - used);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n < 0)
        {
            die(EXIT_BAD_IMAGE, "reading the image: %s", strerror(errno));
        }
        if (n == 0)
        {
            break;
        }
        used += (size_t)n;
    }
    image = (const int64_t *)bytes;
    image_words = used / 8;
    if (word() != (int64_t)MAGIC || word() != VERSION)
    {
        die(EXIT_BAD_IMAGE, "not an mmemu host image of version %d", VERSION);
    }
    slots = word();
    events = word();
    named_threads = word();
    seed_option = word();
    duration_option = word();
    default_threads = word();
    (void)word(); /* reserved */
    (void)word(); /* reserved */
    if (slots < 2 || events < 0 || named_threads < 0 || events > (int64_t)image_words ||
        named_threads > (int64_t)image_words)
    {
        die(EXIT_BAD_IMAGE, "bad header");
    }
    event_names = read_names(events);
    thread_names = read_names(named_threads);
    read_block(&program);
}

/* ------------------------------------------------------------------------------------ expressions */

struct thread;
static int run_error(struct thread *t, int line, int column, const char *format, ...) __attribute__((format(printf, 4, 5)));

/* 0 with the value in *out, or -1 after a run error (division by zero). */
static int eval(struct thread *t, const int64_t *frame, const struct expr *e, uint64_t *out)
{
    uint64_t stack[EXPR_STACK];
    int top = 0;
    for (int i = 0; i < e->n; i++)
    {
        const int64_t w = e->w[i];
        const int kind = (int)(w & 0xff);
        const int64_t payload = w >> 8;
        if (top == EXPR_STACK && (kind == E_CONST || kind == E_VAR))
        {
            return run_error(t, 0, 0, "an expression nests deeper than the host runner's %d levels", EXPR_STACK);
        }
        if (kind == E_CONST)
        {
            stack[top++] = (uint64_t)e->w[++i];
            continue;
        }
        if (kind == E_VAR)
        {
            stack[top++] = (uint64_t)frame[payload];
            continue;
        }
        const uint64_t b = stack[--top];
        const uint64_t a = stack[--top];
        switch (kind)
        {
        case E_ADD: stack[top++] = a + b; break;
        case E_SUB: stack[top++] = a - b; break;
        case E_MUL: stack[top++] = a * b; break;
        case E_DIV:
        case E_MOD:
            if (b == 0)
            {
                return run_error(t, (int)(payload >> 20), (int)(payload & 0xfffff), "division by zero");
            }
            stack[top++] = kind == E_DIV ? a / b : a % b;
            break;
        default:
            die(EXIT_BAD_IMAGE, "bad expression word");
        }
    }
    *out = stack[0];
    return 0;
}

static int constant(const struct expr *e, uint64_t *out)
{
    if (e->n == 2 && (e->w[0] & 0xff) == E_CONST)
    {
        *out = (uint64_t)e->w[1];
        return 1;
    }
    return 0;
}

/* --------------------------------------------------------------------------- the runner's own memory */

struct range
{
    uint64_t start, end;
};

static struct range own[MAX_OWN];
static int own_count;
static char maps_text[1 << 20];

static void snapshot_own_mappings(void)
{
    const int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
    {
        die(EXIT_RUNNER, "cannot open /proc/self/maps: %s", strerror(errno));
    }
    size_t used = 0;
    ssize_t n;
    while ((n = read(fd, maps_text + used, sizeof(maps_text) - 1 - used)) > 0)
    {
        used += (size_t)n;
    }
    close(fd);
    maps_text[used] = '\0';
    for (char *line = maps_text; *line != '\0' && own_count < MAX_OWN;)
    {
        char *end;
        const uint64_t start = strtoull(line, &end, 16);
        const uint64_t stop = strtoull(end + 1, &end, 16);
        own[own_count++] = (struct range){ start, stop };
        char *eol = strchr(line, '\n');
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
    const uint64_t first = start & ~(PAGE - 1);
    const uint64_t last = start + length - 1 < start ? UINT64_MAX : start + length - 1;
    for (int i = 0; i < own_count; i++)
    {
        if (own[i].start <= last && own[i].end > first)
        {
            return &own[i];
        }
    }
    return NULL;
}

/* Whether every syscall rejects this range before acting on it: its page-aligned end wraps. */
static int wraps(const uint64_t start, const uint64_t length)
{
    return length > UINT64_MAX - (PAGE - 1) || start + ((length + PAGE - 1) & ~(PAGE - 1)) < start;
}

/* A range as a call gives it: start and length. */
struct span
{
    uint64_t start, length;
};

/* The ranges a call acts on: up to two (mremap's old and new); a touch's whole range. */
static int call_ranges(const int call, const uint64_t *a, struct span *r)
{
    switch (call)
    {
    case C_MMAP:
        if ((a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE)) == 0 || wraps(a[0], a[1]))
        {
            return 0;
        }
        r[0] = (struct span){ a[0], a[1] };
        return 1;
    case C_MREMAP:
    {
        int n = 0;
        if (!wraps(a[0], a[1]))
        {
            r[n++] = (struct span){ a[0], a[1] };
        }
        if ((a[3] & MREMAP_FIXED) != 0 && !wraps(a[4], a[2]))
        {
            r[n++] = (struct span){ a[4], a[2] };
        }
        return n;
    }
    case C_TOUCH:
        r[0] = (struct span){ a[0], a[1] };
        return 1;
    default:
        if (wraps(a[0], a[1]))
        {
            return 0;
        }
        r[0] = (struct span){ a[0], a[1] };
        return 1;
    }
}

/* ------------------------------------------------------------------------------------ histograms */

/* Log-linear: 32 sub-buckets per power of two (~3%), values up to 2^40 ns. */
#define SUB_BITS 5
#define BUCKETS ((41 - SUB_BITS) << SUB_BITS)

static int bucket_of(uint64_t v)
{
    if (v >= (1ULL << 40))
    {
        v = (1ULL << 40) - 1;
    }
    if (v < (1ULL << SUB_BITS))
    {
        return (int)v;
    }
    const int e = 63 - __builtin_clzll(v);
    return ((e - SUB_BITS + 1) << SUB_BITS) + (int)((v >> (e - SUB_BITS)) & ((1 << SUB_BITS) - 1));
}

/* The middle of a bucket's values. */
static uint64_t bucket_value(const int b)
{
    if (b < (1 << SUB_BITS))
    {
        return (uint64_t)b;
    }
    const int e = (b >> SUB_BITS) + SUB_BITS - 1;
    const uint64_t low = (1ULL << e) + ((uint64_t)(b & ((1 << SUB_BITS) - 1)) << (e - SUB_BITS));
    return low + ((1ULL << (e - SUB_BITS)) >> 1);
}

static uint64_t fault_latency[BUCKETS]; /* guarded by sched */

/* -------------------------------------------------------------------------------------- scheduler */

struct group
{
    int parties, arrived;
    uint64_t generation;
};

enum wait_kind { W_POSTS, W_BARRIER, W_JOIN };

struct thread
{
    int in_use;
    uint64_t serial;
    pthread_t pthread;
    char name[96];
    int64_t *frame;
    uint64_t *waits;
    struct handle { int slot; uint64_t serial; } *started;
    struct group *group;
    uint64_t rng, gamma;
    int fatal;
    int done;          /* guarded by sched */
    const struct block *body;
    /* blocked on, guarded by sched */
    int blocked;
    int wait_kind;
    uint64_t wait_a, wait_b;
    const void *wait_ptr;
    char what[128];
    /* touch, this thread only and its signal handler */
    sigjmp_buf touch_return;
    volatile sig_atomic_t touching;
    volatile int fault_signal;
    volatile uint64_t fault_address;
};

static pthread_mutex_t sched = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed;
static struct thread threads[MAX_THREADS];
static char *stack_pool;
static int64_t *frame_pool;
static uint64_t *waits_pool;
static struct handle *started_pool;
static uint64_t *posts;               /* written under sched; read also without (until loops) */
static int live;                      /* guarded by sched */
static int blocked_count;             /* guarded by sched */
static volatile int stopped;
static volatile sig_atomic_t termination;
static uint64_t serials;
static char deadlock_text[8192];
static int64_t start_ns, end_ns, loops_deadline = INT64_MAX;
static volatile int loops_over;
static uint64_t statements, failed, signal_counts[5]; /* relaxed atomics */
static uint64_t thread_faults;                        /* guarded by sched */
static int errored;

static __thread struct thread *self;
/* The pseudo-parent of the program's main thread: its initial frame. */
static struct thread root;
/* The thread's touch buffers (on its stack): scratch per touch, fault latencies of the thread. */
static __thread uint64_t *scratch_of, *latency_of;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void emit(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* One line to stdout with one write(2): lines of different threads never interleave. */
static void emit(const char *format, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(line, sizeof(line) - 1, format, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2)
    {
        n = (int)sizeof(line) - 2;
    }
    line[n++] = '\n';
    for (int done = 0; done < n;)
    {
        const ssize_t w = write(out_fd, line + done, (size_t)(n - done));
        if (w < 0 && errno != EINTR)
        {
            _exit(EXIT_RUNNER);
        }
        done += w > 0 ? (int)w : 0;
    }
}

/* Counts a failure of kind k of call n at address; returns 1 for the statement's first of that kind. */
static int tallied(const struct node *n, const int k, const int64_t address)
{
    /* the image is read-only while the program runs, but for its tallies (nodes are calloc'd, never const objects) */
    struct tally *tally = (struct tally *)&n->tally[k];
    const uint64_t before = __atomic_fetch_add(&tally->count, 1, __ATOMIC_RELAXED);
    if (before == 0)
    {
        __atomic_store_n(&tally->first, address, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&tally->last, address, __ATOMIC_RELAXED);
    return before == 0;
}

/* {@code group ID KIND COUNT FIRST LAST} for every statement of b that failed, depth first; after every thread ended. */
static void emit_groups(const struct block *b)
{
    for (int i = 0; i < b->n; i++)
    {
        const struct node *n = &b->nodes[i];
        for (int k = FAIL_OUTCOME; n->op == OP_CALL && k <= FAIL_BYTES; k++)
        {
            if (n->tally[k].count != 0)
            {
                emit("group %d %d %" PRIu64 " %" PRId64 " %" PRId64, n->id, k, n->tally[k].count, n->tally[k].first,
                    n->tally[k].last);
            }
        }
        emit_groups(&n->body);
    }
}

/* Caller holds sched. */
static void stop_locked(void)
{
    stopped = 1;
    pthread_cond_broadcast(&changed);
}

static int run_error(struct thread *t, const int line, const int column, const char *format, ...)
{
    (void)t;
    char reason[512];
    va_list ap;
    va_start(ap, format);
    vsnprintf(reason, sizeof(reason), format, ap);
    va_end(ap);
    pthread_mutex_lock(&sched);
    if (!errored)
    {
        errored = 1;
        emit("error %d %d %s", line, column, reason);
    }
    stop_locked();
    pthread_mutex_unlock(&sched);
    return -1;
}

/* Caller holds sched. */
static int condition_holds(const struct thread *t)
{
    switch (t->wait_kind)
    {
    case W_POSTS: return posts[t->wait_a] >= t->wait_b;
    case W_BARRIER: return ((const struct group *)t->wait_ptr)->generation != t->wait_a;
    default: return threads[t->wait_a].serial != t->wait_b || threads[t->wait_a].done;
    }
}

/* Caller holds sched. */
static void check_deadlock(void)
{
    if (stopped || live == 0 || blocked_count < live)
    {
        return;
    }
    for (int i = 0; i < MAX_THREADS; i++)
    {
        if (threads[i].in_use && threads[i].blocked && condition_holds(&threads[i]))
        {
            return;
        }
    }
    size_t n = (size_t)snprintf(deadlock_text, sizeof(deadlock_text), "deadlock: every thread waits and none can go on:");
    for (int i = 0; i < MAX_THREADS && n < sizeof(deadlock_text); i++)
    {
        if (threads[i].in_use && threads[i].blocked)
        {
            n += (size_t)snprintf(deadlock_text + n, sizeof(deadlock_text) - n, " %s at %s;", threads[i].name, threads[i].what);
        }
    }
    if (n < sizeof(deadlock_text))
    {
        deadlock_text[n - 1] = '\0';
    }
    emit("deadlock %s", deadlock_text);
    stop_locked();
}

/* Waits until the condition set in t holds: 0, or -1 when the run stops (unless even_if_stopped). */
static int await(struct thread *t, const int even_if_stopped)
{
    pthread_mutex_lock(&sched);
    int status = 0;
    if (!condition_holds(t))
    {
        t->blocked = 1;
        blocked_count++;
        while (!condition_holds(t))
        {
            if (stopped && !even_if_stopped)
            {
                status = -1;
                break;
            }
            check_deadlock();
            if (stopped && !even_if_stopped)
            {
                status = -1;
                break;
            }
            pthread_cond_wait(&changed, &sched);
        }
        t->blocked = 0;
        blocked_count--;
    }
    pthread_mutex_unlock(&sched);
    return even_if_stopped && stopped ? -1 : status;
}

static void waiting_at(struct thread *t, const struct node *n, const char *what)
{
    snprintf(t->what, sizeof(t->what), "'%.80s' (line %d)", what, n->line);
}

/* ------------------------------------------------------------------------------- random (SplitMix) */

#define GOLDEN_GAMMA 0x9e3779b97f4a7c15ULL

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* SplittableRandom.mixGamma: an odd gamma with enough bit transitions. */
static uint64_t mix_gamma(uint64_t z)
{
    z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdULL;
    z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ULL;
    z = (z ^ (z >> 33)) | 1ULL;
    return __builtin_popcountll(z ^ (z >> 1)) < 24 ? z ^ 0xaaaaaaaaaaaaaaaaULL : z;
}

static uint64_t next_long(uint64_t *seed, const uint64_t gamma)
{
    *seed += gamma;
    return mix64(*seed);
}

/* java.util.SplittableRandom.nextLong(bound)'s rejection loop, bound > 0 (signed). */
static uint64_t next_below(uint64_t *seed, const uint64_t gamma, const uint64_t bound)
{
    uint64_t r = next_long(seed, gamma);
    const uint64_t m = bound - 1;
    if ((bound & m) == 0)
    {
        return r & m;
    }
    for (uint64_t u = r >> 1; (int64_t)(u + m - (r = u % bound)) < 0; u = next_long(seed, gamma) >> 1)
    {
    }
    return r;
}

/* ------------------------------------------------------------------------------------------ touch */

static void on_fault(const int signal, siginfo_t *info, void *context)
{
    (void)context;
    struct thread *t = self;
    if (t == NULL || !t->touching)
    {
        /* a fault outside a touch is the runner's own bug: die of it, visibly */
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        sigaction(signal, &dfl, NULL);
        raise(signal);
        return;
    }
    t->touching = 0;
    if (signal == SIGBUS)
    {
        t->fault_signal = S_BUS;
    }
    else
    {
        t->fault_signal = info->si_code == SEGV_MAPERR ? S_MAPERR : info->si_code == SI_KERNEL ? S_SIKERNEL : S_ACCERR;
    }
    t->fault_address = (uint64_t)(uintptr_t)info->si_addr;
    siglongjmp(t->touch_return, 1);
}

static void on_terminate(const int signal)
{
    (void)signal;
    termination = 1;
}

static uint64_t thread_faults_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
}

struct touch_result
{
    int signal;
    uint64_t address;
    uint64_t mismatches, mismatch_address;
    int mismatch_seen;
};

/*
 * One access; returns its time. Volatile accesses: the compiler keeps each one, in order.
 */
static inline void access_byte(const uint64_t va, const int reads, const int writes, const int value, const int check,
    struct touch_result *r)
{
    volatile uint8_t *byte = (volatile uint8_t *)(uintptr_t)va;
    if (reads)
    {
        const int seen = *byte;
        if (check >= 0 && !writes && seen != check && r->mismatches++ == 0)
        {
            r->mismatch_address = va;
            r->mismatch_seen = seen;
        }
    }
    if (writes)
    {
        *byte = (uint8_t)value;
    }
}

/*
 * The touch: every access timed into scratch; afterwards the F slowest, F being the faults the
 * thread took meanwhile (getrusage), go to the thread's fault-latency histogram.
 */
static void touch(struct thread *t, const uint64_t *a, const uint64_t stride, const int is_random, const uint64_t count,
    uint64_t *rng, uint64_t gamma, const int value, const int check, uint64_t *scratch, uint64_t *latency,
    struct touch_result *r)
{
    memset(r, 0, sizeof(*r));
    const uint64_t addr = a[0];
    const uint64_t length = a[1];
    const int reads = (a[2] & PROT_READ) != 0;
    const int writes = (a[2] & PROT_WRITE) != 0;
    if ((!reads && !writes) || (is_random && length == 0))
    {
        return;
    }
    const uint64_t faults_before = thread_faults_now();
    volatile int low = BUCKETS;
    volatile int high = -1;
    volatile uint64_t i = 0;
    t->fault_signal = S_NONE;
    if (sigsetjmp(t->touch_return, 1) == 0)
    {
        t->touching = 1;
        const uint64_t positions = is_random ? (length - 1) / stride + 1 : 0;
        for (uint64_t offset = 0; is_random ? i < count : offset < length; i++)
        {
            uint64_t va;
            if (is_random)
            {
                const uint64_t p = (int64_t)positions <= 0 ? next_long(rng, gamma) & INT64_MAX : next_below(rng, gamma, positions);
                va = addr + p * stride;
            }
            else
            {
                va = addr + offset;
            }
            const int64_t t0 = now_ns();
            access_byte(va, reads, writes, value, check, r);
            const int b = bucket_of((uint64_t)(now_ns() - t0));
            scratch[b]++;
            low = b < low ? b : low;
            high = b > high ? b : high;
            if ((i & 0xff) == 0xff && stopped)
            {
                break;
            }
            if (!is_random)
            {
                if (offset + stride < offset)
                {
                    break;
                }
                offset += stride;
            }
        }
        t->touching = 0;
    }
    r->signal = t->fault_signal;
    r->address = t->fault_address;
    uint64_t faults = thread_faults_now() - faults_before;
    for (int b = high; b >= low && b >= 0; b--)
    {
        const uint64_t take = scratch[b] < faults ? scratch[b] : faults;
        latency[b] += take;
        faults -= take;
        scratch[b] = 0;
    }
}

/* ------------------------------------------------------------------------------------- statements */

static int run_block(struct thread *t, const struct block *b);

static long raw_call(const int call, const uint64_t *a)
{
    switch (call)
    {
    case C_MMAP: return syscall(SYS_mmap, a[0], a[1], a[2], a[3], a[4], a[5]);
    case C_MUNMAP: return syscall(SYS_munmap, a[0], a[1]);
    case C_MPROTECT: return syscall(SYS_mprotect, a[0], a[1], a[2]);
    case C_MREMAP: return syscall(SYS_mremap, a[0], a[1], a[2], a[3], a[4]);
    case C_MADVISE: return syscall(SYS_madvise, a[0], a[1], a[2]);
    default: return syscall(SYS_pkey_mprotect, a[0], a[1], a[2], a[3]);
    }
}

static int met(struct thread *t, const struct expectation *x, const int signal, const int64_t value, const uint64_t address,
    int *ok)
{
    const int errno_value = signal == S_NONE && (uint64_t)value >= (uint64_t)-4095 ? (int)-value : 0;
    uint64_t v;
    switch (x->kind)
    {
    case EXPECT_OK: *ok = signal == S_NONE && errno_value == 0; return 0;
    case EXPECT_ERRNO: *ok = signal == S_NONE && errno_value == x->number; return 0;
    case EXPECT_SIGNAL:
        *ok = signal != S_NONE && (x->number == ANY_SEGV ? signal != S_BUS : signal == x->number) &&
            (x->address == ANY_ADDRESS || (int64_t)address == x->address);
        return 0;
    default:
        if (eval(t, t->frame, &x->value, &v) != 0)
        {
            return -1;
        }
        *ok = signal == S_NONE && (uint64_t)value == v;
        return 0;
    }
}

static int call(struct thread *t, const struct node *n, uint64_t *scratch, uint64_t *latency)
{
    uint64_t a[6] = { 0 };
    for (int i = 0; i < n->nargs; i++)
    {
        if (eval(t, t->frame, &n->args[i], &a[i]) != 0)
        {
            return -1;
        }
    }
    struct span spans[2];
    const int nspans = call_ranges(n->call, a, spans);
    for (int i = 0; i < nspans; i++)
    {
        const struct range *hit = reaches_own(spans[i].start, spans[i].length);
        if (hit != NULL)
        {
            return run_error(t, n->line, n->column, "refusing to run this on the host: [0x%" PRIx64 ", +0x%" PRIx64
                ") reaches the runner's own mapping %" PRIx64 "-%" PRIx64, spans[i].start, spans[i].length, hit->start,
                hit->end);
        }
    }
    int signal = S_NONE;
    int64_t value = 0;
    uint64_t address = 0;
    struct touch_result touched = { 0 };
    uint64_t check_value = 0;
    if (n->call == C_TOUCH)
    {
        uint64_t stride = PAGE;
        if (n->stride.n > 0 && eval(t, t->frame, &n->stride, &stride) != 0)
        {
            return -1;
        }
        if (stride == 0)
        {
            return run_error(t, n->line, n->column, "touch's stride is 0");
        }
        int byte = 1;
        int check = -1;
        if (n->value.n > 0)
        {
            if (eval(t, t->frame, &n->value, &check_value) != 0)
            {
                return -1;
            }
            if (check_value > 0xff)
            {
                return run_error(t, n->line, n->column, "touch's value must be a byte, 0 to 255, not %" PRId64, (int64_t)check_value);
            }
            byte = (int)check_value;
            check = (int)check_value;
        }
        uint64_t count = 0;
        uint64_t fixed_seed = 0;
        if (n->random.n > 0 && eval(t, t->frame, &n->random, &count) != 0)
        {
            return -1;
        }
        if (n->seed.n > 0 && eval(t, t->frame, &n->seed, &fixed_seed) != 0)
        {
            return -1;
        }
        uint64_t *rng = &t->rng;
        uint64_t gamma = t->gamma;
        if (n->seed.n > 0)
        {
            rng = &fixed_seed;
            gamma = GOLDEN_GAMMA;
        }
        touch(t, a, stride, n->random.n > 0, count, rng, gamma, byte, check, scratch, latency, &touched);
        signal = touched.signal;
        address = touched.address;
    }
    else
    {
        const long r = raw_call(n->call, a);
        value = r == -1 ? -(int64_t)errno : (int64_t)r;
    }
    /* plain counters, summed after every thread has ended: relaxed atomics, no lock on the way of the program */
    __atomic_fetch_add(&statements, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&signal_counts[signal], 1, __ATOMIC_RELAXED);
    if (stopped)
    {
        return -1; /* a touch cut short by a stop proves nothing: no expectation checked */
    }
    if (n->slot >= 0)
    {
        t->frame[n->slot] = signal == S_NONE ? value : 0;
    }
    int ok = n->n_expect == 0;
    for (int i = 0; i < n->n_expect && !ok; i++)
    {
        if (met(t, &n->expect[i], signal, value, address, &ok) != 0)
        {
            return -1;
        }
    }
    if (!ok)
    {
        const uint64_t kept = __atomic_fetch_add(&failed, 1, __ATOMIC_RELAXED);
        /* the emulator's address of a failure: where it faulted, else the call's first argument */
        const int64_t where = signal != S_NONE ? (int64_t)address : n->nargs > 0 ? (int64_t)a[0] : 0;
        if (tallied(n, FAIL_OUTCOME, where) || kept < KEPT_FAILURES)
        {
            char values[1024];
            size_t len = 0;
            values[0] = '\0';
            for (int i = 0; i < n->n_expect && len < sizeof(values); i++)
            {
                uint64_t v = 0;
                if (n->expect[i].kind == EXPECT_VALUE && eval(t, t->frame, &n->expect[i].value, &v) != 0)
                {
                    return -1;
                }
                len += (size_t)snprintf(values + len, sizeof(values) - len, " %" PRId64, (int64_t)v);
            }
            emit("fail %d %d %" PRId64 " %" PRId64 " %d%s", n->id, signal, value, (int64_t)address, n->n_expect, values);
        }
    }
    if (touched.mismatches > 0)
    {
        const uint64_t kept = __atomic_fetch_add(&failed, 1, __ATOMIC_RELAXED);
        if (tallied(n, FAIL_BYTES, (int64_t)touched.mismatch_address) || kept < KEPT_FAILURES)
        {
            emit("mismatch %d %" PRIu64 " %" PRIu64 " %d %" PRId64, n->id, touched.mismatches, check_value,
                touched.mismatch_seen, (int64_t)touched.mismatch_address);
        }
    }
    if (signal != S_NONE && t->fatal && (n->n_expect == 0 || !ok))
    {
        pthread_mutex_lock(&sched);
        static int killed;
        if (!killed)
        {
            killed = 1;
            emit("killed %d %d %" PRId64, n->id, signal, (int64_t)address);
        }
        stop_locked();
        pthread_mutex_unlock(&sched);
        return -1;
    }
    return 0;
}

/* Whether a loop must start no new iteration; -1 when the run stops. */
static int loop_end(void)
{
    if (stopped)
    {
        return -1;
    }
    if (!loops_over && loops_deadline != INT64_MAX && now_ns() >= loops_deadline)
    {
        loops_over = 1;
    }
    return loops_over;
}

static void *thread_main(void *arg);

/*
 * One iteration of a loop's body (a repeat's index slot set to index first): 1 to go on, 0 when
 * the loop ends (the duration cap), -1 when the run stops.
 */
static int iteration(struct thread *t, const struct node *loop, const int64_t index)
{
    const int end = loop_end();
    if (end != 0)
    {
        return end < 0 ? -1 : 0;
    }
    if (loop->op == OP_REPEAT && loop->slot >= 0)
    {
        t->frame[loop->slot] = index;
    }
    return run_block(t, &loop->body) != 0 ? -1 : 1;
}

/* Starts a thread on a pool slot; -1 after a run error. */
static int spawn(struct thread *parent, const struct node *where, const char *name, const struct block *body,
    const int tid, const int nthreads, struct group *group, struct handle *handle)
{
    pthread_mutex_lock(&sched);
    int slot = -1;
    if (live < MAX_THREADS)
    {
        for (int i = 0; i < MAX_THREADS; i++)
        {
            if (!threads[i].in_use)
            {
                slot = i;
                break;
            }
        }
    }
    if (slot < 0)
    {
        pthread_mutex_unlock(&sched);
        return run_error(parent, where->line, where->column, "more than %d threads at once", MAX_THREADS);
    }
    struct thread *c = &threads[slot];
    c->in_use = 1;
    c->serial = ++serials;
    c->done = 0;
    c->blocked = 0;
    live++;
    pthread_mutex_unlock(&sched);
    snprintf(c->name, sizeof(c->name), "%.90s", name);
    c->frame = frame_pool + (size_t)slot * (size_t)slots;
    c->waits = waits_pool + (size_t)slot * (size_t)(events + 1);
    c->started = started_pool + (size_t)slot * (size_t)(named_threads + 1);
    memcpy(c->frame, parent->frame, (size_t)slots * sizeof(int64_t));
    c->frame[0] = tid;
    c->frame[1] = nthreads;
    memset(c->waits, 0, (size_t)(events + 1) * sizeof(uint64_t));
    for (int i = 0; i <= named_threads; i++)
    {
        c->started[i].slot = -1;
    }
    c->group = group;
    /* SplittableRandom.split(): new SplittableRandom(nextLong(), mixGamma(nextSeed())) */
    c->rng = next_long(&parent->rng, parent->gamma);
    parent->rng += parent->gamma;
    c->gamma = mix_gamma(parent->rng);
    if (parent == &root)
    {
        /* the program's main thread: the stream of --seed itself, as the emulator's SplittableRandom(seed) */
        c->rng = (uint64_t)seed_option;
        c->gamma = GOLDEN_GAMMA;
    }
    c->fatal = parent->fatal;
    c->body = body;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, stack_pool + (size_t)slot * STACK_SIZE, STACK_SIZE);
    const int e = pthread_create(&c->pthread, &attr, thread_main, c);
    pthread_attr_destroy(&attr);
    if (e != 0)
    {
        pthread_mutex_lock(&sched);
        c->in_use = 0;
        live--;
        pthread_mutex_unlock(&sched);
        return run_error(parent, where->line, where->column, "cannot start another thread: %s", strerrorname_np(e));
    }
    handle->slot = slot;
    handle->serial = c->serial;
    return 0;
}

/* Waits for a child, whether or not the run stops, and frees its slot. */
static void join_child(struct thread *t, const struct handle *h, const char *what, const struct node *where)
{
    if (h->slot < 0)
    {
        return;
    }
    t->wait_kind = W_JOIN;
    t->wait_a = (uint64_t)h->slot;
    t->wait_b = h->serial;
    if (where != NULL)
    {
        waiting_at(t, where, what);
    }
    else
    {
        snprintf(t->what, sizeof(t->what), "%s", what);
    }
    await(t, 1);
    pthread_mutex_lock(&sched);
    struct thread *c = &threads[h->slot];
    const int mine = c->serial == h->serial && c->in_use && c->done;
    pthread_mutex_unlock(&sched);
    if (mine)
    {
        pthread_join(c->pthread, NULL);
        pthread_mutex_lock(&sched);
        c->in_use = 0;
        c->serial = ++serials; /* handles to it now read as done */
        pthread_mutex_unlock(&sched);
    }
}

static int parallel(struct thread *t, const struct node *n)
{
    uint64_t count = (uint64_t)default_threads;
    if (n->count.n > 0 && eval(t, t->frame, &n->count, &count) != 0)
    {
        return -1;
    }
    if (count < 1 || count > MAX_THREADS)
    {
        return run_error(t, n->line, n->column, "parallel takes 1 to %d threads, not %" PRId64, MAX_THREADS, (int64_t)count);
    }
    struct group group = { (int)count, 0, 0 };
    struct handle children[count];
    int status = 0;
    uint64_t started = 0;
    for (; started < count; started++)
    {
        char name[96];
        snprintf(name, sizeof(name), "%.70s/%" PRIu64, t->name, started);
        if (stopped || spawn(t, n, name, &n->body, (int)started, (int)count, &group, &children[started]) != 0)
        {
            status = -1;
            break;
        }
    }
    pthread_mutex_lock(&sched);
    group.parties -= (int)(count - started); /* threads never started leave the barrier's group */
    if (group.arrived > 0 && group.arrived >= group.parties)
    {
        group.generation++;
        group.arrived = 0;
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&sched);
    for (uint64_t i = 0; i < started; i++)
    {
        join_child(t, &children[i], "the end of parallel", n);
    }
    return status != 0 || stopped ? -1 : 0;
}

static int execute(struct thread *t, const struct node *n, uint64_t *scratch, uint64_t *latency)
{
    uint64_t v;
    switch (n->op)
    {
    case OP_CALL:
        return call(t, n, scratch, latency);
    case OP_ASSIGN:
        if (eval(t, t->frame, &n->value, &v) != 0)
        {
            return -1;
        }
        t->frame[n->slot] = (int64_t)v;
        return 0;
    case OP_REPEAT:
    {
        uint64_t count;
        if (eval(t, t->frame, &n->count, &count) != 0)
        {
            return -1;
        }
        int going = 1;
        for (uint64_t i = 0; i < count && going > 0; i++)
        {
            going = iteration(t, n, (int64_t)i);
        }
        return going < 0 ? -1 : 0;
    }
    case OP_FOR:
    {
        const int64_t start = now_ns();
        int going = 1;
        while (going > 0 && now_ns() - start < n->nanos)
        {
            going = iteration(t, n, 0);
        }
        return going < 0 ? -1 : 0;
    }
    case OP_UNTIL:
    {
        int going = 1;
        while (going > 0 && __atomic_load_n(&posts[n->event], __ATOMIC_ACQUIRE) <= t->waits[n->event])
        {
            going = iteration(t, n, 0);
        }
        return going < 0 ? -1 : 0;
    }
    case OP_PARALLEL:
        return parallel(t, n);
    case OP_JOIN:
    {
        const struct handle h = t->started[n->index];
        if (h.slot < 0)
        {
            return run_error(t, n->line, n->column, "thread '%s' was not started before this join", thread_names[n->index]);
        }
        t->wait_kind = W_JOIN;
        t->wait_a = (uint64_t)h.slot;
        t->wait_b = h.serial;
        char what[128];
        snprintf(what, sizeof(what), "join %.100s", thread_names[n->index]);
        waiting_at(t, n, what);
        return await(t, 1);
    }
    case OP_BARRIER:
    {
        struct group *g = t->group;
        if (g == NULL)
        {
            return run_error(t, n->line, n->column, "barrier outside a parallel block");
        }
        pthread_mutex_lock(&sched);
        const uint64_t generation = g->generation;
        g->arrived++;
        if (g->arrived >= g->parties)
        {
            g->generation++;
            g->arrived = 0;
            pthread_cond_broadcast(&changed);
            pthread_mutex_unlock(&sched);
            return 0;
        }
        pthread_mutex_unlock(&sched);
        t->wait_kind = W_BARRIER;
        t->wait_ptr = g;
        t->wait_a = generation;
        waiting_at(t, n, "barrier");
        return await(t, 0);
    }
    case OP_POST:
        pthread_mutex_lock(&sched);
        __atomic_add_fetch(&posts[n->event], 1, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&changed);
        check_deadlock();
        pthread_mutex_unlock(&sched);
        return 0;
    case OP_WAIT:
        t->wait_kind = W_POSTS;
        t->wait_a = (uint64_t)n->event;
        t->wait_b = ++t->waits[n->event];
        char what[128];
        snprintf(what, sizeof(what), "wait %.100s", event_names[n->event]);
        waiting_at(t, n, what);
        return await(t, 0);
    case OP_SLEEP:
    {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        const int64_t end = (int64_t)until.tv_sec * 1000000000LL + until.tv_nsec + n->nanos;
        until.tv_sec = end / 1000000000LL;
        until.tv_nsec = end % 1000000000LL;
        pthread_mutex_lock(&sched);
        while (!stopped && now_ns() < end)
        {
            pthread_cond_timedwait(&changed, &sched, &until);
        }
        pthread_mutex_unlock(&sched);
        return stopped ? -1 : 0;
    }
    case OP_SIGNALS:
        t->fatal = n->fatal;
        return 0;
    default:
        return 0;
    }
}

/* Runs a block, then joins the threads it started that are still running. */
static int run_block(struct thread *t, const struct block *b)
{
    struct handle children[b->thread_nodes + 1];
    int started = 0;
    int status = 0;
    for (int i = 0; i < b->n && status == 0; i++)
    {
        const struct node *n = &b->nodes[i];
        if (stopped)
        {
            status = -1;
            break;
        }
        if (n->op == OP_THREAD)
        {
            if (spawn(t, n, thread_names[n->index], &n->body, 0, 1, NULL, &children[started]) != 0)
            {
                status = -1;
                break;
            }
            t->started[n->index] = children[started++];
            continue;
        }
        status = execute(t, n, scratch_of, latency_of);
    }
    for (int i = 0; i < started; i++)
    {
        join_child(t, &children[i], "the end of a block", NULL);
    }
    return status;
}

static void *thread_main(void *arg)
{
    struct thread *t = arg;
    self = t;
    uint64_t scratch[BUCKETS];
    uint64_t latency[BUCKETS];
    memset(scratch, 0, sizeof(scratch));
    memset(latency, 0, sizeof(latency));
    scratch_of = scratch;
    latency_of = latency;
    const uint64_t faults_at_start = thread_faults_now();
    run_block(t, t->body);
    const uint64_t faults = thread_faults_now() - faults_at_start;
    pthread_mutex_lock(&sched);
    thread_faults += faults;
    for (int b = 0; b < BUCKETS; b++)
    {
        fault_latency[b] += latency[b];
    }
    t->done = 1;
    if (t->group == NULL && t->body == &program)
    {
        end_ns = now_ns(); /* the program's main thread: the run is over */
    }
    live--;
    struct group *g = t->group;
    if (g != NULL)
    {
        g->parties--;
        if (g->arrived > 0 && g->arrived >= g->parties)
        {
            g->generation++;
            g->arrived = 0;
        }
    }
    pthread_cond_broadcast(&changed);
    check_deadlock();
    pthread_mutex_unlock(&sched);
    return NULL;
}

/* ----------------------------------------------------------------------------------------- main */

static void status_kb(long *pte, long *anon, long *rss, long *hwm)
{
    static char text[8192];
    *pte = *anon = *rss = *hwm = -1;
    /* opened once before the run: a seq_file read at offset 0 is generated afresh */
    const ssize_t n = status_fd < 0 ? -1 : pread(status_fd, text, sizeof(text) - 1, 0);
    if (n <= 0)
    {
        return;
    }
    text[n] = '\0';
    const char *names[] = { "VmPTE:", "RssAnon:", "VmRSS:", "VmHWM:" };
    long *values[] = { pte, anon, rss, hwm };
    for (int i = 0; i < 4; i++)
    {
        const char *at = strstr(text, names[i]);
        if (at != NULL)
        {
            *values[i] = strtol(at + strlen(names[i]), NULL, 10);
        }
    }
}

static uint64_t process_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
}

/* A descriptor moved to LOW_FDS or above (the old one closed), or -1. */
static int high_fd(const int fd)
{
    if (fd < 0)
    {
        return -1;
    }
    const int moved = fcntl(fd, F_DUPFD_CLOEXEC, LOW_FDS);
    close(fd);
    return moved;
}

/* Refuses, before the run, statements whose constant ranges reach the runner's own mappings. */
static int refuse_constant_ranges(const struct block *b)
{
    int refused = 0;
    for (int i = 0; i < b->n; i++)
    {
        const struct node *n = &b->nodes[i];
        refused += refuse_constant_ranges(&n->body);
        if (n->op != OP_CALL)
        {
            continue;
        }
        uint64_t a[6] = { 0 };
        int all = 1;
        for (int k = 0; k < n->nargs; k++)
        {
            all &= constant(&n->args[k], &a[k]);
        }
        if (!all)
        {
            continue;
        }
        struct span spans[2];
        const int nspans = call_ranges(n->call, a, spans);
        for (int k = 0; k < nspans; k++)
        {
            const struct range *hit = reaches_own(spans[k].start, spans[k].length);
            if (hit != NULL)
            {
                emit("refuse %d %d [0x%" PRIx64 ", +0x%" PRIx64 ") reaches the host runner's own mapping %" PRIx64 "-%" PRIx64
                    " (its code, heap or stacks; the program's window is the rest of the address space)",
                    n->line, n->column, spans[k].start, spans[k].length, hit->start, hit->end);
                refused++;
                break;
            }
        }
    }
    return refused;
}

int main(const int argc, char **argv)
{
    const int check_only = argc > 1 && strcmp(argv[1], "--check") == 0;
    /* A fixed layout (ASLR off) when the host lets us: refusals then do not depend on the run. */
    const int persona = personality(0xffffffff);
    if (persona != -1 && (persona & ADDR_NO_RANDOMIZE) == 0 && getenv("MMEMU_HOST_RUN_REEXEC") == NULL &&
        personality((unsigned long)persona | ADDR_NO_RANDOMIZE) != -1)
    {
        setenv("MMEMU_HOST_RUN_REEXEC", "1", 1);
        execv("/proc/self/exe", argv);
        /* not re-executed: go on with the layout we have */
    }
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0); /* 4 KiB faults, as the emulator's */
    /* One arena, no trimming, no mmap'd chunks: after the pre-grown heap below, malloc maps nothing. */
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, -1);
    mallopt(M_TOP_PAD, 0);
    read_image();
    free(calloc(1, HEAP_HEADROOM));

    stack_pool = mmap(NULL, (size_t)MAX_THREADS * STACK_SIZE, PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    frame_pool = calloc((size_t)MAX_THREADS * (size_t)slots, sizeof(int64_t));
    waits_pool = calloc((size_t)MAX_THREADS * (size_t)(events + 1), sizeof(uint64_t));
    started_pool = calloc((size_t)MAX_THREADS * (size_t)(named_threads + 1), sizeof(struct handle));
    posts = calloc((size_t)events + 1, sizeof(uint64_t));
    if (stack_pool == MAP_FAILED || frame_pool == NULL || waits_pool == NULL || started_pool == NULL || posts == NULL)
    {
        die(EXIT_RUNNER, "cannot allocate the runner's memory");
    }
    pthread_condattr_t cattr;
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&changed, &cattr);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    struct sigaction term;
    memset(&term, 0, sizeof(term));
    term.sa_handler = on_terminate;
    sigemptyset(&term.sa_mask);
    sigaction(SIGTERM, &term, NULL);
    sigaction(SIGINT, &term, NULL);

    /* the main program thread's own frame lives in a pseudo-parent's */
    root.frame = calloc((size_t)slots, sizeof(int64_t));
    root.rng = (uint64_t)seed_option;
    root.gamma = GOLDEN_GAMMA;
    snapshot_own_mappings();
    out_fd = high_fd(dup(STDOUT_FILENO));
    err_fd = high_fd(dup(STDERR_FILENO));
    status_fd = high_fd(open("/proc/self/status", O_RDONLY | O_CLOEXEC));
    if (out_fd < 0 || err_fd < 0)
    {
        die(EXIT_RUNNER, "cannot move the runner's descriptors: %s", strerrorname_np(errno));
    }
    for (int fd = 0; fd < LOW_FDS; fd++)
    {
        close(fd);
    }
    if (refuse_constant_ranges(&program) > 0)
    {
        return EXIT_REFUSED;
    }
    if (check_only)
    {
        return 0;
    }

    /* program threads leave SIGTERM/SIGINT to this thread, the sampler */
    sigset_t terminate;
    sigemptyset(&terminate);
    sigaddset(&terminate, SIGTERM);
    sigaddset(&terminate, SIGINT);
    pthread_sigmask(SIG_BLOCK, &terminate, NULL);
    emit("start");
    start_ns = now_ns();
    if (duration_option >= 0)
    {
        loops_deadline = start_ns + duration_option;
    }
    /* spawn() copies the pseudo-parent's frame; the program's main has tid 0, nthreads 1 */
    struct handle main_thread;
    const struct node where = { .op = 0, .line = 0, .column = 0 };
    if (spawn(&root, &where, "main", &program, 0, 1, NULL, &main_thread) != 0)
    {
        die(EXIT_RUNNER, "cannot start the program's main thread");
    }
    pthread_sigmask(SIG_UNBLOCK, &terminate, NULL);
    const uint64_t faults_at_start = process_faults();
    for (;;)
    {
        pthread_mutex_lock(&sched);
        const int done = threads[main_thread.slot].done;
        if (termination && !stopped)
        {
            stop_locked();
        }
        pthread_mutex_unlock(&sched);
        if (done)
        {
            break;
        }
        long pte, anon, rss, hwm;
        status_kb(&pte, &anon, &rss, &hwm);
        emit("tick %" PRId64 " %" PRIu64 " %ld %ld %ld %ld", now_ns() - start_ns, process_faults() - faults_at_start,
            pte, anon, rss, hwm);
        /* a tick every 100 ms, or at once when the main thread ends */
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L)
        {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&sched);
        if (!threads[main_thread.slot].done && !termination)
        {
            pthread_cond_timedwait(&changed, &sched, &until);
        }
        pthread_mutex_unlock(&sched);
    }
    pthread_join(threads[main_thread.slot].pthread, NULL);
    const int64_t wall = end_ns - start_ns;
    long pte, anon, rss, hwm;
    status_kb(&pte, &anon, &rss, &hwm);
    pthread_mutex_lock(&sched);
    emit("wall %" PRId64, wall);
    emit("faults %" PRIu64, thread_faults);
    emit("signals %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, signal_counts[S_MAPERR], signal_counts[S_ACCERR],
        signal_counts[S_SIKERNEL], signal_counts[S_BUS]);
    emit("statements %" PRIu64, statements);
    emit("failed %" PRIu64, failed);
    emit_groups(&program);
    for (int b = 0; b < BUCKETS; b++)
    {
        if (fault_latency[b] != 0)
        {
            emit("lat %" PRIu64 " %" PRIu64, bucket_value(b), fault_latency[b]);
        }
    }
    emit("memory %ld %ld %ld %ld", pte, anon, rss, hwm);
    emit("interrupted %d", termination ? 1 : 0);
    emit("done");
    pthread_mutex_unlock(&sched);
    return 0;
}
