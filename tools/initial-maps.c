/*
 * initial-maps: print /proc/PID/maps of a program at its first instruction.
 *
 *   initial-maps OUT.maps -- PATH ARGV0 ARGS...
 *       Fork; the child turns address-space randomisation off
 *       (personality ADDR_NO_RANDOMIZE, as `setarch -R` does), asks to be
 *       traced and execs PATH with the given argv (ARGV0 first). The parent
 *       waits for the stop right after the exec, when the new image is mapped
 *       and nothing of it has run yet (the instruction pointer is at the entry
 *       of the ELF interpreter, or of the program if it has none), copies
 *       /proc/PID/maps to OUT.maps and kills the child.
 *
 *   initial-maps --follow DIR -- PATH ARGV0 ARGS...
 *       The same, but the program runs to its end under the tracer, which
 *       follows every fork, vfork and clone (threads too), and at every
 *       successful execve of any of them writes DIR/NN-NAME.maps (the maps at
 *       the first instruction of the new image) and DIR/NN-NAME.cmdline (its
 *       argv, one argument per line), where NN counts the execs from 01 in the
 *       order the tracer sees them and NAME is the basename of /proc/PID/exe.
 *       The exit status is the program's.
 *
 * Built on first use by tools/capture. Linux x86-64 only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "initial-maps: %s: %s\n", what, strerror(errno));
    exit(125);
}

/* Copies the whole of the file `from` to `to` (created or truncated). */
static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    const int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
    {
        die(from);
    }
    const int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
    {
        die(to);
    }
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
    {
        if (write(out, buf, (size_t) n) != n)
        {
            die(to);
        }
    }
    if (n < 0)
    {
        die(from);
    }
    close(in);
    close(out);
}

/* Writes /proc/PID/cmdline to `to` with one argument per line. */
static void copy_cmdline(const pid_t pid, const char *to)
{
    char path[64];
    char buf[131072];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
    const int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
    {
        die(path);
    }
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf && (n = read(in, buf + len, sizeof buf - len)) > 0)
    {
        len += (size_t) n;
    }
    close(in);
    FILE *out = fopen(to, "w");
    if (out == NULL)
    {
        die(to);
    }
    for (size_t i = 0; i < len; i++)
    {
        fputc(buf[i] == '\0' ? '\n' : buf[i], out);
    }
    fclose(out);
}

static pid_t start_child(char *const path, char *const argv[])
{
    const pid_t pid = fork();
    if (pid < 0)
    {
        die("fork");
    }
    if (pid == 0)
    {
        const int persona = personality(0xffffffff);
        if (persona < 0 || personality((unsigned long) persona | ADDR_NO_RANDOMIZE) < 0)
        {
            die("personality(ADDR_NO_RANDOMIZE)");
        }
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
        {
            die("ptrace(PTRACE_TRACEME)");
        }
        execv(path, argv);
        fprintf(stderr, "initial-maps: exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Waits for the SIGTRAP stop that PTRACE_TRACEME gives after the exec. */
static void wait_exec_stop(const pid_t pid, const char *path)
{
    int status;
    if (waitpid(pid, &status, 0) < 0)
    {
        die("waitpid");
    }
    if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP)
    {
        fprintf(stderr, "initial-maps: %s did not reach its first instruction (wait status 0x%x)\n",
            path, (unsigned) status);
        exit(125);
    }
}

static int first_only(const char *out, char *const path, char *const argv[])
{
    const pid_t pid = start_child(path, argv);
    wait_exec_stop(pid, path);
    char maps[64];
    snprintf(maps, sizeof maps, "/proc/%d/maps", (int) pid);
    copy_file(maps, out);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
}

static void dump_exec(const char *dir, const int seq, const pid_t pid)
{
    char exe[PATH_MAX];
    char from[64];
    char to[PATH_MAX + 128];
    snprintf(from, sizeof from, "/proc/%d/exe", (int) pid);
    const ssize_t n = readlink(from, exe, sizeof exe - 1);
    exe[n < 0 ? 0 : n] = '\0';
    const char *slash = strrchr(exe, '/');
    const char *name = slash == NULL ? exe : slash + 1;
    snprintf(from, sizeof from, "/proc/%d/maps", (int) pid);
    snprintf(to, sizeof to, "%s/%02d-%s.maps", dir, seq, name);
    copy_file(from, to);
    snprintf(to, sizeof to, "%s/%02d-%s.cmdline", dir, seq, name);
    copy_cmdline(pid, to);
}

static int follow(const char *dir, char *const path, char *const argv[])
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
    {
        die(dir);
    }
    const pid_t leader = start_child(path, argv);
    wait_exec_stop(leader, path);
    int seq = 1;
    dump_exec(dir, seq++, leader);
    const long options = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE
        | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
    if (ptrace(PTRACE_SETOPTIONS, leader, NULL, (void *) options) < 0)
    {
        die("ptrace(PTRACE_SETOPTIONS)");
    }
    ptrace(PTRACE_CONT, leader, NULL, NULL);
    int exit_code = 0;
    for (;;)
    {
        int status;
        const pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0)
        {
            if (errno == ECHILD)
            {
                return exit_code;
            }
            die("waitpid");
        }
        if (WIFEXITED(status) || WIFSIGNALED(status))
        {
            if (pid == leader)
            {
                exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            continue;
        }
        if (!WIFSTOPPED(status))
        {
            continue;
        }
        const int sig = WSTOPSIG(status);
        const int event = (unsigned) status >> 16;
        int inject = 0;
        if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC)
        {
            /* The exec event stop: the new image is mapped and has not run. */
            dump_exec(dir, seq++, pid);
        }
        else if (sig == SIGTRAP && event != 0)
        {
            /* fork/vfork/clone event: the new task is traced with our options. */
        }
        else if (sig == SIGSTOP)
        {
            /*
             * The first stop of a newly traced task (or a real SIGSTOP, which
             * this simple tracer also swallows: the programs it runs are batch
             * tools that never stop themselves).
             */
        }
        else if (sig != SIGTRAP)
        {
            inject = sig;
        }
        ptrace(PTRACE_CONT, pid, NULL, (void *) (long) inject);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: initial-maps OUT.maps -- PATH ARGV0 [ARG...]\n"
                    "       initial-maps --follow DIR -- PATH ARGV0 [ARG...]\n");
    exit(2);
}

int main(const int argc, char *argv[])
{
    if (argc >= 6 && strcmp(argv[1], "--follow") == 0 && strcmp(argv[3], "--") == 0)
    {
        return follow(argv[2], argv[4], argv + 5);
    }
    if (argc >= 5 && strcmp(argv[2], "--") == 0)
    {
        return first_only(argv[1], argv[3], argv + 4);
    }
    usage();
    return 2;
}
