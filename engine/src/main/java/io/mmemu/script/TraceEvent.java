package io.mmemu.script;

import java.util.List;

/**
 * One event of an strace log, in the order the log completes it (a call split into
 * {@code <unfinished ...>} and {@code <... resumed>} lines is one event at its resumed line).
 */
public sealed interface TraceEvent
{
    /** 1-based line number where the event completes. */
    int line();

    /** The thread that made it (0 in a log without pids). */
    int pid();

    /**
     * A call mmemu models.
     *
     * @param statement the call with its arguments and the result strace recorded
     * @param fdPath    the path strace showed for the fd argument ({@code 3</usr/lib/libc.so.6>}), or null
     */
    record Syscall(int line, int pid, Statement statement, String fdPath) implements TraceEvent
    {
    }

    /**
     * A memory call mmemu does not model (mlock, msync, shmat, mseal...): replayed as nothing and
     * counted unchecked.
     *
     * @param name     the syscall's name as strace printed it
     * @param text     the call's text
     * @param recorded the recorded result
     */
    record Unmodelled(int line, int pid, String name, String text, String recorded) implements TraceEvent
    {
    }

    /**
     * clone, clone3, fork or vfork: a new thread (sharing the address space: CLONE_VM) or process.
     *
     * @param call     which call
     * @param sharesVm whether the child shares the caller's address space
     * @param child    the child's pid, or -1 when the call failed
     */
    record Spawn(int line, int pid, String call, boolean sharesVm, int child) implements TraceEvent
    {
    }

    /**
     * execve or execveat that succeeded: the pid now runs a new program in a new address space.
     *
     * @param path the program's path (execve's first argument), or null when strace did not show it
     * @param argv its arguments as strace printed them (strings past 32 bytes cut short there)
     */
    record Exec(int line, int pid, String path, List<String> argv) implements TraceEvent
    {
    }

    /**
     * A thread ended ({@code +++ exited with N +++}, {@code +++ killed by SIG... +++}): when it was
     * the last one of its address space, the process's memory goes back (exit_mmap).
     */
    record Exit(int line, int pid) implements TraceEvent
    {
    }
}
