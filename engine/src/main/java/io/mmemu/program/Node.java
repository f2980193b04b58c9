package io.mmemu.program;

import java.util.List;

import io.mmemu.script.Call;

/**
 * A statement of a program, as parsed: what it does, where it was ({@code line}, {@code column},
 * 1-based). Blocks are lists of nodes; names are already resolved to frame slots, events and
 * threads to indexes.
 */
sealed interface Node
{
    int line();

    int column();

    /**
     * A syscall or a touch, with its result bound to a slot (or {@link #NO_SLOT}) and the outcomes
     * it expects (empty: none).
     *
     * @param text      the call as written, for messages
     * @param arguments one per {@link Call#parameters()} entry
     * @param pattern   how a touch walks its range (null for syscalls)
     */
    record CallNode(int line, int column, String text, Call call, List<Expr> arguments, TouchPattern pattern,
                    int slot, List<Expectation> expectations) implements Node
    {
    }

    /** {@code NAME = EXPR}. */
    record Assign(int line, int column, int slot, Expr value) implements Node
    {
    }

    /** {@code repeat N [as NAME] { ... }}: index slot {@link #NO_SLOT} when unnamed. */
    record Repeat(int line, int column, Expr count, int indexSlot, List<Node> body) implements Node
    {
    }

    /** {@code for DURATION { ... }}. */
    record For(int line, int column, long nanos, List<Node> body) implements Node
    {
    }

    /** {@code until EVENT { ... }}: repeats until the event has been posted. */
    record Until(int line, int column, int event, List<Node> body) implements Node
    {
    }

    /** {@code parallel [N] { ... }}: N threads (null: the run's --threads) run the body; waits for all. */
    record Parallel(int line, int column, Expr count, List<Node> body) implements Node
    {
    }

    /** {@code thread NAME { ... }}: starts a thread and goes on; joined by {@code join NAME} or at the block's end. */
    record Thread(int line, int column, String name, int index, List<Node> body) implements Node
    {
    }

    /**
     * {@code fork { ... }}: a child process, with a copy-on-write copy of the address space, runs the
     * body as its main thread (its own CPU in its own address space); the parent goes on at once.
     */
    record Fork(int line, int column, List<Node> body) implements Node
    {
    }

    /** {@code wait} alone: waits until every child process this thread forked has exited. */
    record WaitChildren(int line, int column) implements Node
    {
    }

    /** {@code join NAME}. */
    record Join(int line, int column, String name, int index) implements Node
    {
    }

    /** {@code barrier}: waits for every thread of the innermost {@code parallel} still running. */
    record Barrier(int line, int column) implements Node
    {
    }

    /** {@code post EVENT}. */
    record Post(int line, int column, int event) implements Node
    {
    }

    /** {@code wait EVENT}: the k-th wait of a thread on an event returns once it has been posted k times. */
    record Wait(int line, int column, int event) implements Node
    {
    }

    /** {@code sleep DURATION}. */
    record Sleep(int line, int column, long nanos) implements Node
    {
    }

    /** {@code signals fatal} or {@code signals continue}: whether an unexpected signal ends the run. */
    record Signals(int line, int column, boolean fatal) implements Node
    {
    }

    /** The views {@code show} prints: /proc's files and ptdump of the whole space, pagemap and walk of addresses. */
    enum View
    {
        MAPS, SMAPS, PTDUMP, PAGEMAP, WALK;

        /** As the language writes it. */
        String word()
        {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * {@code show VIEW}, {@code show pagemap(ADDR, LENGTH)} or {@code show walk(ADDR)}: prints the
     * view on the run's view output.
     *
     * @param address the address (pagemap, walk), else null
     * @param length  the length of the pagemap's range, else null
     */
    record Show(int line, int column, View view, Expr address, Expr length) implements Node
    {
    }

    /**
     * {@code dump "FILE" [data]} or {@code html "FILE"}: writes the address space to a file.
     *
     * @param file     as written (relative names resolve against the run's output directory)
     * @param html     the HTML picture rather than a dump
     * @param withData (dump) the data frames' bytes too
     */
    record Save(int line, int column, String file, boolean html, boolean withData) implements Node
    {
    }

    int NO_SLOT = -1;
}
