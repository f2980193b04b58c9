package io.mmemu.program;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.mmemu.inspect.Inspection;
import io.mmemu.vm.ThpMode;
import io.mmemu.phys.Backing;
import io.mmemu.script.ScriptException;
import io.mmemu.vm.LockingMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The view statements at run time: a view taken mid-run shows the address space of that moment, a
 * dump taken mid-run opens to the same views, views of threads that run while others fault are
 * well formed and in each thread's program order, and a file that cannot be written stops the run
 * with its position, leaking nothing.
 */
@Timeout(120)
final class RunViewsTest
{
    /** {@code ==> view N: WHAT at FILE:LINE, thread NAME, T ms <==}. */
    private static final Pattern HEADER = Pattern.compile("==> view (\\d+): (.+) at t\\.mm:(\\d+), thread (\\S+), (\\d+\\.\\d{3}) ms <==");
    private static final Pattern MAPS_LINE = Pattern.compile("([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) [0-9a-f]{8} \\d\\d:\\d\\d \\d+ *(\\S*)");
    private static final Pattern PTDUMP_LINE = Pattern.compile(
        "0x([0-9a-f]{16})-0x([0-9a-f]{16}) +\\d+[KMGT]? .*(pte|pmd|pud|pgd)");
    private static final long A = 0x100000000000L;
    private static final long B = 0x200000000000L;

    @TempDir
    Path dir;

    /** One view as printed: its header's fields and its text. */
    private record View(long number, String what, int line, String thread, double millis, String text)
    {
    }

    /** Appended to by the program threads, one at a time (under the output's monitor). */
    private final List<View> views = new ArrayList<>();

    private ViewOutput output()
    {
        return new ViewOutput(text ->
        {
            final int newline = text.indexOf('\n');
            final Matcher m = HEADER.matcher(text.substring(0, newline));
            assertTrue(m.matches(), () -> "header: " + text.substring(0, newline));
            views.add(new View(Long.parseLong(m.group(1)), m.group(2), Integer.parseInt(m.group(3)), m.group(4),
                Double.parseDouble(m.group(5)), text.substring(newline + 1)));
            if (m.group(2).startsWith("dump "))
            {
                // every dump opens (validated to the last byte), checked before its thread goes on
                try (Inspection dump = Inspection.open(Path.of(m.group(2).replace(" with data", "").substring(5))))
                {
                    assertFalse(dump.maps().isEmpty());
                    assertPtdump(dump.ptdump());
                }
                catch (final IOException ex)
                {
                    throw new AssertionError(m.group(2) + ": " + ex.getMessage(), ex);
                }
            }
        }, dir);
    }

    private Report run(final String source, final RunOptions options, final Run.AtEnd atEnd) throws IOException
    {
        try
        {
            return new Run(Program.parse("t.mm", source, Map.of()), options, output()).execute(Run.Progress.NONE, atEnd);
        }
        catch (final ScriptException ex)
        {
            throw new AssertionError("malformed: " + ex.errors());
        }
    }

    private static RunOptions options(final LockingMode locking)
    {
        return RunOptions.defaults().withPhysicalMemory(64L << 20, Backing.FULL).with("locking",
            locking == LockingMode.PER_VMA ? "per-vma" : "mmap-lock");
    }

    /** The [start, end) and permissions of each line of a maps view. */
    private static List<String> ranges(final String maps)
    {
        final List<String> out = new ArrayList<>();
        long previousEnd = 0;
        for (final String line : maps.lines().toList())
        {
            final Matcher m = MAPS_LINE.matcher(line);
            assertTrue(m.matches(), () -> "maps line: '" + line + "'");
            final long start = Long.parseUnsignedLong(m.group(1), 16);
            final long end = Long.parseUnsignedLong(m.group(2), 16);
            assertTrue(Long.compareUnsigned(previousEnd, start) <= 0 && Long.compareUnsigned(start, end) < 0,
                () -> "sorted, disjoint, non-empty: " + maps);
            previousEnd = end;
            out.add(String.format("%x-%x %s", start, end, m.group(3)));
        }
        return out;
    }

    private static String range(final long start, final long length, final String perms)
    {
        return String.format("%x-%x %s", start, start + length, perms);
    }

    @Test
    void aMapsViewMidRunShowsTheVmasOfThatMomentAndTheLastOneTheEnd() throws IOException
    {
        final String[] atEnd = new String[1];
        final Report report = run(String.format("""
            a = mmap(0x%x, 64K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect ok
            b = mmap(0x%x, 32K, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect ok
            mprotect(a, 16K, PROT_READ) expect ok
            show maps
            munmap(b, 32K) expect ok
            c = mmap(a + 1M, 8K, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect ok
            show maps
            """, A, B), options(LockingMode.PER_VMA), space -> atEnd[0] = Inspection.of(space, ThpMode.ALWAYS).maps());
        assertNull(report.error());
        assertEquals(0, report.failedExpectations(), () -> report.failures().toString());
        assertEquals(2, views.size());
        final View mid = views.get(0);
        assertEquals(List.of(range(A, 16 << 10, "r--p"), range(A + (16 << 10), 48 << 10, "rw-p"), range(B, 32 << 10, "r--p")),
            ranges(mid.text()));
        assertEquals(new View(1, "maps", 4, "main", mid.millis(), mid.text()), mid);
        final View last = views.get(1);
        assertEquals(List.of(range(A, 16 << 10, "r--p"), range(A + (16 << 10), 48 << 10, "rw-p"), range(A + (1 << 20), 8 << 10, "---p")),
            ranges(last.text()));
        assertEquals(atEnd[0], last.text(), "the last view is the end's");
        assertEquals(7, last.line());
        assertEquals(2, last.number());
        assertTrue(last.millis() >= mid.millis());
    }

    @Test
    void aDumpTakenMidRunOpensToTheViewsOfThatMoment() throws IOException
    {
        final Report report = run(String.format("""
            a = mmap(0x%x, 64K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
            touch(a, 24K, PROT_WRITE) value 7
            touch(a + 32K, 8K, PROT_READ)
            show maps
            show smaps
            show pagemap(a, 64K)
            dump "mid.dump" data
            munmap(a, 64K)
            mmap(0x%x, 4K, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
            touch(0x%x, 4K, PROT_READ)
            show maps
            """, A, B, B), options(LockingMode.PER_VMA), space -> { });
        assertNull(report.error());
        assertEquals(5, views.size());
        final Path file = dir.resolve("mid.dump");
        assertEquals("dump " + file + " with data", views.get(3).what());
        assertEquals("wrote " + Files.size(file) + " bytes\n", views.get(3).text());
        assertEquals(String.format("pagemap 0x%x-0x%x", A, A + (64 << 10)), views.get(2).what());
        try (Inspection dump = Inspection.open(file))
        {
            assertEquals(views.get(0).text(), dump.maps());
            assertEquals(views.get(1).text(), dump.smaps());
            final StringBuilder pagemap = new StringBuilder();
            dump.pagemap(A, A + (64 << 10), (va, word) -> pagemap.append(io.mmemu.script.ResultFormat.pagemapLine(va, word)).append('\n'));
            assertEquals(views.get(2).text(), pagemap.toString());
            assertEquals(16, views.get(2).text().lines().count());
            final byte[] page = new byte[4096];
            dump.snapshot().memory().read(dump.pagemap(A) == 0 ? 0 : frameOf(dump, A), page, 0, page.length);
            assertEquals(7, page[0], "the data frames' bytes as written before the dump");
        }
        assertEquals(List.of(range(B, 4 << 10, "r--p")), ranges(views.get(4).text()));
    }

    /** The physical address of the page at {@code va}, from the dump's own walk view. */
    private static long frameOf(final Inspection dump, final long va)
    {
        final Matcher m = Pattern.compile("PTE\\[ *\\d+\\] @0x[0-9a-f]+ = 0x[0-9a-f]+ +page +0x([0-9a-f]+)").matcher(dump.walk(va));
        assertTrue(m.find(), () -> dump.walk(va));
        return Long.parseUnsignedLong(m.group(1), 16);
    }

    /**
     * Four threads fault in their own regions (mapping, unmapping, protecting) while each also takes
     * every view in turn and dumps to its own file: every view is well formed and each thread's
     * come in its program order; every dump opens; the tables pass the checker after the run.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void threadsTakeViewsWhileOthersFault(final LockingMode locking) throws IOException
    {
        final String[] names = {"t0", "t1", "t2"};
        final StringBuilder source = new StringBuilder();
        for (int t = 0; t < names.length; t++)
        {
            source.append(String.format("""
                thread %s {
                    home = 0x%x
                    repeat 6 {
                        mmap(home, 1M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect value home
                        touch(home, 1M, PROT_WRITE) random 64 expect ok
                        show maps
                        show smaps
                        mprotect(home, 512K, PROT_READ) expect ok
                        show ptdump
                        show pagemap(home, 64K)
                        touch(home, 1M, PROT_READ) random 64 expect ok
                        dump "%s.dump" data
                        munmap(home + 256K, 256K) expect ok
                        show walk(home)
                        touch(home + 256K, 4K, PROT_READ) expect SIGSEGV SEGV_MAPERR
                    }
                }
                """, names[t], A + t * (1L << 30), names[t]));
        }
        // the main thread faults all along: map, fill, drop, until the others are done
        source.append(String.format("""
            m = mmap(0x%x, 2M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
            repeat 40 {
                touch(m, 2M, PROT_WRITE) expect ok
                madvise(m, 2M, MADV_DONTNEED) expect ok
            }
            """, B));
        final Map<String, Path> dumps = new HashMap<>();
        final Report report = run(source.toString(), options(locking), space -> space.check(true).assertOk());
        assertNull(report.error());
        assertEquals(0, report.failedExpectations(), () -> report.failures().toString());
        assertEquals(names.length * 6 * 6, views.size());
        // each thread's view statements, by line, in program order, from the program's text
        final Map<String, List<Integer>> viewLines = new HashMap<>();
        String block = null;
        final List<String> sourceLines = source.toString().lines().toList();
        for (int i = 0; i < sourceLines.size(); i++)
        {
            final String line = sourceLines.get(i).strip();
            if (line.startsWith("thread "))
            {
                block = line.split(" ")[1];
            }
            else if (line.startsWith("show ") || line.startsWith("dump "))
            {
                viewLines.computeIfAbsent(block, k -> new ArrayList<>()).add(i + 1);
            }
        }
        final Map<String, Integer> next = new HashMap<>();
        for (int i = 0; i < views.size(); i++)
        {
            final View view = views.get(i);
            assertEquals(i + 1, view.number(), "numbered in the order printed");
            final int t = view.thread().charAt(1) - '0';
            final List<Integer> lines = viewLines.get(view.thread());
            final int k = next.merge(view.thread(), 1, Integer::sum) - 1;
            assertEquals(lines.get(k % lines.size()), view.line(), () -> "program order in " + view.thread() + ": " + view);
            final long home = A + t * (1L << 30);
            switch (k % lines.size())
            {
                case 0 -> assertTrue(ranges(view.text()).contains(range(home, 1 << 20, "rw-p")), view::toString);
                case 1 -> assertSmaps(view.text());
                case 2 -> assertPtdump(view.text());
                case 3 ->
                {
                    assertEquals(16, view.text().lines().count());
                    assertTrue(view.text().lines().allMatch(l -> l.matches("0x[0-9a-f]+ 0x[0-9a-f]{16}")), view.text());
                }
                case 4 ->
                {
                    final Path file = dir.resolve(view.thread() + ".dump");
                    assertEquals("dump " + file + " with data", view.what());
                    dumps.put(view.thread(), file);
                }
                default -> assertTrue(view.text().startsWith(String.format("paging: 4-level%nwalk 0x%016x", home)), view.text());
            }
            assertTrue(i == 0 || view.millis() >= 0, view::toString);
        }
        assertEquals(names.length, dumps.size());
    }

    private static void assertSmaps(final String smaps)
    {
        final List<String> lines = smaps.lines().toList();
        assertFalse(lines.isEmpty());
        long size = -1;
        for (final String line : lines)
        {
            if (MAPS_LINE.matcher(line).matches())
            {
                size = -1;
                continue;
            }
            assertTrue(line.matches("[A-Za-z_]+:\\s+.*"), () -> "smaps field: '" + line + "'\n" + smaps);
            final Matcher kb = Pattern.compile("(\\w+):\\s+(\\d+) kB").matcher(line);
            if (kb.matches() && kb.group(1).equals("Size"))
            {
                size = Long.parseLong(kb.group(2));
            }
            else if (kb.matches() && kb.group(1).equals("Rss"))
            {
                final long rss = Long.parseLong(kb.group(2));
                final long limit = size;
                assertTrue(limit >= 0 && rss <= limit, () -> "Rss within Size: " + smaps);
            }
        }
    }

    private static void assertPtdump(final String ptdump)
    {
        final List<String> all = ptdump.lines().toList();
        assertEquals("paging: 4-level", all.get(0));
        final List<String> lines = all.subList(1, all.size());
        assertEquals("---[ User Space ]---", lines.get(0));
        long previousEnd = 0;
        for (final String line : lines.subList(1, lines.size()))
        {
            final Matcher m = PTDUMP_LINE.matcher(line);
            assertTrue(m.matches(), () -> "ptdump line: '" + line + "'");
            final long start = Long.parseUnsignedLong(m.group(1), 16);
            assertEquals(previousEnd, start, () -> "contiguous: " + ptdump);
            previousEnd = Long.parseUnsignedLong(m.group(2), 16);
        }
    }

    @Test
    void aFileThatCannotBeWrittenStopsTheRunWithItsPositionAndLeaksNothing() throws IOException
    {
        final long[] frames = new long[1];
        final Report report = run(String.format("""
            a = mmap(0x%x, 1M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
            thread busy {
                for 1h {
                    touch(a, 1M, PROT_WRITE) random 16
                }
            }
            touch(a, 64K, PROT_WRITE)
            dump "missing/x.dump"
            show maps
            """, A), options(LockingMode.PER_VMA), space -> frames[0] = space.check(true).assertOk().dataFrames());
        assertEquals("t.mm:8:1: cannot write " + dir.resolve("missing/x.dump") + ": no such directory", report.error());
        assertEquals(1, report.exitStatus());
        assertTrue(views.isEmpty(), "the run stopped at the dump: " + views);
        assertEquals(report.dataFrames(), frames[0], "the frames in use are the ones the tables map");
        assertFalse(Files.exists(dir.resolve("missing")));
    }

    @Test
    void aPagemapRangeThatWrapsOrIsHugeIsARunTimeError() throws IOException
    {
        Report report = run("show pagemap(0xfffffffffffff000, 8K)\n", options(LockingMode.PER_VMA), space -> { });
        assertEquals("t.mm:1:1: pagemap(0xfffffffffffff000, 0x2000) wraps around the address space", report.error());
        report = run("x = 8G\nshow pagemap(0, x)\n", options(LockingMode.PER_VMA), space -> { });
        assertTrue(report.error().startsWith("t.mm:2:1: pagemap of 0x0-0x200000000 is 2097152 pages; show prints at most"),
            report.error());
        report = run("show pagemap(0x7ffffffff000, 1G)\nshow pagemap(0xffff800000000000, 4K)\n", options(LockingMode.PER_VMA),
            space -> { });
        assertNull(report.error());
        assertEquals(List.of("0x7ffffffff000 0x0000000000000000"), views.get(0).text().lines().toList(),
            "as /proc/PID/pagemap, nothing past the user half");
        assertEquals("", views.get(1).text());
    }
}
