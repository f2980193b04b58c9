package io.mmemu.program;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.mmemu.host.NativeBuild;
import io.mmemu.phys.Backing;
import io.mmemu.script.Outcome;
import io.mmemu.vm.MmStats;
import io.mmemu.vm.Signal;
import org.HdrHistogram.Histogram;

/**
 * One run of a {@link Program} on the host kernel ({@code mmemu run --host}): the program, lowered
 * to its {@link HostImage}, runs in a native runner process ({@code host_run.c}, built on first use),
 * never in this JVM; this side feeds the image, reads the runner's lines (progress every 100 ms, the
 * failed expectations, the end's counters) and makes the same {@link Report} an emulated run makes.
 * <p>
 * A runner that dies (a signal, an abnormal exit) is reported as {@code host runner crashed: SIGNAME};
 * one that says nothing for {@link #SILENCE_SECONDS} s is killed and reported the same way, and so is
 * one still running {@link #OVERRUN_SECONDS} s after the run's {@code --duration} cap. {@link #stop}
 * (Ctrl-C) asks the runner to stop (SIGTERM): its threads unwind and it still reports (INTERRUPTED).
 * Signals go through the {@link ProcessHandle}: {@link Process#destroy} would also close the runner's
 * output, and its last lines with it.
 */
public final class HostRun
{
    /** The runner's source, a resource of this package. */
    static final String SOURCE = "host_run.c";
    /** The runner ticks every 100 ms; this long without a line means it hangs. */
    static final long SILENCE_SECONDS = 10;
    /** How long after the --duration cap a run may still go on before it is stopped. */
    static final long OVERRUN_SECONDS = 60;
    /** After a stop request, how long the runner has to report before it is killed. */
    private static final long STOP_GRACE_SECONDS = 5;
    private static final int EXIT_BAD_IMAGE = 2;
    private static final int EXIT_REFUSED = 3;
    /** Java reports a child killed by signal N as exit status 128 + N. */
    private static final int SIGNAL_EXIT_BASE = 128;
    private static final int SIGINT = 2;
    private static final int SIGTERM = 15;
    private static final Map<Integer, String> SIGNAL_NAMES = Map.ofEntries(Map.entry(1, "SIGHUP"), Map.entry(2, "SIGINT"),
        Map.entry(3, "SIGQUIT"), Map.entry(4, "SIGILL"), Map.entry(5, "SIGTRAP"), Map.entry(6, "SIGABRT"),
        Map.entry(7, "SIGBUS"), Map.entry(8, "SIGFPE"), Map.entry(9, "SIGKILL"), Map.entry(11, "SIGSEGV"),
        Map.entry(13, "SIGPIPE"), Map.entry(14, "SIGALRM"), Map.entry(15, "SIGTERM"));

    /** The program cannot run on the host: every reason, {@code FILE:LINE:COLUMN: cannot run on the host: ...}. */
    public static final class Refused extends Exception
    {
        private static final long serialVersionUID = 1L;

        private final List<String> reasons;

        Refused(final List<String> reasons)
        {
            super(String.join("\n", reasons), null, false, false);
            this.reasons = List.copyOf(reasons);
        }

        public List<String> reasons()
        {
            return reasons;
        }
    }

    private final Program program;
    private final RunOptions options;
    private volatile Process process;
    private volatile boolean interrupted;

    public HostRun(final Program program, final RunOptions options)
    {
        this.program = program;
        this.options = options;
    }

    /**
     * What the host cannot run in {@code program} with {@code options} (empty: it can run), nothing run:
     * {@link HostRefusals}' checks, then the runner's own ({@code host_run --check}: constant ranges that
     * reach its mappings).
     *
     * @throws IOException when the runner cannot be built or started
     */
    public static List<String> refusals(final Program program, final RunOptions options) throws IOException
    {
        final List<String> refused = beforeTheRunner(program, options);
        if (!refused.isEmpty())
        {
            return refused;
        }
        final HostImage image = HostImage.of(program, options);
        final Process check = new ProcessBuilder(runner().toString(), "--check").start();
        Thread.ofVirtual().name("mmemu-host-image").start(() -> feed(check, image.bytes()));
        final List<String> reasons = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(check.getInputStream(), StandardCharsets.UTF_8)))
        {
            String line;
            while ((line = in.readLine()) != null)
            {
                if (line.startsWith("refuse "))
                {
                    reasons.add(refusal(program, line.substring("refuse ".length())));
                }
            }
        }
        final int status = waitFor(check);
        if (status != 0 && status != EXIT_REFUSED)
        {
            throw new IOException("the host runner's check failed (exit status " + status + "): " +
                new String(check.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).strip());
        }
        return List.copyOf(reasons);
    }

    /**
     * The refusals this side finds: {@link HostRefusals}', then (once the program has nothing the image
     * cannot hold, such as views) expressions too deep for the runner's stack.
     */
    private static List<String> beforeTheRunner(final Program program, final RunOptions options)
    {
        final List<String> refused = new ArrayList<>(HostRefusals.of(program, options, hostMemory()));
        if (!refused.isEmpty())
        {
            return List.copyOf(refused);
        }
        for (final Node node : HostImage.of(program, options).tooDeep())
        {
            refused.add(Run.at(program, node) + "cannot run on the host: an expression nests deeper than the runner's " +
                HostImage.MAX_STACK + " levels");
        }
        return List.copyOf(refused);
    }

    /** {@code LINE COLUMN reason} as {@code FILE:LINE:COLUMN: cannot run on the host: reason}. */
    private static String refusal(final Program program, final String text)
    {
        final String[] w = text.split(" ", 3);
        return program.name() + ":" + w[0] + ":" + w[1] + ": cannot run on the host: " + w[2];
    }

    /** The host's memory (MemTotal of /proc/meminfo), bytes; -1 when unknown. */
    public static long hostMemory()
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/meminfo")))
            {
                if (line.startsWith("MemTotal:"))
                {
                    final String value = line.substring("MemTotal:".length()).strip();
                    return Long.parseLong(value.substring(0, value.indexOf(' '))) << 10;
                }
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            return -1;
        }
        return -1;
    }

    /** The runner's binary, built if needed (the C compiler's absence is an IOException saying so). */
    public static Path runner() throws IOException
    {
        return NativeBuild.binary(HostRun.class, SOURCE, "the host runner of 'mmemu run --host'");
    }

    /** Asks the runner to stop (Ctrl-C): it reports what ran. Any thread may call it. */
    public void stop()
    {
        interrupted = true;
        final Process running = process;
        if (running != null)
        {
            running.toHandle().destroy();
        }
    }

    /**
     * Runs the program on the host and reports.
     *
     * @throws Refused     when the program cannot run there (nothing ran)
     * @throws IOException when the runner cannot be built or started
     */
    public Report execute(final Run.Progress progress) throws IOException, Refused
    {
        final List<String> refused = beforeTheRunner(program, options);
        if (!refused.isEmpty())
        {
            throw new Refused(refused);
        }
        final HostImage image = HostImage.of(program, options);
        if (interrupted)
        {
            return new Lines(image).report(true); // stopped before it started (Ctrl-C during --compare's emulator run)
        }
        final Process runner = new ProcessBuilder(runner().toString()).start();
        process = runner;
        if (interrupted)
        {
            runner.toHandle().destroy();
        }
        Thread.ofVirtual().name("mmemu-host-image").start(() -> feed(runner, image.bytes()));
        final StringBuilder stderr = new StringBuilder();
        final Thread errors = Thread.ofVirtual().name("mmemu-host-stderr").start(() -> drain(runner.getErrorStream(), stderr));
        final Lines lines = new Lines(image);
        final Watchdog watchdog = new Watchdog(runner);
        final Thread watching = Thread.ofPlatform().daemon().name("mmemu-host-watchdog").start(watchdog);
        try (BufferedReader in = new BufferedReader(new InputStreamReader(runner.getInputStream(), StandardCharsets.UTF_8)))
        {
            String line;
            while ((line = in.readLine()) != null)
            {
                watchdog.heard();
                try
                {
                    lines.accept(line, progress);
                }
                catch (final RuntimeException ex)
                {
                    throw new IOException("the host runner said something this mmemu cannot read (a mismatched build?): " +
                        line, ex);
                }
            }
        }
        finally
        {
            // whatever ended the reading, no runner outlives it
            if (runner.isAlive() && !lines.done)
            {
                watchdog.waitForExitOrKill();
            }
        }
        final int status = waitFor(runner);
        watching.interrupt();
        join(errors);
        if (status == EXIT_REFUSED && !lines.refusals.isEmpty())
        {
            throw new Refused(lines.refusals);
        }
        if (status == EXIT_BAD_IMAGE)
        {
            throw new IOException("the host runner rejected its image (a bug of mmemu): " + stderr.toString().strip());
        }
        final boolean stoppedBeforeItsHandler = interrupted &&
            (status == SIGNAL_EXIT_BASE + SIGTERM || status == SIGNAL_EXIT_BASE + SIGINT);
        if ((status != 0 || !lines.done) && !stoppedBeforeItsHandler)
        {
            final String cause = watchdog.reason != null ? watchdog.reason + ", killed" :
                status > SIGNAL_EXIT_BASE ? SIGNAL_NAMES.getOrDefault(status - SIGNAL_EXIT_BASE, "signal " + (status - SIGNAL_EXIT_BASE)) :
                "exit status " + status;
            final String detail = stderr.toString().strip();
            lines.error = "host runner crashed: " + cause + (detail.isEmpty() ? "" : " (" + detail.lines().findFirst().orElse("") + ")");
        }
        return lines.report(interrupted || lines.interrupted);
    }

    private static void feed(final Process runner, final byte[] bytes)
    {
        try (OutputStream in = runner.getOutputStream())
        {
            in.write(bytes);
        }
        catch (final IOException ex)
        {
            // the runner died before reading its image: its exit status says why
        }
    }

    private static void drain(final InputStream stream, final StringBuilder into)
    {
        try (stream)
        {
            final String text = new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            synchronized (into)
            {
                into.append(text);
            }
        }
        catch (final IOException ex)
        {
            // nothing more to read
        }
    }

    private static int waitFor(final Process runner) throws IOException
    {
        try
        {
            return runner.waitFor();
        }
        catch (final InterruptedException ex)
        {
            runner.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while the host runner ran", ex);
        }
    }

    private static void join(final Thread thread)
    {
        try
        {
            thread.join(TimeUnit.SECONDS.toMillis(STOP_GRACE_SECONDS));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    /** Kills a runner that went silent or outlived its duration cap; stops waiting once interrupted. */
    private final class Watchdog implements Runnable
    {
        private final Process runner;
        private final long start = System.nanoTime();
        private volatile long lastHeard = System.nanoTime();
        /** Why it killed the runner, or null. */
        volatile String reason;

        Watchdog(final Process runner)
        {
            this.runner = runner;
        }

        void heard()
        {
            lastHeard = System.nanoTime();
        }

        /** After its output ended: gives the runner the stop grace to exit, then kills it. */
        void waitForExitOrKill()
        {
            try
            {
                if (!runner.waitFor(STOP_GRACE_SECONDS, TimeUnit.SECONDS))
                {
                    runner.toHandle().destroyForcibly();
                }
            }
            catch (final InterruptedException ex)
            {
                runner.toHandle().destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void run()
        {
            long stopAsked = 0;
            try
            {
                while (runner.isAlive())
                {
                    Thread.sleep(200);
                    final long now = System.nanoTime();
                    if (now - lastHeard > TimeUnit.SECONDS.toNanos(SILENCE_SECONDS))
                    {
                        reason = "no word from it for " + SILENCE_SECONDS + " s";
                        runner.toHandle().destroyForcibly();
                        return;
                    }
                    final boolean overran = options.durationNanos() != RunOptions.NO_DURATION &&
                        now - start > options.durationNanos() + TimeUnit.SECONDS.toNanos(OVERRUN_SECONDS);
                    if ((overran || interrupted) && stopAsked == 0)
                    {
                        stopAsked = now;
                        runner.toHandle().destroy();
                    }
                    if (stopAsked != 0 && now - stopAsked > TimeUnit.SECONDS.toNanos(STOP_GRACE_SECONDS))
                    {
                        reason = overran ? "still running " + OVERRUN_SECONDS + " s after the --duration cap" :
                            "it did not stop within " + STOP_GRACE_SECONDS + " s of being asked";
                        runner.toHandle().destroyForcibly();
                        return;
                    }
                }
            }
            catch (final InterruptedException ex)
            {
                // the run is over
            }
        }
    }

    /** The runner's lines, as they come, and the report they make (see host_run.c for the protocol). */
    private final class Lines
    {
        private final HostImage image;
        final List<String> refusals = new ArrayList<>();
        final List<String> failures = new ArrayList<>();
        /** The first message of each statement's failures of a kind, by "ID KIND", in the order they came. */
        final Map<String, String> firstFailure = new LinkedHashMap<>();
        /** The runner's tallies ({@code group} lines), by "ID KIND". */
        final Map<String, FailureGroup> groups = new HashMap<>();
        final Histogram latency = new Histogram(TimeUnit.MINUTES.toNanos(1), 2);
        String error;
        String fatal;
        boolean done;
        boolean interrupted;
        long wall;
        long faults;
        long processFaults;
        long elapsed;
        long statements;
        long failed;
        final long[] signals = new long[4];
        long tablePages;
        long tablePagesPeak;
        long dataFrames;
        long dataFramesPeak;
        long rss = -1;
        long rssPeak = -1;

        Lines(final HostImage image)
        {
            this.image = image;
        }

        void accept(final String line, final Run.Progress progress)
        {
            final int space = line.indexOf(' ');
            final String word = space < 0 ? line : line.substring(0, space);
            final String rest = space < 0 ? "" : line.substring(space + 1);
            final String[] w = rest.split(" ");
            switch (word)
            {
                case "refuse" -> refusals.add(refusal(program, rest));
                case "start", "done" -> done |= word.equals("done");
                case "tick" ->
                {
                    elapsed = Long.parseLong(w[0]);
                    processFaults = Long.parseLong(w[1]);
                    memory(Long.parseLong(w[2]), Long.parseLong(w[3]), Long.parseLong(w[4]), Long.parseLong(w[5]));
                    progress.sample(new Run.Sample(elapsed, processFaults, tablePages, dataFrames));
                }
                case "fail" -> failure(Integer.parseInt(w[0]), w);
                case "mismatch" ->
                {
                    final Node.CallNode c = image.call(Integer.parseInt(w[0]));
                    kept(w[0], c, FailureGroups.Kind.BYTES, ProgramThread.mismatch(Long.parseLong(w[1]), Long.parseLong(w[2]),
                        Integer.parseInt(w[3]), Long.parseLong(w[4])));
                }
                case "group" ->
                {
                    // group ID KIND COUNT FIRST LAST: a statement's failures of one kind (host_run.c's tally;
                    // its kinds are numbered as FailureGroups.Kind's ordinals)
                    final Node.CallNode c = image.call(Integer.parseInt(w[0]));
                    final String first = firstFailure.getOrDefault(w[0] + " " + w[1], "");
                    groups.put(w[0] + " " + w[1], new FailureGroup(program.name() + ":" + c.line() + ":" + c.column(), Long.parseLong(w[2]),
                        first, Long.parseLong(w[3]), Long.parseLong(w[4])));
                }
                case "error" -> error = new ProgramError(Integer.parseInt(w[0]), Integer.parseInt(w[1]),
                    rest.substring(w[0].length() + w[1].length() + 2)).format(program.name());
                case "deadlock" -> error = rest;
                case "killed" ->
                {
                    final Node.CallNode c = image.call(Integer.parseInt(w[0]));
                    fatal = Run.at(program, c) + c.text() + " raised " + Signal.describe(Integer.parseInt(w[1]), Long.parseLong(w[2]));
                }
                case "wall" -> wall = Long.parseLong(w[0]);
                case "faults" -> faults = Long.parseLong(w[0]);
                case "signals" ->
                {
                    for (int i = 0; i < signals.length; i++)
                    {
                        signals[i] = Long.parseLong(w[i]);
                    }
                }
                case "statements" -> statements = Long.parseLong(w[0]);
                case "failed" -> failed = Long.parseLong(w[0]);
                case "lat" -> latency.recordValueWithCount(Math.min(Long.parseLong(w[0]), latency.getHighestTrackableValue()),
                    Long.parseLong(w[1]));
                case "memory" -> memory(Long.parseLong(w[0]), Long.parseLong(w[1]), Long.parseLong(w[2]), Long.parseLong(w[3]));
                case "interrupted" -> interrupted = w[0].equals("1");
                default -> throw new IllegalStateException("unexpected line from the host runner: " + line);
            }
        }

        private void memory(final long pteKb, final long anonKb, final long rssKb, final long hwmKb)
        {
            tablePages = pteKb < 0 ? 0 : pteKb / 4;
            dataFrames = anonKb < 0 ? 0 : anonKb / 4;
            rss = rssKb < 0 ? -1 : rssKb << 10;
            rssPeak = hwmKb < 0 ? -1 : hwmKb << 10;
            tablePagesPeak = Math.max(tablePagesPeak, tablePages);
            dataFramesPeak = Math.max(dataFramesPeak, dataFrames);
        }

        /** {@code fail ID SIGNAL VALUE ADDRESS N V1..VN}: the values of the expectations' expressions. */
        private void failure(final int id, final String[] w)
        {
            final Node.CallNode c = image.call(id);
            final int signal = Integer.parseInt(w[1]);
            final Outcome outcome = signal == Signal.NONE ? Outcome.returned(Long.parseLong(w[2])) :
                Outcome.raised(signal, Long.parseLong(w[3]));
            final StringBuilder expected = new StringBuilder();
            for (int i = 0; i < c.expectations().size(); i++)
            {
                expected.append(i == 0 ? "" : " or ").append(c.expectations().get(i).describe(Long.parseLong(w[5 + i])));
            }
            kept(Integer.toString(id), c, FailureGroups.Kind.OUTCOME, ProgramThread.unmet(c, outcome, expected.toString()));
        }

        /** A failure the runner sent: among the first it keeps, or its statement's first of this kind. */
        private void kept(final String id, final Node.CallNode node, final FailureGroups.Kind kind, final String what)
        {
            firstFailure.putIfAbsent(id + " " + kind.ordinal(), what);
            if (failures.size() < Run.KEPT_FAILURES)
            {
                failures.add(Run.at(program, node) + what);
            }
        }

        Report report(final boolean stopped)
        {
            final long signalled = signals[0] + signals[1] + signals[3];
            // the kernel counts served faults only (getrusage); a fault that raised a signal counts too, as the emulator's
            final long allFaults = (done ? faults : processFaults) + signalled;
            final MmStats stats = new MmStats(allFaults, 0, 0, signals[0], signals[1], signals[3], 0, 0, 0, 0, 0, 0, 0, 0, latency,
                empty(), empty(), empty(), empty());
            final long memory = hostMemory();
            final RunOptions host = options.withPhysicalMemory(memory > 0 ? memory : options.physicalMemory(), Backing.FULL);
            return new Report(program, host, done ? wall : elapsed, stats, tablePagesPeak, tablePages, dataFramesPeak,
                dataFrames, rssPeak, rss, statements, signals.clone(), Math.max(failed, failures.size()), List.copyOf(failures),
                groupsInOrder(), error, fatal, stopped, "Linux " + System.getProperty("os.version"));
        }

        /** The groups in the order their first failures came, as the emulator's ({@link FailureGroups}). */
        private List<FailureGroup> groupsInOrder()
        {
            final List<FailureGroup> list = new ArrayList<>(groups.size());
            for (final String key : firstFailure.keySet())
            {
                final FailureGroup group = groups.get(key);
                if (group != null)
                {
                    list.add(group);
                }
            }
            return List.copyOf(list);
        }

        private Histogram empty()
        {
            return new Histogram(latency.getHighestTrackableValue(), 2);
        }
    }
}
