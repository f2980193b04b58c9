package io.mmemu.diff;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.StringJoiner;

import io.mmemu.script.Window;

/**
 * Seeded random replay scripts for the differential harness: every memory syscall with every flag
 * the emulator implements, misaligned addresses, zero, odd and wrapping lengths, overlapping
 * MAP_FIXED, splits and merges, mremap across VMA boundaries, and touches of every kind.
 * <p>
 * Every address a statement acts on lies in the {@link #ARENA} (inside the {@link #WINDOW}), so
 * results cannot depend on what the host has outside it: non-fixed mmaps pass an arena hint or
 * NULL (whose result both sides print as {@code <outside window>}), later statements only name
 * arena addresses, and the only lengths that leave the arena are the ones whose page-aligned end
 * wraps past 2^64, which every syscall rejects before acting (touch never gets one). The arena
 * straddles 0x100000000000, a PML4, PUD and PMD boundary at once.
 * <p>
 * A light model (the boundaries of recent mappings and the last protections used) makes the
 * interesting cases likely: a boundary-relative address lands on a VMA edge, just inside or just
 * outside it, so calls split, merge, overlap and cross VMAs often.
 */
public final class ScriptGenerator
{
    public static final long PAGE = 4096;
    /** A PML4, PUD and PMD boundary at once (16 TiB), far from anything a process maps. */
    public static final long CENTRE = 0x100000000000L;
    /** The comparison window: 2 GiB around {@link #CENTRE}. */
    public static final Window WINDOW = new Window(CENTRE - (1L << 30), CENTRE + (1L << 30));
    /** Where statements act, and the pagemap range: 4 MiB around {@link #CENTRE}. */
    public static final Window ARENA = new Window(CENTRE - (2L << 20), CENTRE + (2L << 20));

    /** A length whose page-aligned end wraps for any arena address: rejected before any effect. */
    private static final long WRAPPING_LENGTH = 0xfffffffffffff000L;
    private static final int[] UNKNOWN_ADVICE = {5, 6, 7, 999};
    private static final String[] KNOWN_ADVICE = {
        "MADV_DONTNEED", "MADV_FREE", "MADV_WILLNEED", "MADV_NORMAL", "MADV_RANDOM", "MADV_SEQUENTIAL",
        "MADV_POPULATE_READ", "MADV_POPULATE_WRITE", "MADV_HUGEPAGE", "MADV_NOHUGEPAGE"};
    private static final String[] TOUCH_KINDS = {"PROT_NONE", "PROT_READ", "PROT_WRITE", "PROT_READ|PROT_WRITE"};
    private static final int MAX_BOUNDARIES = 24;
    private static final long ARENA_SIZE = ARENA.end() - ARENA.start();

    private final SplittableRandom random;
    private final List<Long> boundaries = new ArrayList<>();
    /** Recent mappings as {start, length}, whether or not they succeeded. */
    private final List<long[]> regions = new ArrayList<>();
    private String lastProt = "PROT_READ|PROT_WRITE";

    public ScriptGenerator(final long seed)
    {
        this.random = new SplittableRandom(seed);
    }

    /** A script of {@code statements} lines (no comments, no results). */
    public List<String> generate(final int statements)
    {
        final List<String> lines = new ArrayList<>(statements);
        for (int i = 0; i < statements; i++)
        {
            lines.add(next());
        }
        return lines;
    }

    /** A script of 30 to 80 statements, the harness's default shape. */
    public List<String> generate()
    {
        return generate(30 + random.nextInt(51));
    }

    private String next()
    {
        final int pick = random.nextInt(100);
        if (pick < 30 || boundaries.isEmpty())
        {
            return mmap();
        }
        if (pick < 40)
        {
            return munmap();
        }
        if (pick < 55)
        {
            return mprotect();
        }
        if (pick < 68)
        {
            return mremap();
        }
        if (pick < 80)
        {
            return madvise();
        }
        return touch();
    }

    // ---------------------------------------------------------------------------------------------
    // Calls

    private String mmap()
    {
        final List<String> flags = new ArrayList<>();
        final int type = random.nextInt(100);
        if (type < 65)
        {
            flags.add("MAP_PRIVATE");
        }
        else if (type < 95)
        {
            flags.add("MAP_SHARED");
        }
        else if (type < 98)
        {
            flags.add("MAP_SHARED_VALIDATE");
        }
        // else: no type at all (EINVAL)

        final int placement = random.nextInt(100);
        final boolean nullHint = placement >= 93;
        if (placement < 55)
        {
            flags.add("MAP_FIXED");
        }
        else if (placement < 75)
        {
            flags.add("MAP_FIXED_NOREPLACE");
        }
        else if (placement < 78)
        {
            flags.add("MAP_FIXED");
            flags.add("MAP_FIXED_NOREPLACE");
        }
        if (random.nextInt(100) < 97)
        {
            flags.add(random.nextInt(10) == 0 ? "MAP_ANON" : "MAP_ANONYMOUS");
        }
        addSometimes(flags, "MAP_POPULATE", 15);
        addSometimes(flags, "MAP_NORESERVE", 15);
        addSometimes(flags, "MAP_GROWSDOWN", 8);
        addSometimes(flags, "MAP_STACK", 8);
        addSometimes(flags, "MAP_DENYWRITE", 2);
        addSometimes(flags, "MAP_EXECUTABLE", 2);
        if (random.nextInt(100) < 2)
        {
            flags.add("0x40000000");
        }

        final long[] where = placement();
        final long addr = nullHint ? 0 : where[0];
        final long length = where[1];
        final String prot = random.nextInt(100) < 2 ? accessProt() + "|0x10" : accessProt();
        final int fd = random.nextInt(100) < 3 ? 5 : -1;
        final long offset = switch (random.nextInt(50))
        {
            case 0 -> PAGE;
            case 1 -> 1;
            default -> 0;
        };
        remember(addr, length);
        return "mmap(" + (nullHint ? "NULL" : hex(addr)) + ", " + len(length) + ", " + prot + ", "
            + (flags.isEmpty() ? "0" : String.join("|", flags)) + ", " + fd + ", " + offset + ")";
    }

    private String munmap()
    {
        final long[] span = span(true);
        final long addr = span[0];
        final long length = span[1];
        return "munmap(" + hex(addr) + ", " + len(length) + ")";
    }

    private String mprotect()
    {
        final long[] span = span(true);
        final long addr = span[0];
        final long length = span[1];
        final int kind = random.nextInt(100);
        final String prot;
        if (kind < 3)
        {
            prot = accessProt() + "|0x10";
        }
        else if (kind < 6)
        {
            prot = accessProt() + "|PROT_GROWSDOWN";
        }
        else if (kind < 40)
        {
            prot = lastProt; // back to what a neighbour probably has: merges
        }
        else
        {
            prot = accessProt();
        }
        return "mprotect(" + hex(addr) + ", " + len(length) + ", " + prot + ")";
    }

    private String mremap()
    {
        final long[] span = span(true);
        final long old = span[0];
        final int kind = random.nextInt(100);
        long oldLength = span[1];
        if (kind < 3)
        {
            oldLength = 0; // duplicates a shared mapping; EINVAL for private ones
        }
        final String flags;
        long newAddr = 0;
        long newLength;
        boolean withNewAddr = false;
        if (kind < 25)
        {
            flags = "0"; // in place: grow or shrink
            newLength = resize(old, oldLength);
        }
        else if (kind < 45)
        {
            flags = "MREMAP_MAYMOVE"; // grows in place, or moves outside the window
            newLength = resize(old, oldLength);
        }
        else if (kind < 75)
        {
            flags = "MREMAP_MAYMOVE|MREMAP_FIXED";
            newLength = resize(old, oldLength);
            newAddr = address();
            newLength = clampToArena(newAddr, newLength);
            withNewAddr = true;
        }
        else if (kind < 88)
        {
            flags = "MREMAP_MAYMOVE|MREMAP_FIXED|MREMAP_DONTUNMAP";
            newLength = random.nextInt(6) == 0 ? resize(old, oldLength) : oldLength;
            newAddr = address();
            newLength = clampToArena(newAddr, newLength);
            withNewAddr = true;
        }
        else if (kind < 91)
        {
            flags = "MREMAP_MAYMOVE|MREMAP_DONTUNMAP"; // moves outside the window, leaves the source
            newLength = oldLength;
        }
        else
        {
            // invalid combinations: FIXED without MAYMOVE, DONTUNMAP alone, an unknown flag
            flags = switch (random.nextInt(3))
            {
                case 0 -> "MREMAP_FIXED";
                case 1 -> "MREMAP_DONTUNMAP";
                default -> "MREMAP_MAYMOVE|0x8";
            };
            newLength = resize(old, oldLength);
            newAddr = address();
            newLength = clampToArena(newAddr, newLength);
            withNewAddr = true;
        }
        if (!withNewAddr && random.nextInt(10) == 0)
        {
            newAddr = address(); // ignored without MREMAP_FIXED
            withNewAddr = true;
        }
        final String text = "mremap(" + hex(old) + ", " + len(oldLength) + ", " + len(newLength) + ", " + flags;
        if (flags.contains("MREMAP_FIXED"))
        {
            remember(newAddr, newLength);
        }
        else
        {
            remember(old, newLength);
        }
        return withNewAddr ? text + ", " + hex(newAddr) + ")" : text + ")";
    }

    private String madvise()
    {
        final long[] span = span(true);
        final long addr = span[0];
        final long length = span[1];
        final String advice = random.nextInt(100) < 4
            ? Integer.toString(UNKNOWN_ADVICE[random.nextInt(UNKNOWN_ADVICE.length)])
            : KNOWN_ADVICE[random.nextInt(KNOWN_ADVICE.length)];
        return "madvise(" + hex(addr) + ", " + len(length) + ", " + advice + ")";
    }

    private String touch()
    {
        final long[] span = span(false);
        final long addr = span[0];
        final long length = span[1];
        final String kind = TOUCH_KINDS[random.nextInt(10) == 0 ? 0 : 1 + random.nextInt(3)];
        return "touch(" + hex(addr) + ", " + len(length) + ", " + kind + ")";
    }

    // ---------------------------------------------------------------------------------------------
    // Arguments

    /**
     * An {addr, length} to act on: a recent mapping exactly, or give or take a page at either end
     * (so the call crosses into its neighbours), or an {@link #address()} and a {@link #length}.
     */
    private long[] span(final boolean mayWrap)
    {
        if (!regions.isEmpty() && random.nextInt(100) < 35)
        {
            final long[] region = regions.get(random.nextInt(regions.size()));
            long addr = region[0];
            long length = region[1];
            if (random.nextInt(3) == 0)
            {
                final long startShift = (random.nextInt(3) - 1) * PAGE;
                final long endShift = (random.nextInt(3) - 1) * PAGE;
                addr = Math.max(ARENA.start(), addr + startShift);
                length = Math.max(PAGE, region[0] + region[1] + endShift - addr);
            }
            return new long[] {addr, clampToArena(addr, length)};
        }
        final long addr = address();
        return new long[] {addr, length(addr, mayWrap)};
    }

    /** Where a new mapping goes: next to a recent one (merges), over part of one, or anywhere. */
    private long[] placement()
    {
        final int kind = random.nextInt(100);
        if (!regions.isEmpty() && kind < 35)
        {
            final long[] region = regions.get(random.nextInt(regions.size()));
            final long length = (1 + random.nextInt(8)) * PAGE;
            final long addr = switch (kind % 3)
            {
                case 0 -> region[0] + region[1]; // just after: merge candidates
                case 1 -> region[0] - length; // just before
                default -> region[0] + (region[1] > PAGE ? random.nextLong(region[1] / PAGE) * PAGE : 0); // overlapping
            };
            final long clamped = Math.max(ARENA.start(), Math.min(addr, ARENA.end() - PAGE));
            return new long[] {clamped, clampToArena(clamped, length)};
        }
        final long addr = address();
        return new long[] {addr, length(addr, false)};
    }

    /** An arena address: near a known boundary (edges, just in or out), random, or misaligned. */
    private long address()
    {
        final int kind = random.nextInt(100);
        long addr;
        if (kind < 55 && !boundaries.isEmpty())
        {
            addr = boundaries.get(random.nextInt(boundaries.size())) + (random.nextInt(5) - 2) * PAGE;
        }
        else if (kind < 62)
        {
            addr = CENTRE + (random.nextInt(9) - 4) * PAGE; // around the PML4 boundary
        }
        else
        {
            addr = ARENA.start() + random.nextLong(ARENA_SIZE / PAGE) * PAGE;
        }
        addr = Math.max(ARENA.start(), Math.min(addr, ARENA.end() - PAGE));
        if (random.nextInt(100) < 5)
        {
            addr += 1 + random.nextInt((int)PAGE - 1);
        }
        return addr;
    }

    /**
     * A length from {@code addr} that stays in the arena: mostly whole pages, sometimes zero or odd;
     * for syscalls ({@code mayWrap}) sometimes -1 or a wrapping length, rejected before any effect.
     */
    private long length(final long addr, final boolean mayWrap)
    {
        final int kind = random.nextInt(100);
        if (mayWrap && kind < 2)
        {
            return random.nextBoolean() ? -1L : WRAPPING_LENGTH;
        }
        final long length;
        if (kind < 5)
        {
            length = 0;
        }
        else if (kind < 15)
        {
            length = random.nextInt(4) * PAGE + 1 + random.nextInt((int)PAGE - 1);
        }
        else if (kind < 85)
        {
            length = (1 + random.nextInt(16)) * PAGE;
        }
        else
        {
            length = (17 + random.nextInt(240)) * PAGE;
        }
        return clampToArena(addr, length);
    }

    private long resize(final long addr, final long oldLength)
    {
        final long base = oldLength == -1L || oldLength == WRAPPING_LENGTH ? PAGE : oldLength;
        final int kind = random.nextInt(100);
        final long length;
        if (kind < 3)
        {
            length = 0;
        }
        else if (kind < 45)
        {
            length = base + (1 + random.nextInt(16)) * PAGE; // grow
        }
        else if (kind < 80)
        {
            length = Math.max(PAGE, base - (1 + random.nextInt(8)) * PAGE); // shrink
        }
        else if (kind < 88)
        {
            length = base + 1 + random.nextInt((int)PAGE - 1); // odd
        }
        else
        {
            length = base;
        }
        return clampToArena(addr, length);
    }

    private static long clampToArena(final long addr, final long length)
    {
        final long room = ARENA.end() - addr;
        return Long.compareUnsigned(length, room) > 0 ? room : length;
    }

    private String accessProt()
    {
        final List<String> names = new ArrayList<>(3);
        addSometimes(names, "PROT_READ", 65);
        addSometimes(names, "PROT_WRITE", 50);
        addSometimes(names, "PROT_EXEC", 20);
        final String prot = names.isEmpty() ? "PROT_NONE" : String.join("|", names);
        lastProt = random.nextInt(2) == 0 ? prot : lastProt;
        return prot;
    }

    private void addSometimes(final List<String> flags, final String name, final int percent)
    {
        if (random.nextInt(100) < percent)
        {
            flags.add(name);
        }
    }

    private void remember(final long addr, final long length)
    {
        if (addr == 0 || Long.compareUnsigned(length, ARENA_SIZE) > 0)
        {
            return;
        }
        final long start = addr & -PAGE;
        final long end = (addr + length + PAGE - 1) & -PAGE;
        if (end > start)
        {
            if (regions.size() == MAX_BOUNDARIES / 2)
            {
                regions.remove(0);
            }
            regions.add(new long[] {start, end - start});
        }
        for (final long boundary : new long[] {start, end})
        {
            if (boundary >= ARENA.start() && boundary < ARENA.end() && !boundaries.contains(boundary))
            {
                if (boundaries.size() == MAX_BOUNDARIES)
                {
                    boundaries.remove(random.nextInt(MAX_BOUNDARIES));
                }
                boundaries.add(boundary);
            }
        }
    }

    private String len(final long length)
    {
        if (length == -1L)
        {
            return "-1";
        }
        return random.nextInt(4) == 0 ? hex(length) : Long.toUnsignedString(length);
    }

    private static String hex(final long value)
    {
        return "0x" + Long.toHexString(value);
    }

    /** The script as one text, a statement a line. */
    public static String text(final List<String> lines)
    {
        final StringJoiner joiner = new StringJoiner("\n", "", "\n");
        lines.forEach(joiner::add);
        return joiner.toString();
    }
}
