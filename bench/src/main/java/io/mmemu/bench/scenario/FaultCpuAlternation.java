package io.mmemu.bench.scenario;

import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Arrays;

/**
 * Two builds' page_fault1 CPU time ({@link FaultCpuTimeScenario#measure}) in one JVM, alternating:
 * each build is loaded from its own class path by a class loader of its own (whose parent is the
 * platform loader, so neither sees this build's classes nor the other's), and the two are measured
 * one after the other, the order alternating, {@code PAIRS} times. Two measurements seconds apart in
 * one JVM share the host's state (this machine's fast and slow modes, bench/README.md), which
 * separate JVMs do not; what they do not share is the JIT's luck — each build's hot path is
 * compiled once per JVM, and an unlucky compilation stays for the JVM's life — so a comparison
 * takes many JVMs (bench/scripts/fault_cpu_alternation.sh) and quotes the median over all pairs.
 * Prints one line per pair, {@code pair I base=NS new=NS ratio=NEW/BASE}.
 * <pre>
 *   java -cp bench/target/benchmarks.jar io.mmemu.bench.scenario.FaultCpuAlternation PAIRS THREADS BASE_CLASSPATH NEW_CLASSPATH [CYCLES [REPS [SIZE_MIB]]]
 * </pre>
 * A class path is a jar (bench/target/benchmarks.jar of the build) or several entries joined by the
 * platform's path separator; each must hold a {@code FaultCpuTimeScenario} with {@code measure}.
 */
public final class FaultCpuAlternation
{
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
        final long size = (args.length > 6 ? Long.parseLong(args[6]) : 128) << 20;
        final double[][] figures = compare(pairs, threads, new String[] {args[2], args[3]}, cycles, reps, size);
        for (int i = 0; i < pairs; i++)
        {
            System.out.printf("pair %d base=%.1f new=%.1f ratio=%.4f%n", i, figures[i][0], figures[i][1], figures[i][1] / figures[i][0]);
        }
    }

    /**
     * {@code pairs} rows of the two builds' median CPU ns per fault ({@code [base, new]}), measured in
     * alternation (base first in even pairs, new first in odd ones).
     */
    static double[][] compare(final int pairs, final int threads, final String[] classPaths, final int cycles,
        final int reps, final long size) throws Exception
    {
        final Method[] measure = new Method[classPaths.length];
        for (int k = 0; k < classPaths.length; k++)
        {
            measure[k] = measureIn(classPaths[k]);
        }
        final double[][] figures = new double[pairs][2];
        for (int i = 0; i < pairs; i++)
        {
            for (int j = 0; j < 2; j++)
            {
                final int k = i % 2 == 0 ? j : 1 - j;
                figures[i][k] = median(invoke(measure[k], threads, cycles, reps, size));
            }
        }
        return figures;
    }

    /** The {@code measure} method of the {@code FaultCpuTimeScenario} on {@code classPath}, in a loader of its own. */
    static Method measureIn(final String classPath) throws ClassNotFoundException, NoSuchMethodException, MalformedURLException
    {
        final String[] entries = classPath.split(File.pathSeparator);
        final URL[] urls = new URL[entries.length];
        for (int i = 0; i < entries.length; i++)
        {
            urls[i] = new File(entries[i]).toURI().toURL();
        }
        // never closed: the build's classes stay loaded for the JVM's life, as its compiled code does
        final ClassLoader loader = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader());
        final Method measure = Class.forName(FaultCpuTimeScenario.class.getName(), true, loader)
            .getDeclaredMethod("measure", int.class, int.class, int.class, long.class);
        measure.setAccessible(true);
        return measure;
    }

    private static double[] invoke(final Method measure, final int threads, final int cycles, final int reps, final long size)
        throws IllegalAccessException, InvocationTargetException
    {
        return (double[])measure.invoke(null, threads, cycles, reps, size);
    }

    private static double median(final double[] values)
    {
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        final int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
