package io.mmemu.diff;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import io.mmemu.script.Window;

/**
 * Seeded random replay scripts about transparent huge pages, and about fork, for the differential
 * harness: private anonymous mappings at 2 MiB-aligned addresses (and a few pages off), sizes of a
 * few 2 MiB blocks (and a few pages more or less), MADV_HUGEPAGE and MADV_NOHUGEPAGE, read and write
 * touches (the huge zero page, fresh huge pages, the copy on write of either), and what cuts a huge
 * page: partial munmap and mprotect, MADV_DONTNEED of a part or of whole blocks, mremap of aligned
 * ranges to aligned and unaligned destinations, MADV_POPULATE_*.
 * <p>
 * With {@code forks}, a script also forks once or twice (after MADV_DONTFORK, MADV_WIPEONFORK and
 * their undoing on some ranges), and later lines run in either process ({@code @N}), writes
 * after the fork in either (the copy on write of a shared huge page is the interesting part).
 * <p>
 * Everything happens in the {@link #ARENA} (64 MiB around {@link ScriptGenerator#CENTRE}, so a
 * PML4, PUD and PMD boundary lies in its middle), inside {@link ScriptGenerator#WINDOW}; every
 * mmap is MAP_FIXED or has an arena hint, every mremap destination is fixed in the arena, so no
 * result depends on the host's own layout.
 */
public final class ThpScriptGenerator
{
    static final long PAGE = ScriptGenerator.PAGE;
    static final long HUGE = 2L << 20;
    /** Where statements act, and the pagemap range: 64 MiB around the centre. */
    public static final Window ARENA = new Window(ScriptGenerator.CENTRE - (32L << 20), ScriptGenerator.CENTRE + (32L << 20));
    private static final long BLOCKS = (ARENA.end() - ARENA.start()) / HUGE;
    private static final String RW = "PROT_READ|PROT_WRITE";
    /** PROT_NONE over a whole huge page keeps it as a non-present PMD leaf (change_huge_pmd). */
    private static final String[] PROTS = {"PROT_READ", RW, "PROT_READ|PROT_EXEC", RW, "PROT_NONE"};
    private static final String[] FORK_ADVICE = {"MADV_DONTFORK", "MADV_DOFORK", "MADV_WIPEONFORK", "MADV_KEEPONFORK"};

    private final SplittableRandom random;
    private final boolean forks;
    /** Recent mappings as {start, length}. */
    private final List<long[]> regions = new ArrayList<>();
    private int processes = 1;
    private int forksLeft;

    public ThpScriptGenerator(final long seed, final boolean forks)
    {
        this.random = new SplittableRandom(forks ? ~seed : seed ^ 0x7468700000000000L); // streams of their own, not ScriptGenerator's
        this.forks = forks;
        this.forksLeft = forks ? 1 + random.nextInt(2) : 0;
    }

    /** A script of 30 to 70 statements. */
    public List<String> generate()
    {
        final int statements = 30 + random.nextInt(41);
        final List<String> lines = new ArrayList<>(statements);
        // a fork somewhere after the first third, a second one (if any) later
        final int firstFork = forks ? statements / 3 + random.nextInt(statements / 3) : -1;
        for (int i = 0; i < statements; i++)
        {
            if (forksLeft > 0 && (i == firstFork || (processes > 1 && random.nextInt(25) == 0)))
            {
                lines.add(processPrefix() + "fork()");
                processes++;
                forksLeft--;
                continue;
            }
            lines.add(processPrefix() + next());
        }
        finale(lines);
        return lines;
    }

    /**
     * In a third of the scripts, a last scene whose huge pages the final smaps and pagemap still
     * see (the random statements before it rarely leave one standing): fresh blocks under
     * MADV_HUGEPAGE, touched whole, then one of the cases a huge page's life turns on.
     */
    private void finale(final List<String> lines)
    {
        if (random.nextInt(3) != 0)
        {
            return;
        }
        final String at = processPrefix();
        final long start = Math.min(aligned(), ARENA.end() - 3 * HUGE);
        final long length = (2 + random.nextInt(2)) * HUGE;
        lines.add(at + "mmap(" + hex(start) + ", " + hex(length) + ", " + RW + ", MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)");
        lines.add(at + "madvise(" + hex(start) + ", " + hex(length) + ", MADV_HUGEPAGE)");
        final int scene = random.nextInt(5);
        if (scene == 4)
        {
            // MREMAP_DONTUNMAP of an unfaulted block next to its source: copy_vma merges the two
            // (the moved part's pgoff lines up), then the moved part faults in huge pages
            final long last = start + length - HUGE;
            final boolean after = random.nextBoolean() && start + length + HUGE <= ARENA.end();
            final long destination = after ? start + length : start - HUGE;
            if (!after && start == ARENA.start())
            {
                return;
            }
            lines.add(at + "mremap(" + hex(after ? last : start) + ", " + hex(HUGE) + ", " + hex(HUGE)
                + ", MREMAP_MAYMOVE|MREMAP_FIXED|MREMAP_DONTUNMAP, " + hex(destination) + ")");
            lines.add(at + "touch(" + hex(destination) + ", " + hex(HUGE) + ", PROT_WRITE)");
            return;
        }
        lines.add(at + "touch(" + hex(start) + ", " + hex(length) + ", " + (random.nextInt(4) == 0 ? "PROT_READ" : "PROT_WRITE") + ")");
        switch (scene)
        {
            case 0 -> lines.add(at + "mprotect(" + hex(start) + ", " + hex(HUGE) + ", PROT_NONE)");
            case 1 ->
            {
                // PROT_NONE and back: the leaf kept whole both ways
                lines.add(at + "mprotect(" + hex(start) + ", " + hex(length) + ", PROT_NONE)");
                lines.add(at + "mprotect(" + hex(start + HUGE) + ", " + hex(HUGE) + ", " + RW + ")");
                lines.add(at + "touch(" + hex(start + HUGE) + ", " + hex(PAGE) + ", PROT_WRITE)");
            }
            case 2 -> lines.add(at + "mprotect(" + hex(start + pages(8)) + ", " + hex(HUGE) + ", PROT_NONE)");
            default ->
            {
                // a PROT_NONE leaf moved whole (move_huge_pmd)
                final long destination = start == ARENA.start() ? ARENA.end() - HUGE : ARENA.start();
                lines.add(at + "mprotect(" + hex(start) + ", " + hex(HUGE) + ", PROT_NONE)");
                lines.add(at + "mremap(" + hex(start) + ", " + hex(HUGE) + ", " + hex(HUGE) + ", MREMAP_MAYMOVE|MREMAP_FIXED, "
                    + hex(destination) + ")");
            }
        }
    }

    private String processPrefix()
    {
        if (processes == 1)
        {
            return "";
        }
        final int process = random.nextInt(processes);
        return process == 0 ? "" : "@" + process + " ";
    }

    private String next()
    {
        final int pick = random.nextInt(100);
        if (pick < 22 || regions.isEmpty())
        {
            return mmap();
        }
        if (pick < 34)
        {
            return madvise(random.nextInt(3) == 0 ? "MADV_NOHUGEPAGE" : "MADV_HUGEPAGE");
        }
        if (pick < 44)
        {
            return madvise("MADV_DONTNEED");
        }
        if (pick < 50)
        {
            final int kind = random.nextInt(10);
            // no MADV_FREE (smaps' LazyFree): docs/differential.md, "Known differences"
            return madvise(kind < 5 ? "MADV_POPULATE_WRITE" : kind < 8 ? "MADV_POPULATE_READ" : "MADV_COLLAPSE");
        }
        if (forks && processes == 1 && pick < 55)
        {
            return madvise(FORK_ADVICE[random.nextInt(FORK_ADVICE.length)]);
        }
        if (pick < 60)
        {
            final long[] span = span();
            return "munmap(" + hex(span[0]) + ", " + hex(span[1]) + ")";
        }
        if (pick < 68)
        {
            final long[] span = span();
            return "mprotect(" + hex(span[0]) + ", " + hex(span[1]) + ", " + PROTS[random.nextInt(PROTS.length)] + ")";
        }
        if (pick < 75)
        {
            return mremap();
        }
        return touch();
    }

    private String mmap()
    {
        final long[] where = place();
        // private only: shared anonymous memory is shmem, whose folio-level dirty bit smaps counts and
        // mmemu does not keep (docs/differential.md, "Known differences")
        final StringBuilder flags = new StringBuilder("MAP_PRIVATE|MAP_ANONYMOUS");
        if (random.nextInt(10) < 8)
        {
            flags.append("|MAP_FIXED");
        }
        else
        {
            flags.append("|MAP_FIXED_NOREPLACE");
        }
        if (random.nextInt(8) == 0)
        {
            flags.append("|MAP_POPULATE");
        }
        final String prot = random.nextInt(8) == 0 ? "PROT_READ" : RW;
        remember(where[0], where[1]);
        return "mmap(" + hex(where[0]) + ", " + hex(where[1]) + ", " + prot + ", " + flags + ", -1, 0)";
    }

    private String madvise(final String advice)
    {
        final long[] span = span();
        return "madvise(" + hex(span[0]) + ", " + hex(span[1]) + ", " + advice + ")";
    }

    private String mremap()
    {
        final long[] span = span();
        final long destination = random.nextInt(3) == 0 ? aligned() + pages(4) : aligned();
        final long length = random.nextInt(4) == 0 ? span[1] + HUGE : span[1];
        final long clamped = Math.min(length, ARENA.end() - destination);
        // MREMAP_DONTUNMAP wants equal lengths (EINVAL otherwise, which the 4 KiB generator covers)
        final boolean dontUnmap = clamped == span[1] && random.nextInt(4) == 0;
        remember(destination, clamped);
        return "mremap(" + hex(span[0]) + ", " + hex(span[1]) + ", " + hex(clamped) + ", MREMAP_MAYMOVE|MREMAP_FIXED"
            + (dontUnmap ? "|MREMAP_DONTUNMAP" : "") + ", " + hex(destination) + ")";
    }

    private String touch()
    {
        final long[] span = span();
        final int kind = random.nextInt(10);
        final String access = kind < 4 ? "PROT_READ" : kind < 8 ? "PROT_WRITE" : "PROT_READ|PROT_WRITE";
        // a few pages, or a whole span
        final long length = random.nextBoolean() ? Math.min(span[1], (1 + random.nextInt(4)) * PAGE) : span[1];
        return "touch(" + hex(span[0]) + ", " + hex(length) + ", " + access + ")";
    }

    /** A new mapping: an aligned block run (sometimes a few pages off or longer), or next to a recent one. */
    private long[] place()
    {
        long start = random.nextInt(4) == 0 && !regions.isEmpty() ? end(pickRegion()) : aligned();
        if (random.nextInt(5) == 0)
        {
            start += pages(8);
        }
        long length = (1 + random.nextInt(5)) * HUGE;
        if (random.nextInt(4) == 0)
        {
            length += (random.nextBoolean() ? 1 : -1) * pages(16);
        }
        start = Math.min(start, ARENA.end() - HUGE);
        return new long[] {start, Math.min(length, ARENA.end() - start)};
    }

    /** A range of a recent mapping: all of it, its aligned blocks, one block, or a few pages of it. */
    private long[] span()
    {
        if (regions.isEmpty() || random.nextInt(10) == 0)
        {
            return new long[] {aligned(), HUGE * (1 + random.nextInt(2))};
        }
        final long[] region = pickRegion();
        final long start = region[0];
        final long length = region[1];
        final long firstBlock = (start + HUGE - 1) & -HUGE;
        return switch (random.nextInt(6))
        {
            case 0 -> new long[] {start, length};
            case 1 -> new long[] {firstBlock, Math.max(HUGE, (start + length - firstBlock) & -HUGE)};
            case 2 ->
            {
                // a few pages inside: splits a huge page there
                final long offset = random.nextLong(Math.max(1, length / PAGE)) * PAGE;
                yield new long[] {start + offset, Math.min(length - offset, (1 + random.nextInt(16)) * PAGE)};
            }
            case 3 ->
            {
                // from inside to the end, or from the start to inside
                final long cut = random.nextLong(Math.max(1, length / PAGE)) * PAGE;
                yield random.nextBoolean() ? new long[] {start + cut, length - cut} : new long[] {start, Math.max(PAGE, cut)};
            }
            default -> new long[] {firstBlock + HUGE * random.nextInt(2), HUGE};
        };
    }

    private long[] pickRegion()
    {
        return regions.get(random.nextInt(regions.size()));
    }

    private long aligned()
    {
        return ARENA.start() + random.nextLong(BLOCKS - 1) * HUGE;
    }

    private long pages(final int max)
    {
        return (1 + random.nextInt(max)) * PAGE;
    }

    private static long end(final long[] region)
    {
        return region[0] + region[1];
    }

    private void remember(final long start, final long length)
    {
        if (length <= 0 || start < ARENA.start() || start + length > ARENA.end())
        {
            return;
        }
        if (regions.size() == 8)
        {
            regions.remove(0);
        }
        regions.add(new long[] {start, length});
    }

    private static String hex(final long value)
    {
        return "0x" + Long.toHexString(value);
    }
}
