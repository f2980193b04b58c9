package io.mmemu.diff;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Compares a replay's output on the host with the emulator's, line by line, normalising only what
 * differs between any two runs of the same kernel: the dev:inode of {@code /dev/zero (deleted)} maps
 * lines (a fresh shmem inode per shared anonymous mapping). The emulator runs as the host's kernel
 * build ({@link HostKernel}), so nothing else is forgiven.
 */
public final class ReplayDiff
{
    private static final String ZERO = "/dev/zero (deleted)";
    /** The header of the second process's views: the script forked. */
    private static final String FORKED_PROCESS = "--- process 1\n";
    private static final String REFERENCED = "Referenced:";
    /** fs/proc/task_mmu.c pads the pathname to start after column 72 (seq_setwidth 25 + 6 * 8 - 1). */
    private static final int NAME_COLUMN = 72;

    /** Where two outputs first differ. */
    public record Difference(int index, String where, String host, String emulator)
    {
        public String describe()
        {
            return "first difference at " + where + ":\n  host:     " + (host == null ? "(no line)" : host)
                + "\n  emulator: " + (emulator == null ? "(no line)" : emulator);
        }
    }

    private ReplayDiff()
    {
    }

    /**
     * The first difference, or null when the outputs agree.
     *
     * @param statements the script's statements in order (to name the one whose result differs)
     */
    public static Difference firstDifference(final List<String> statements, final String host, final String emulator)
    {
        final List<String> hostLines = normalise(host);
        final List<String> emulatorLines = normalise(emulator);
        final int lines = Math.max(hostLines.size(), emulatorLines.size());
        for (int i = 0; i < lines; i++)
        {
            final String h = i < hostLines.size() ? hostLines.get(i) : null;
            final String e = i < emulatorLines.size() ? emulatorLines.get(i) : null;
            if (h != null && h.equals(e))
            {
                continue;
            }
            final String where;
            if (i < statements.size())
            {
                where = "statement " + (i + 1) + ": " + statements.get(i);
            }
            else if ((h != null && isPagemapLine(h)) || (e != null && isPagemapLine(e)))
            {
                where = "pagemap line " + (i + 1 - statements.size()) + " of the output after the statements";
            }
            else
            {
                where = "maps line " + (i + 1 - statements.size());
            }
            return new Difference(i, where, h, e);
        }
        return null;
    }

    /**
     * The output's lines with each {@code /dev/zero (deleted)} line's dev and inode made canonical;
     * and, in the output of a script that forked, without smaps' {@code Referenced:} lines: a page
     * another process mapped is Referenced there through its folio's PG_referenced (set by
     * get_user_pages' FOLL_TOUCH, by zapping a young entry, cleared again by activation), a bit
     * mmemu does not keep (its Referenced is the entry's accessed bit alone); without fork the two
     * agree, and they are compared (docs/differential.md, "Known differences").
     */
    public static List<String> normalise(final String output)
    {
        final boolean forked = output.contains("\n" + FORKED_PROCESS);
        final List<String> lines = new ArrayList<>(output.lines()
            .filter(line -> !forked || !line.startsWith(REFERENCED)).toList());
        final Map<String, Integer> inodes = new HashMap<>();
        for (int i = 0; i < lines.size(); i++)
        {
            final String line = lines.get(i);
            if (line.endsWith(ZERO) && !isStatementLine(line))
            {
                lines.set(i, normaliseZeroLine(line, inodes));
            }
        }
        return lines;
    }

    /**
     * {@code start-end perms offset dev inode   /dev/zero (deleted)} with dev {@code 00:00} and inode
     * {@code shmem#N} (N: the order in which inodes first appear, so pieces of one mapping still
     * share a name and two mappings still differ). A line whose padding is wrong for its own inode
     * is left as it is, so the difference shows.
     */
    private static String normaliseZeroLine(final String line, final Map<String, Integer> inodes)
    {
        final int nameAt = line.length() - ZERO.length();
        final String header = line.substring(0, nameAt).stripTrailing();
        final String[] fields = header.split(" ");
        if (fields.length != 5 || nameAt != Math.max(NAME_COLUMN, header.length() + 1) + 1)
        {
            return line;
        }
        final int ordinal = inodes.computeIfAbsent(fields[3] + " " + fields[4], k -> inodes.size() + 1);
        return fields[0] + " " + fields[1] + " " + fields[2] + " 00:00 shmem#" + ordinal + " " + ZERO;
    }

    private static boolean isStatementLine(final String line)
    {
        return line.contains(" = ");
    }

    private static boolean isPagemapLine(final String line)
    {
        return line.startsWith("0x") && !isStatementLine(line);
    }
}
