package io.mmemu.program;

import java.nio.file.Path;
import java.util.Objects;

import io.mmemu.pgtable.PagingMode;
import io.mmemu.phys.Backing;
import io.mmemu.script.Lexer;
import io.mmemu.script.LineException;
import io.mmemu.script.Token;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.HugetlbConfig;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.LockingMode;
import io.mmemu.vm.Overcommit;
import io.mmemu.vm.ThpMode;

/**
 * How to run a program.
 *
 * @param physicalMemory emulated physical memory in bytes
 * @param backing        whether data frames have bytes ({@link Backing#FULL}) or are only accounted
 * @param locking        per-VMA locks (the seed's design) or the classic mmap lock
 * @param section        the sectioned unmap's section, bytes
 * @param seed           the seed of every random choice (touch ... random N without its own seed)
 * @param durationNanos  after this long, loops start no new iteration ({@link #NO_DURATION}: no cap)
 * @param threads        the thread count of {@code parallel} without a count
 * @param kernel         the kernel build to emulate (its paging levels too: {@code option paging 5})
 * @param thp            the transparent-huge-page policy of the run's address space (and its views)
 * @param counters       the live counters file, or null for none
 * @param overcommit     vm.overcommit_memory and its ratio or kbytes
 * @param swap           the machine's swap area: {@link SwapOption#NONE}, or its size and where it lives
 * @param hugetlb        the hugetlb pools the machine boots with
 */
public record RunOptions(long physicalMemory, Backing backing, LockingMode locking, long section, long seed,
                         long durationNanos, int threads, KernelConfig kernel, ThpMode thp, Path counters,
                         Overcommit overcommit, SwapOption swap, HugetlbConfig hugetlb)
{
    public static final long NO_DURATION = Long.MAX_VALUE;
    public static final long DEFAULT_PHYSICAL_MEMORY = 4L << 30;
    public static final int DEFAULT_THREADS = 4;

    public RunOptions
    {
        Objects.requireNonNull(backing, "backing");
        Objects.requireNonNull(locking, "locking");
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(overcommit, "overcommit");
        Objects.requireNonNull(thp, "thp");
        Objects.requireNonNull(swap, "swap");
        Objects.requireNonNull(hugetlb, "hugetlb");
        if (physicalMemory <= 0)
        {
            throw new IllegalArgumentException("physical memory must be positive: " + physicalMemory);
        }
        if (durationNanos <= 0)
        {
            throw new IllegalArgumentException("duration must be positive: " + durationNanos + " ns");
        }
        if (threads < 1 || threads > Run.MAX_THREADS)
        {
            throw new IllegalArgumentException("threads must be 1 to " + Run.MAX_THREADS + ": " + threads);
        }
    }

    /**
     * The defaults: 4 GiB fully backed, per-VMA locks, 1 GiB sections, seed 1, no duration cap, 4
     * threads, THP never (the same on every host; {@code mmemu run} starts from the host's policy),
     * no counters file, Linux's overcommit heuristic, no swap, no hugetlb pools.
     */
    public static RunOptions defaults()
    {
        return new RunOptions(DEFAULT_PHYSICAL_MEMORY, Backing.FULL, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, 1,
            NO_DURATION, DEFAULT_THREADS, KernelConfig.MAINLINE, ThpMode.NEVER, null, Overcommit.DEFAULT, SwapOption.NONE,
            HugetlbConfig.NONE);
    }

    /** The option names, as programs ({@code option NAME VALUE}) and the command line ({@code --NAME VALUE}) write them. */
    public static final java.util.List<String> NAMES = java.util.List.of("physmem", "backing", "locking", "section", "seed",
        "duration", "threads", "thp", "overcommit", "paging", "swap", "hugetlb");

    /**
     * These options with one changed, written as a program or the command line writes it:
     * {@code physmem 64G}, {@code backing tables-only}, {@code locking mmap-lock}, {@code section 1G},
     * {@code seed 7}, {@code duration 10s}, {@code threads 8}, {@code thp madvise} ({@code host}: the
     * policy of the kernel this runs on), {@code overcommit 2,ratio=80}, {@code paging 5}, {@code swap 1G} (in emulated
     * memory) or {@code swap 1G,file=/tmp/swap} (a sparse host file), {@code swap 0}: none, {@code hugetlb 2M:512,1G:1}.
     *
     * @throws IllegalArgumentException for an unknown option or a malformed value, with a one-line reason
     */
    public RunOptions with(final String option, final String text)
    {
        final String value = text.strip();
        return switch (option)
        {
            case "physmem" -> withPhysicalMemory(number(option, value), backing);
            case "backing" -> withPhysicalMemory(physicalMemory, switch (value)
            {
                case "full" -> Backing.FULL;
                case "tables-only" -> Backing.TABLES_ONLY;
                default -> throw new IllegalArgumentException("backing must be full or tables-only, not '" + value + "'");
            });
            case "locking" -> withLocking(LockingMode.fromCliName(value));
            case "section" -> new RunOptions(physicalMemory, backing, locking, number(option, value), seed, durationNanos,
                threads, kernel, thp, counters, overcommit, swap, hugetlb);
            case "seed" -> new RunOptions(physicalMemory, backing, locking, section, number(option, value), durationNanos,
                threads, kernel, thp, counters, overcommit, swap, hugetlb);
            case "duration" -> withDuration(duration(option, value));
            case "thp" -> new RunOptions(physicalMemory, backing, locking, section, seed, durationNanos, threads, kernel,
                "host".equals(value) ? ThpMode.host() : ThpMode.of(value), counters, overcommit, swap, hugetlb);
            case "threads" ->
            {
                final long n = number(option, value);
                if (n < 1 || n > Run.MAX_THREADS)
                {
                    throw new IllegalArgumentException("threads must be 1 to " + Run.MAX_THREADS + ", not " + value);
                }
                yield withThreads((int)n);
            }
            case "overcommit" -> withOvercommit(Overcommit.parse(value));
            case "paging" -> withKernel(kernel.withPaging(PagingMode.parse(value)));
            case "swap" -> withSwap(SwapOption.parse(value));
            case "hugetlb" -> withHugetlb(HugetlbConfig.parse(value));
            default -> throw new IllegalArgumentException("unknown option '" + option + "' (the options are " +
                String.join(", ", NAMES) + ")");
        };
    }

    /** A number or size as programs write it: {@code 4096}, {@code 0x1000}, {@code 64G}. */
    public static long number(final String option, final String text)
    {
        final Token token = single(text);
        if (token == null || token.kind() != Token.Kind.NUMBER)
        {
            throw new IllegalArgumentException(option + " takes a number or size such as 4096, 0x1000 or 64G, not '" + text + "'");
        }
        return token.value();
    }

    /** A positive duration as programs write it: {@code 500ms}, {@code 10s}, {@code 2min}. */
    public static long duration(final String option, final String text)
    {
        final Token token = single(text);
        if (token == null || token.kind() != Token.Kind.DURATION || token.value() <= 0)
        {
            throw new IllegalArgumentException(option + " takes a positive duration such as 500ms, 10s or 2min, not '" + text + "'");
        }
        return token.value();
    }

    /** The one token of {@code text} in the program dialect, or null. */
    private static Token single(final String text)
    {
        final Lexer lexer = new Lexer(text, Lexer.Dialect.PROGRAM);
        try
        {
            final Token token = lexer.next();
            return lexer.next().kind() == Token.Kind.END ? token : null;
        }
        catch (final LineException ex)
        {
            return null;
        }
    }

    public RunOptions withPhysicalMemory(final long bytes, final Backing how)
    {
        return new RunOptions(bytes, how, locking, section, seed, durationNanos, threads, kernel, thp, counters, overcommit, swap, hugetlb);
    }

    public RunOptions withLocking(final LockingMode mode)
    {
        return new RunOptions(physicalMemory, backing, mode, section, seed, durationNanos, threads, kernel, thp, counters, overcommit, swap, hugetlb);
    }

    public RunOptions withDuration(final long nanos)
    {
        return new RunOptions(physicalMemory, backing, locking, section, seed, nanos, threads, kernel, thp, counters, overcommit, swap, hugetlb);
    }

    public RunOptions withThreads(final int count)
    {
        return new RunOptions(physicalMemory, backing, locking, section, seed, durationNanos, count, kernel, thp, counters, overcommit, swap, hugetlb);
    }

    public RunOptions withOvercommit(final Overcommit policy)
    {
        return new RunOptions(physicalMemory, backing, locking, section, seed, durationNanos, threads, kernel, thp, counters, policy, swap, hugetlb);
    }

    public RunOptions withSwap(final SwapOption area)
    {
        return new RunOptions(physicalMemory, backing, locking, section, seed, durationNanos, threads, kernel, thp, counters,
            overcommit, area, hugetlb);
    }

    public RunOptions withKernel(final KernelConfig build)
    {
        return new RunOptions(physicalMemory, backing, locking, section, seed, durationNanos, threads, build, thp, counters, overcommit, swap, hugetlb);
    }

    public RunOptions withHugetlb(final HugetlbConfig pools)
    {
        return new RunOptions(physicalMemory, backing, locking, section, seed, durationNanos, threads, kernel, thp, counters,
            overcommit, swap, pools);
    }

    public RunOptions withCounters(final Path file)
    {
        return new RunOptions(physicalMemory, backing, locking, section, seed, durationNanos, threads, kernel, thp, file, overcommit, swap, hugetlb);
    }
}
