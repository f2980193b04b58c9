package io.mmemu.check;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import io.mmemu.pgtable.PagingMode;
import io.mmemu.phys.Backing;
import io.mmemu.script.Call;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.LockingMode;
import io.mmemu.vm.ThpMode;

import static io.mmemu.vm.Mman.*;

/**
 * Random concurrent scenarios over one small window, so that their operations collide: the
 * window's top is the mmap base, where every non-fixed mmap lands first; the heap starts at its
 * bottom and grows into it; fixed calls and touches aim at a few hot pages of it most of the
 * time. The setup maps pieces at some hot pages (leaving holes between) and writes a few bytes, so that
 * unmaps, protection changes, moves and reads have something to act on from the start.
 * <p>
 * A quarter of the scenarios start with a stack (a MAP_GROWSDOWN VMA) with two hot pages below
 * it, where touches grow it and other calls map and unmap what blocks the growth.
 * <p>
 * A quarter of the scenarios run with transparent huge pages (policy always or madvise) over
 * another window: two 2 MiB blocks, mapped whole by the setup and written, so that leaves exist
 * when the threads start; their hot pages sit at the blocks' edges and inside them, where small
 * munmaps, mprotects and madvises split leaves while other threads fault and touch, and a few ops
 * act on whole blocks (map one afresh, unmap, collapse, advise, move one onto the other).
 * <p>
 * A quarter of the scenarios run on five-level tables (LA57): the same windows, under a PML5 and
 * a real P4D level, so that every walk, fill and table free has its fifth level.
 * <p>
 * Every mmap kind the engine has without files: private and shared anonymous memory, with no
 * address, a hint, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE, MAP_GROWSDOWN (touches below it
 * grow it), MAP_NORESERVE. File mappings are left out: the program language has no files to name.
 */
public final class ScenarioGenerator
{
    public static final long PAGE = 4096;
    /** Pages in the window. */
    public static final int WINDOW_PAGES = 48;
    public static final long WINDOW_END = AddressSpace.MMAP_BASE;
    public static final long WINDOW_START = WINDOW_END - WINDOW_PAGES * PAGE;
    /** The huge scenarios' window: two 2 MiB blocks, aligned, just below the mmap base. */
    public static final long HUGE = 2L << 20;
    public static final long HUGE_WINDOW_END = AddressSpace.MMAP_BASE & -HUGE;
    public static final long HUGE_WINDOW_START = HUGE_WINDOW_END - 2 * HUGE;
    private static final int HUGE_WINDOW_PAGES = (int)(2 * HUGE / PAGE);
    /** Where the stack of a scenario with one starts: a third of the way up the window. */
    private static final long STACK = WINDOW_START + WINDOW_PAGES / 3 * PAGE;
    /** Hot pages per scenario: where most fixed calls and touches go. */
    private static final int HOT_PAGES = 6;
    private static final int MAX_PAGES = 6;
    /** Sections of a sectioned unmap: page by page (the most interleaving), a few pages, the default. */
    private static final long[] SECTIONS = {PAGE, 4 * PAGE, AddressSpace.DEFAULT_SECTION};
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS;

    private final int minThreads;
    private final int maxThreads;
    private final int minOps;
    private final int maxOps;
    private final Set<Call> without;

    /**
     * @param minThreads at least 1
     * @param maxThreads at least minThreads
     * @param minOps     ops per thread, at least
     * @param maxOps     ops per thread, at most
     * @param without    calls the threads never make (to look past a known bug); the setup still may
     */
    public ScenarioGenerator(final int minThreads, final int maxThreads, final int minOps, final int maxOps,
        final Set<Call> without)
    {
        if (minThreads < 1 || maxThreads < minThreads || minOps < 1 || maxOps < minOps)
        {
            throw new IllegalArgumentException(String.format("bad ranges: threads %d-%d, ops %d-%d",
                minThreads, maxThreads, minOps, maxOps));
        }
        if (without.containsAll(EnumSet.of(Call.MMAP, Call.MUNMAP, Call.MPROTECT, Call.MREMAP, Call.MADVISE, Call.BRK, Call.TOUCH)))
        {
            throw new IllegalArgumentException("every call is left out");
        }
        this.minThreads = minThreads;
        this.maxThreads = maxThreads;
        this.minOps = minOps;
        this.maxOps = maxOps;
        this.without = Set.copyOf(without);
    }

    /** The scenarios: 2-4 threads of 3-6 operations, every call. */
    public static ScenarioGenerator standard()
    {
        return new ScenarioGenerator(2, 4, 3, 6, Set.of());
    }

    public Scenario next(final SplittableRandom random, final LockingMode locking, final Backing backing)
    {
        return new Draw(random).scenario(locking, backing);
    }

    /** One scenario's draws: its window, its hot pages and the next write value. */
    private final class Draw
    {
        private final SplittableRandom random;
        /** The THP policy: NEVER for the small-window scenarios. */
        private final ThpMode thp;
        private final long windowStart;
        private final int windowPages;
        private final long[] hot = new long[HOT_PAGES];
        /** Pages the current thread's ops named so far: its touches follow its own calls (map, write, read back). */
        private final List<Long> recent = new ArrayList<>();
        /** Bytes any write named: reads look there, to meet writes. */
        private final List<Long> written = new ArrayList<>();
        private int nextValue = 1;

        /** A quarter of the scenarios have a stack: a MAP_GROWSDOWN VMA with hot pages just below it. */
        private final boolean stack;

        Draw(final SplittableRandom random)
        {
            this.random = random;
            thp = random.nextInt(4) != 0 ? ThpMode.NEVER : random.nextBoolean() ? ThpMode.ALWAYS : ThpMode.MADVISE;
            windowStart = thp == ThpMode.NEVER ? WINDOW_START : HUGE_WINDOW_START;
            windowPages = thp == ThpMode.NEVER ? WINDOW_PAGES : HUGE_WINDOW_PAGES;
            for (int i = 0; i < hot.length; i++)
            {
                hot[i] = thp == ThpMode.NEVER ? windowStart + random.nextInt(windowPages) * PAGE : hugeHotPage();
            }
            stack = thp == ThpMode.NEVER && random.nextInt(4) == 0;
            if (stack)
            {
                hot[0] = STACK - PAGE;
                hot[1] = STACK - 4 * PAGE;
            }
        }

        /** A block's first or last page, the page past the first block's end, or any page of a block. */
        private long hugeHotPage()
        {
            final long block = HUGE_WINDOW_START + random.nextInt(2) * HUGE;
            return switch (random.nextInt(4))
            {
                case 0 -> block;
                case 1 -> block + HUGE - PAGE;
                case 2 -> HUGE_WINDOW_START + HUGE;
                default -> block + random.nextInt((int)(HUGE / PAGE)) * PAGE;
            };
        }

        Scenario scenario(final LockingMode locking, final Backing backing)
        {
            final List<Op> setup = new ArrayList<>();
            if (thp != ThpMode.NEVER)
            {
                setup.add(Op.syscall(Call.MMAP, HUGE_WINDOW_START, 2 * HUGE, RW, ANON | MAP_FIXED, -1, 0));
                if (thp == ThpMode.MADVISE)
                {
                    setup.add(Op.syscall(Call.MADVISE, HUGE_WINDOW_START, 2 * HUGE, MADV_HUGEPAGE));
                }
            }
            // pieces at about half the hot pages: a layout of small VMAs and holes, as munmap meets it
            if (stack)
            {
                // touches below it grow it while nothing accessible lies within the guard gap below
                setup.add(Op.syscall(Call.MMAP, STACK, 2 * PAGE, RW, ANON | MAP_FIXED | MAP_GROWSDOWN, -1, 0));
            }
            for (final long page : hot)
            {
                if (thp == ThpMode.NEVER && random.nextBoolean())
                {
                    setup.add(Op.syscall(Call.MMAP, page, (1 + random.nextInt(2)) * PAGE, random.nextInt(5) == 0 ? PROT_READ : RW,
                        (random.nextInt(6) == 0 ? MAP_SHARED | MAP_ANONYMOUS : ANON) | MAP_FIXED, -1, 0));
                }
            }
            for (int i = random.nextInt(4); i > 0; i--)
            {
                setup.add(write());
            }
            final int threads = minThreads + random.nextInt(maxThreads - minThreads + 1);
            final List<List<Op>> ops = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                final List<Op> mine = new ArrayList<>();
                recent.clear();
                for (int i = minOps + random.nextInt(maxOps - minOps + 1); i > 0; i--)
                {
                    mine.add(op());
                }
                ops.add(mine);
            }
            final long section = SECTIONS[random.nextInt(SECTIONS.length)];
            // drawn last, so that a seed's other draws are what they were before paging was one
            final int paging = random.nextInt(4) == 0 ? PagingMode.FIVE_LEVEL : PagingMode.FOUR_LEVEL;
            return new Scenario(locking, backing, section, thp == ThpMode.NEVER ? WINDOW_START : 0, setup, ops, thp,
                paging);
        }

        private Op op()
        {
            while (true)
            {
                final Op op = anyOp();
                if (!without.contains(op.call()))
                {
                    return op;
                }
            }
        }

        private Op anyOp()
        {
            if (thp != ThpMode.NEVER && random.nextInt(8) == 0)
            {
                return wholeBlockOp();
            }
            final int r = random.nextInt(100);
            if (r < 20)
            {
                final boolean seeWrite = !written.isEmpty() && random.nextInt(3) == 0;
                return Op.read(seeWrite ? written.get(random.nextInt(written.size())) : touchAddress());
            }
            if (r < 38)
            {
                return write();
            }
            if (r < 58)
            {
                return mmap();
            }
            if (r < 68)
            {
                // sometimes long enough to span several pieces and the holes between them
                return Op.syscall(Call.MUNMAP, page(), random.nextInt(3) == 0 ? (1 + random.nextInt(16)) * PAGE : pages());
            }
            if (r < 76)
            {
                final int[] prots = {PROT_NONE, PROT_READ, RW, RW};
                return Op.syscall(Call.MPROTECT, page(), pages(), prots[random.nextInt(prots.length)]);
            }
            if (r < 84)
            {
                return mremap();
            }
            if (r < 92)
            {
                // MADV_PAGEOUT swaps the range's private pages out (the next touch swaps them in), MADV_COLD ages them
                final int[] advice = {MADV_DONTNEED, MADV_DONTNEED, MADV_FREE, MADV_POPULATE_WRITE, MADV_POPULATE_READ,
                    MADV_NOHUGEPAGE, MADV_WILLNEED, MADV_PAGEOUT, MADV_PAGEOUT, MADV_COLD};
                return Op.syscall(Call.MADVISE, page(), pages(), advice[random.nextInt(advice.length)]);
            }
            if (thp != ThpMode.NEVER)
            {
                return Op.read(touchAddress());
            }
            // a break anywhere in the window's lower half, sometimes not page-aligned
            return Op.syscall(Call.BRK, WINDOW_START + random.nextInt(WINDOW_PAGES / 2) * PAGE + (random.nextInt(4) == 0 ? 100 : 0));
        }

        /** An op on a whole 2 MiB block: where leaves are made, collapsed, moved and dropped whole. */
        private Op wholeBlockOp()
        {
            final long block = HUGE_WINDOW_START + random.nextInt(2) * HUGE;
            recent.add(block);
            return switch (random.nextInt(5))
            {
                case 0 -> Op.syscall(Call.MMAP, block, HUGE, RW, ANON | MAP_FIXED, -1, 0);
                case 1 -> Op.syscall(Call.MUNMAP, block, HUGE);
                case 2 -> Op.syscall(Call.MADVISE, block, HUGE, MADV_COLLAPSE);
                case 3 -> Op.syscall(Call.MADVISE, block, HUGE, random.nextBoolean() ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
                default -> Op.syscall(Call.MREMAP, block, HUGE, HUGE, MREMAP_MAYMOVE | MREMAP_FIXED,
                    block == HUGE_WINDOW_START ? HUGE_WINDOW_START + HUGE : HUGE_WINDOW_START);
            };
        }

        private Op mmap()
        {
            final int[] prots = {RW, RW, RW, PROT_READ, PROT_NONE};
            final int prot = prots[random.nextInt(prots.length)];
            final long length = pages();
            return switch (random.nextInt(10))
            {
                case 0, 1 -> Op.syscall(Call.MMAP, 0, length, prot, ANON, -1, 0);
                case 2 -> Op.syscall(Call.MMAP, page(), length, prot, ANON, -1, 0);
                case 3, 4 -> Op.syscall(Call.MMAP, page(), length, prot, ANON | MAP_FIXED, -1, 0);
                case 5 -> Op.syscall(Call.MMAP, page(), length, prot, ANON | MAP_FIXED_NOREPLACE, -1, 0);
                case 6 -> random.nextBoolean() ? Op.syscall(Call.MMAP, 0, length, prot, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
                    : Op.syscall(Call.MMAP, page(), length, prot, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
                case 7 -> Op.syscall(Call.MMAP, page(), length, prot, ANON | MAP_FIXED | MAP_POPULATE, -1, 0);
                case 8 -> Op.syscall(Call.MMAP, page(), length, prot, ANON | MAP_FIXED | MAP_GROWSDOWN, -1, 0);
                default -> Op.syscall(Call.MMAP, 0, length, prot, ANON | MAP_NORESERVE, -1, 0);
            };
        }

        private Op mremap()
        {
            final long old = page();
            final long oldLength = pages();
            return switch (random.nextInt(5))
            {
                case 0 -> Op.syscall(Call.MREMAP, old, oldLength, pages(), 0, 0);
                case 1 -> Op.syscall(Call.MREMAP, old, oldLength, pages(), MREMAP_MAYMOVE, 0);
                case 2, 3 -> Op.syscall(Call.MREMAP, old, oldLength, pages(), MREMAP_MAYMOVE | MREMAP_FIXED, page());
                default -> Op.syscall(Call.MREMAP, old, oldLength, oldLength, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0);
            };
        }

        private Op write()
        {
            final Op op = Op.write(touchAddress(), nextValue);
            nextValue = nextValue % 255 + 1;
            written.add(op.argument(0));
            return op;
        }

        /** A hot page most of the time, else any page of the window. */
        private long page()
        {
            final long page = random.nextInt(5) < 3 ? hot[random.nextInt(hot.length)]
                : windowStart + random.nextInt(windowPages) * PAGE;
            recent.add(page);
            return page;
        }

        private long pages()
        {
            // short lengths dominate: more of them fit into the holes
            return (1 + Math.min(random.nextInt(MAX_PAGES), random.nextInt(MAX_PAGES))) * PAGE;
        }

        /** Bytes at two offsets of a page: enough to tell pages apart, few enough that reads meet writes. */
        private long touchAddress()
        {
            final long page = !recent.isEmpty() && random.nextBoolean() ? recent.get(random.nextInt(recent.size())) : page();
            return page + (random.nextBoolean() ? 0 : PAGE / 2);
        }
    }
}
