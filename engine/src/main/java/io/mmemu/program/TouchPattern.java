package io.mmemu.program;

/**
 * How a {@code touch} walks its range: every {@code stride} bytes in order, or {@code count}
 * accesses at random multiples of the stride (a fixed {@code seed}, or the thread's own stream);
 * the byte written, and whether reads check it.
 *
 * @param stride bytes between two accesses (default a page)
 * @param random number of random accesses, or null for the sequential walk
 * @param seed   the random positions' seed, or null for the thread's stream
 * @param value  the byte written and checked on reads, or null (writes store 1, reads check nothing)
 */
record TouchPattern(Expr stride, Expr random, Expr seed, Expr value)
{
}
