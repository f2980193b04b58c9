package io.mmemu.program;

import java.io.PrintStream;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Where a running program's views go ({@code show}, {@code dump}, {@code html}; see
 * docs/language.md): whole views, each under one header line, numbered in the order they are
 * printed; and the directory that relative file names of {@code dump} and {@code html} resolve
 * against. Program threads print concurrently; a view is never interleaved with another.
 * <p>
 * The header: {@code ==> view N: WHAT at FILE:LINE, thread NAME, T ms <==}, where N counts the
 * run's views from 1, WHAT is the view ({@code maps}, {@code pagemap 0x1000-0x3000},
 * {@code dump /abs/mid.dump}, ...), and T the time since the program started when the view was taken.
 */
public final class ViewOutput
{
    /** Receives whole views (header and text), one call each; called under this output's monitor. */
    @FunctionalInterface
    public interface Sink
    {
        void print(String text);
    }

    /** Drops every view (the files are still written). */
    public static final Sink DISCARD = text -> { };

    private final Sink sink;
    private final Path base;
    private long printed;

    /**
     * @param sink where views go
     * @param base the directory relative file names resolve against (made absolute now)
     */
    public ViewOutput(final Sink sink, final Path base)
    {
        this.sink = sink;
        this.base = base.toAbsolutePath();
    }

    /** Views to {@code out}, relative file names against the current directory. */
    public static ViewOutput to(final PrintStream out)
    {
        return new ViewOutput(text ->
        {
            out.print(text);
            out.flush();
        }, Path.of(""));
    }

    public Path base()
    {
        return base;
    }

    /** {@code file} resolved against {@link #base()}; throws {@link InvalidPathException} for a name the file system cannot hold. */
    Path resolve(final String file)
    {
        return base.resolve(file);
    }

    /** Numbers the view and prints it under its header. */
    synchronized void print(final String what, final String where, final String thread, final long takenNanos,
        final String text)
    {
        printed++;
        sink.print(header(printed, what, where, thread, takenNanos) + "\n" + text);
    }

    static String header(final long number, final String what, final String where, final String thread, final long takenNanos)
    {
        return String.format(Locale.ROOT, "==> view %d: %s at %s, thread %s, %.3f ms <==", number, what, where, thread,
            takenNanos / 1e6);
    }
}
