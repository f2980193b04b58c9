package io.mmemu.bench.results;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.mmemu.bench.JvmFlags;

/**
 * How long and how often figures are measured, and the JVM and jar that measure them. The default
 * run takes about 30 minutes on 2 shared cores (see bench/README.md); {@code quick} is a smoke run of
 * the whole page.
 *
 * @param java the java launcher of this JVM; JMH forks and scenario runs use the same.
 * @param jar  benchmarks.jar, as a path relative to the directory the commands are shown from.
 */
public record Settings(boolean quick, String java, Path jar)
{
    /** A figure whose spread (max - min over median) exceeds this looks disturbed and is measured again. */
    public static final double DISTURBED_SPREAD = 0.10;

    /** JMH's run options: forks (one when quick), iterations and their lengths, and the allocation profiler. */
    public List<String> jmhOptions(final int forks)
    {
        final List<String> options = new ArrayList<>(quick ?
            List.of("-f", "1", "-wi", "1", "-i", "3", "-w", "500ms", "-r", "500ms") :
            List.of("-f", Integer.toString(forks), "-wi", "3", "-i", "5", "-w", "1s", "-r", "1s"));
        options.addAll(List.of("-prof", "gc"));
        return options;
    }

    /** Fresh-JVM runs of a scenario whose figures vary from run to run. */
    public int scenarioRuns()
    {
        return quick ? 1 : 3;
    }

    /** Rounds (a JVM per build each) of a side-by-side comparison of two builds, at each thread count ({@link BuildComparisonFigure}). */
    public int comparisonRounds()
    {
        return quick ? 2 : 16;
    }

    /** Pairs of measurements (one of each build) in each round. */
    public int comparisonPairs()
    {
        return quick ? 1 : 4;
    }

    /** Measurements of a figure at most: the first, and one more if the first looks disturbed. */
    public int attempts()
    {
        return quick ? 1 : 2;
    }

    /** How long a figure waits for a quiet machine (see {@link OtherWork}) before it is measured anyway. */
    public long quietWaitSeconds()
    {
        return quick ? 0 : 60;
    }

    /** The launcher and the flags every measuring JVM gets. */
    public List<String> javaCommand()
    {
        return List.of(java, JvmFlags.NATIVE_ACCESS, JvmFlags.OPEN_MISC);
    }

    /** A command line as a reader can paste it into a shell. */
    public static String shell(final List<String> words)
    {
        final StringBuilder out = new StringBuilder();
        for (final String word : words)
        {
            if (!out.isEmpty())
            {
                out.append(' ');
            }
            out.append(word.matches("[A-Za-z0-9_./=:,+@%-]+") ? word : "'" + word.replace("'", "'\\''") + "'");
        }
        return out.toString();
    }
}
