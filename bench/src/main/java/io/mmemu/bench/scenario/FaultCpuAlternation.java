package io.mmemu.bench.scenario;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.mmemu.bench.JvmFlags;

/**
 * Two builds' page_fault1 CPU time ({@link FaultCpuTimeScenario}) side by side: each build runs in a
 * JVM of its own, started once ({@code FaultCpuTimeScenario --serve} on the build's class path), and
 * the two are asked to measure one after the other, the order alternating, {@code PAIRS} times. Two
 * measurements seconds apart share the host's state (this machine's fast and slow modes,
 * bench/README.md), which JVMs run minutes apart do not; and in JVMs of their own, neither build's
 * compiled code is shaped by the other's (in one JVM, the build that ran first came out 5–10% faster:
 * the JDK code both call had been profiled and compiled for it alone). What a pair does not share is
 * the JIT's luck — each build's hot path is compiled once a JVM, and an unlucky compilation stays for
 * the JVM's life — so a comparison takes many rounds (bench/scripts/fault_cpu_alternation.sh) and
 * quotes the median over all pairs.
 * Prints one line per pair, {@code pair I base=NS new=NS ratio=NEW/BASE}.
 * <pre>
 *   java -cp bench/target/benchmarks.jar io.mmemu.bench.scenario.FaultCpuAlternation PAIRS THREADS BASE_CLASSPATH NEW_CLASSPATH [CYCLES [REPS [SIZE_MIB]]]
 * </pre>
 * A class path is what {@code bench/scripts/build_at.sh} prints for a build (this tree's
 * FaultCpuTimeScenario first, then the build's jar), or any holding a FaultCpuTimeScenario with
 * {@code --serve}.
 */
public final class FaultCpuAlternation
{
    /**
     * Each build's JVM compiles on the thread that needs the code, waiting for it: the hot path is
     * compiled at the same point of the run in every JVM, from the same profile, instead of whenever
     * a background compiler thread gets one of the two cores the faulting threads share with it.
     * That race decided which compilation a JVM kept for its life: two JVMs of the same build, in
     * alternation, were within 2% of each other in most pairs with this flag, and 0.76–1.9× apart in
     * a third of the rounds without it (bench/README.md, "Comparing two builds").
     */
    static final String COMPILE_IN_LINE = "-Xbatch";

    private FaultCpuAlternation()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        if (args.length < 4)
        {
            System.err.println("usage: FaultCpuAlternation PAIRS THREADS BASE_CLASSPATH NEW_CLASSPATH [CYCLES [REPS [SIZE_MIB]]]");
            System.exit(2);
        }
        final int pairs = Integer.parseInt(args[0]);
        final int threads = Integer.parseInt(args[1]);
        final int cycles = args.length > 4 ? Integer.parseInt(args[4]) : 20;
        final int reps = args.length > 5 ? Integer.parseInt(args[5]) : 5;
        final int sizeMib = args.length > 6 ? Integer.parseInt(args[6]) : 128;
        final double[][] figures = compare(pairs, threads, new String[] {args[2], args[3]}, cycles, reps, sizeMib);
        for (int i = 0; i < pairs; i++)
        {
            System.out.printf("pair %d base=%.1f new=%.1f ratio=%.4f%n", i, figures[i][0], figures[i][1], figures[i][1] / figures[i][0]);
        }
    }

    /**
     * {@code pairs} rows of the two builds' median CPU ns per fault ({@code [base, new]}), measured in
     * alternation (base first in even pairs, new first in odd ones), each build in a JVM of its own.
     *
     * @throws IllegalStateException when a build's JVM fails (its reason is on standard error).
     */
    static double[][] compare(final int pairs, final int threads, final String[] classPaths, final int cycles,
        final int reps, final int sizeMib) throws IOException, InterruptedException
    {
        final Side[] sides = new Side[classPaths.length];
        try
        {
            for (int k = 0; k < sides.length; k++)
            {
                sides[k] = Side.start(classPaths[k], threads, cycles, reps, sizeMib);
            }
            final double[][] figures = new double[pairs][2];
            for (int i = 0; i < pairs; i++)
            {
                for (int j = 0; j < 2; j++)
                {
                    final int k = i % 2 == 0 ? j : 1 - j;
                    figures[i][k] = sides[k].measure();
                }
            }
            return figures;
        }
        finally
        {
            for (final Side side : sides)
            {
                if (side != null)
                {
                    side.close();
                }
            }
        }
    }

    /** One build's JVM, serving measurements. */
    private record Side(String classPath, Process jvm, Writer requests, BufferedReader answers)
    {
        static Side start(final String classPath, final int threads, final int cycles, final int reps,
            final int sizeMib) throws IOException
        {
            final String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            final Process jvm = new ProcessBuilder(List.of(java, JvmFlags.NATIVE_ACCESS, JvmFlags.OPEN_MISC, COMPILE_IN_LINE,
                "-cp", classPath, FaultCpuTimeScenario.class.getName(), "--serve", Integer.toString(threads),
                Integer.toString(cycles), Integer.toString(reps), Integer.toString(sizeMib)))
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
            return new Side(classPath, jvm, new OutputStreamWriter(jvm.getOutputStream(), StandardCharsets.UTF_8),
                new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8)));
        }

        double measure() throws IOException, InterruptedException
        {
            try
            {
                requests.write(FaultCpuTimeScenario.MEASURE + '\n');
                requests.flush();
            }
            catch (final IOException gone)
            {
                throw failed();
            }
            final String answer = answers.readLine();
            if (answer == null || !answer.startsWith(FaultCpuTimeScenario.ANSWER + ' '))
            {
                throw failed();
            }
            return Double.parseDouble(answer.substring(FaultCpuTimeScenario.ANSWER.length() + 1));
        }

        private IllegalStateException failed() throws InterruptedException
        {
            final boolean ended = jvm.waitFor(10, TimeUnit.SECONDS);
            return new IllegalStateException("the JVM measuring " + classPath + " failed" +
                (ended ? " with exit status " + jvm.exitValue() : "") + " (its reason is on standard error)");
        }

        /** Ends the JVM: its input ends, and it exits once any measurement under way is done. */
        void close() throws IOException, InterruptedException
        {
            try
            {
                requests.close();
            }
            catch (final IOException gone)
            {
                // already ended
            }
            if (!jvm.waitFor(60, TimeUnit.SECONDS))
            {
                jvm.destroyForcibly();
            }
        }
    }
}
