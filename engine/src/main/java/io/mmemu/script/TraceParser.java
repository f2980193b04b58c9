package io.mmemu.script;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.agrona.collections.Int2ObjectHashMap;

/**
 * Parses strace logs as {@code strace -f -y -e trace=memory[,%process] -o LOG} writes them, and
 * replay scripts (which are logs without pids or results):
 * <pre>
 * line    = [ PID ] ( call [ "=" result ] | unfinished | resumed | "--- SIG..." | "+++ ... +++" )
 * unfinished = call-start " &lt;unfinished ...&gt;"
 * resumed = "&lt;... " NAME " resumed&gt;" rest-of-call [ "=" result ]
 * </pre>
 * A call split by another thread's lines is joined, and applied once, where it resumes: that is
 * where the kernel returned, and the order in which results were produced. fds printed with their
 * paths ({@code 3</usr/lib/x86_64-linux-gnu/libc.so.6>}, strace's {@code -y}) keep the path for the
 * replay's file table. A thread's exit line ({@code +++ exited with 0 +++}, {@code +++ killed by
 * SIGKILL +++}) is an {@link TraceEvent.Exit}; signal lines are skipped.
 * <p>
 * Which calls: the ones mmemu models ({@link Call}) are parsed strictly; the rest of strace's
 * {@code %memory} class becomes {@link TraceEvent.Unmodelled}; clone/clone3/fork/vfork/execve
 * become process events; other syscalls with a result (wait4, exit_group...) are skipped. A line
 * without a result (strace always prints one) naming an unknown call is an error, so a typo in a
 * hand-written script is not silently skipped.
 */
public final class TraceParser
{
    /** strace's %memory class (6.1) beyond what {@link Call} models; strace prints map_shadow_stack and mseal by number. */
    private static final Set<String> UNMODELLED = Set.of("msync", "mincore", "mlock", "mlock2", "munlock", "mlockall",
        "munlockall", "shmat", "shmdt", "io_setup", "io_destroy", "remap_file_pages", "mbind", "set_mempolicy",
        "get_mempolicy", "migrate_pages", "move_pages", "io_uring_register", "set_mempolicy_home_node", "mmap2",
        "map_shadow_stack", "mseal", "syscall_0x1c5", "syscall_0x1ce", "process_madvise", "process_mrelease");
    private static final Map<String, String> NUMBERED = Map.of("syscall_0x1c5", "map_shadow_stack", "syscall_0x1ce", "mseal");
    private static final Set<String> SPAWNS = Set.of("clone", "clone3", "fork", "vfork");
    private static final Set<String> EXECS = Set.of("execve", "execveat");

    private static final Pattern PID = Pattern.compile("^\\s*(\\d+)\\s+");
    /** strace -t, -tt, -ttt timestamps after the pid. */
    private static final Pattern TIMESTAMP = Pattern.compile("^(\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?|\\d+\\.\\d+)\\s+");
    /** The end of a thread: {@code +++ exited with 0 +++}, {@code +++ killed by SIGKILL (core dumped) +++}. */
    private static final Pattern EXIT = Pattern.compile("^\\+\\+\\+ (?:exited with -?\\d+|killed by SIG[A-Z0-9+-]+(?: \\(core dumped\\))?) \\+\\+\\+$");
    private static final Pattern RESUMED = Pattern.compile("^<\\.\\.\\. ([A-Za-z0-9_]+) resumed>\\s?(.*)$");
    private static final String UNFINISHED = "<unfinished ...>";
    private static final Pattern NAME = Pattern.compile("^([A-Za-z_][A-Za-z0-9_]*)\\(");
    /** strace -T's time spent, after the result. */
    private static final Pattern DURATION = Pattern.compile("\\s+<\\d+\\.\\d+>$");
    private static final Pattern RESULT = Pattern.compile("\\)\\s+=\\s+(.*)$");
    /** execve's (or execveat's, after its dirfd) first string argument: the program's path. */
    private static final Pattern QUOTED = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"(?:\\.\\.\\.)?");
    private static final Pattern EXEC_PATH = Pattern.compile("^execve(?:at)?\\((?:[^,\"]*,\\s*)?\"((?:[^\"\\\\]|\\\\.)*)\"");
    /** An fd as strace -y prints it after {@code (} or {@code ,}: {@code 3</path>}, maybe {@code (deleted)} after. */
    private static final Pattern FD_PATH = Pattern.compile("([(,]\\s*-?\\d+)<((?:[^>\\\\]|\\\\.)*)>(\\(deleted\\))?");

    private final List<TraceEvent> events = new ArrayList<>();
    private final List<ParseError> errors = new ArrayList<>();
    /** Per pid: the start of its call left unfinished, and the line it started on. */
    private final Int2ObjectHashMap<String> pending = new Int2ObjectHashMap<>();

    private TraceParser()
    {
    }

    /** Parses a whole log; throws with every malformed line (the first error in each). */
    public static List<TraceEvent> parse(final Reader log) throws IOException, ScriptException
    {
        final BufferedReader reader = log instanceof BufferedReader buffered ? buffered : new BufferedReader(log);
        final TraceParser parser = new TraceParser();
        int lineNumber = 0;
        for (String text = reader.readLine(); text != null; text = reader.readLine())
        {
            lineNumber++;
            try
            {
                parser.line(lineNumber, text);
            }
            catch (final LineException ex)
            {
                parser.errors.add(new ParseError(lineNumber, ex.column, ex.getMessage()));
            }
        }
        if (!parser.errors.isEmpty())
        {
            throw new ScriptException(parser.errors);
        }
        return parser.events;
    }

    private void line(final int lineNumber, final String raw) throws LineException
    {
        final String trimmed = raw.strip();
        if (trimmed.isEmpty() || trimmed.charAt(0) == '#')
        {
            return;
        }
        int offset = raw.length() - raw.stripLeading().length();
        int pid = 0;
        String rest = raw.stripLeading();
        final Matcher pidMatch = PID.matcher(raw);
        if (pidMatch.find())
        {
            pid = Integer.parseInt(pidMatch.group(1));
            offset = pidMatch.end();
            rest = raw.substring(offset);
        }
        final Matcher time = TIMESTAMP.matcher(rest);
        if (time.find())
        {
            offset += time.end();
            rest = rest.substring(time.end());
        }
        rest = DURATION.matcher(rest.stripTrailing()).replaceFirst("");
        if (rest.startsWith("+++") && pid != 0 && EXIT.matcher(rest).matches())
        {
            events.add(new TraceEvent.Exit(lineNumber, pid));
            return;
        }
        if (rest.startsWith("---") || rest.startsWith("+++"))
        {
            return;
        }
        final Matcher resumed = RESUMED.matcher(rest);
        if (resumed.matches())
        {
            final String start = pending.remove(pid);
            if (start == null)
            {
                throw new LineException(offset + 1, "'<... " + resumed.group(1) + " resumed>' without an unfinished " +
                    resumed.group(1) + " of pid " + pid + " before it");
            }
            final Matcher startName = NAME.matcher(start);
            if (!startName.find() || !startName.group(1).equals(resumed.group(1)))
            {
                throw new LineException(offset + 1, "pid " + pid + " resumes " + resumed.group(1) + " but left '" + start +
                    "' unfinished");
            }
            call(lineNumber, pid, start + resumed.group(2), 0);
            return;
        }
        if (rest.endsWith(UNFINISHED))
        {
            if (pending.containsKey(pid))
            {
                throw new LineException(offset + 1, "pid " + pid + " starts a call while '" + pending.get(pid) +
                    "' is unfinished");
            }
            pending.put(pid, rest.substring(0, rest.length() - UNFINISHED.length()).stripTrailing());
            return;
        }
        call(lineNumber, pid, rest, offset);
    }

    private void call(final int lineNumber, final int pid, final String text, final int offset)
        throws LineException
    {
        final Matcher name = NAME.matcher(text);
        if (!name.find())
        {
            throw new LineException(offset + 1, "expected a call such as mmap(...), found '" + text + "'");
        }
        final String callName = name.group(1);
        final Matcher result = RESULT.matcher(text);
        final boolean hasResult = result.find();
        final String recorded = hasResult ? result.group(1).strip() : null;
        if (SPAWNS.contains(callName))
        {
            final int child = recorded == null || !recorded.matches("\\d+") ? -1 : Integer.parseInt(recorded);
            final boolean sharesVm = text.contains("CLONE_VM") || callName.equals("vfork");
            events.add(new TraceEvent.Spawn(lineNumber, pid, callName, sharesVm, child));
            return;
        }
        if (EXECS.contains(callName))
        {
            if ("0".equals(recorded))
            {
                final Matcher path = EXEC_PATH.matcher(text);
                final boolean found = path.find();
                events.add(new TraceEvent.Exec(lineNumber, pid, found ? FdPath.unescape(path.group(1)) : null,
                    found ? argv(text, path.end()) : List.of()));
            }
            return;
        }
        if (UNMODELLED.contains(callName))
        {
            events.add(new TraceEvent.Unmodelled(lineNumber, pid, NUMBERED.getOrDefault(callName, callName),
                hasResult ? text.substring(0, result.start() + 1) : text, recorded));
            return;
        }
        if (Call.named(callName) == null && hasResult)
        {
            return; // another syscall class in the log (wait4, exit_group, openat...): not memory
        }
        final FdPath fd = FdPath.strip(text);
        final Statement statement = ScriptParser.parseLine(lineNumber, fd.text(), offset);
        if (statement != null)
        {
            events.add(new TraceEvent.Syscall(lineNumber, pid, statement, fd.path()));
        }
    }

    /**
     * execve's argv as strace printed it, from the {@code [} after the path: each string unescaped;
     * a string strace cut short ({@code "..."...}) is kept as far as it was printed, and an array
     * strace cut short (a last {@code ...}) ends where it was cut.
     */
    private static List<String> argv(final String text, final int from)
    {
        final int open = text.indexOf('[', from);
        if (open < 0)
        {
            return List.of();
        }
        final List<String> argv = new ArrayList<>();
        final Matcher string = QUOTED.matcher(text);
        int at = open + 1;
        while (string.find(at) && text.substring(at, string.start()).matches("[\\s,]*"))
        {
            argv.add(FdPath.unescape(string.group(1)));
            at = string.end();
        }
        return argv;
    }

    /** A call's text with strace's {@code N<path>} fd annotation reduced to {@code N}, and the path. */
    record FdPath(String text, String path)
    {
        /**
         * strace -y prints {@code 3</path>}; the path is C-escaped ({@code >} is {@code \76}), and a
         * deleted file has {@code (deleted)} after the {@code >}.
         */
        static FdPath strip(final String text)
        {
            final Matcher m = FD_PATH.matcher(text);
            if (!m.find())
            {
                return new FdPath(text, null);
            }
            final String path = unescape(m.group(2)) + (m.group(3) != null ? " (deleted)" : "");
            return new FdPath(text.substring(0, m.start()) + m.group(1) + text.substring(m.end()), path);
        }

        /** C escapes as strace writes them: {@code \n}, {@code \t}, {@code \\}, {@code \"}, octal {@code \76}, {@code \x3e}. */
        static String unescape(final String s)
        {
            if (s.indexOf('\\') < 0)
            {
                return s;
            }
            final StringBuilder sb = new StringBuilder(s.length());
            for (int i = 0; i < s.length(); i++)
            {
                final char c = s.charAt(i);
                if (c != '\\' || i + 1 == s.length())
                {
                    sb.append(c);
                    continue;
                }
                final char e = s.charAt(++i);
                switch (e)
                {
                    case 'n' -> sb.append('\n');
                    case 't' -> sb.append('\t');
                    case 'r' -> sb.append('\r');
                    case 'v' -> sb.append('\u000b');
                    case 'f' -> sb.append('\f');
                    case 'x' ->
                    {
                        int j = i + 1;
                        while (j < s.length() && j < i + 3 && Character.digit(s.charAt(j), 16) >= 0)
                        {
                            j++;
                        }
                        sb.append((char)Integer.parseInt(s.substring(i + 1, j), 16));
                        i = j - 1;
                    }
                    default ->
                    {
                        if (e >= '0' && e <= '7')
                        {
                            int j = i;
                            while (j < s.length() && j < i + 3 && s.charAt(j) >= '0' && s.charAt(j) <= '7')
                            {
                                j++;
                            }
                            sb.append((char)Integer.parseInt(s.substring(i, j), 8));
                            i = j - 1;
                        }
                        else
                        {
                            sb.append(e);
                        }
                    }
                }
            }
            return sb.toString();
        }
    }
}
