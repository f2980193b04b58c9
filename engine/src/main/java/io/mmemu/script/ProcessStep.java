package io.mmemu.script;

/**
 * One line of a replay script with the process that runs it. Scripts may fork: {@code fork()}
 * makes a copy of the process that runs it, numbered in creation order (the first process is 0,
 * then 1, 2, ...), and prints the child's number; a line that starts with {@code @N } runs in
 * process N, a line without one in process 0. Lines run in script order whichever process they
 * belong to, so the order of accesses across processes (who writes a shared page first) is the
 * script's (docs/replay.md, "Processes").
 *
 * @param line      1-based line number
 * @param process   the process that runs it
 * @param text      what the output echoes: the line from its {@code @N} prefix (if any) to the call's ')'
 * @param statement the call, or null for {@code fork()}
 * @param child     the number {@code fork()} gives its child; -1 for a call
 */
public record ProcessStep(int line, int process, String text, Statement statement, int child)
{
    /** At most this many processes (fork() lines + 1) in a script. */
    public static final int MAX_PROCESSES = 8;

    public boolean isFork()
    {
        return statement == null;
    }
}
