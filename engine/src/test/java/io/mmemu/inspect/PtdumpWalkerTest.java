package io.mmemu.inspect;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.ThpMode;
import io.mmemu.vm.VmaInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ptdump of a real address space read back line by line: the lines tile the user half from 0 to
 * the guard hole's end, each size field is its range in the largest exact unit, and the present
 * ranges are exactly the pages the MMU's walker translates — with the flags and level it finds.
 */
class PtdumpWalkerTest
{
    private static final int SAMPLES = 4096;

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void presentRangesAreWhatTheWalkerTranslates(final boolean mainline)
    {
        try (Scenario s = new Scenario(mainline ? KernelConfig.MAINLINE : new KernelConfig(false, false)))
        {
            final String text = Inspection.of(s.space, ThpMode.ALWAYS).ptdump();
            // the views' paging header, then Linux's text
            final String[] lines = text.substring(text.indexOf('\n') + 1).split("\n");
            assertTrue(text.startsWith("paging: 4-level\n"), text);
            assertEquals("---[ User Space ]---", lines[0]);
            final PageWalker walker = new PageWalker(s.memory, s.memory.newCache());
            long expectedStart = 0;
            long presentPages = 0;
            for (int i = 1; i < lines.length; i++)
            {
                final String line = lines[i];
                final long start = Long.parseUnsignedLong(line.substring(2, 18), 16);
                final long end = Long.parseUnsignedLong(line.substring(21, 37), 16);
                assertEquals(expectedStart, start, "lines tile the range: " + line);
                assertTrue(Long.compareUnsigned(start, end) < 0, line);
                // "%9lu%c ": at least 10 columns, more for a number over 9 digits
                int digits = 40;
                while (line.charAt(digits) == ' ')
                {
                    digits++;
                }
                final int sizeEnd = line.indexOf(' ', digits);
                assertTrue(sizeEnd >= 50, "the size takes at least 10 columns: " + line);
                assertEquals(size(end - start), line.substring(40, sizeEnd).strip(), line);
                final String flags = line.substring(sizeEnd + 1, sizeEnd + 31);
                final String level = line.substring(sizeEnd + 31);
                final boolean present = !flags.isBlank();
                final long last = Math.min(end, Ptdump.USER_END);
                final long pages = (last - start) >>> 12;
                final long stride = Math.max(1, pages / SAMPLES);
                for (long p = 0; p < pages; p += stride)
                {
                    final long va = start + (p << 12);
                    final long pa = walker.translate(s.space.cr3(), va);
                    assertEquals(present, pa != PageWalker.NO_TRANSLATION, () -> String.format("0x%x in %s", va, line));
                    if (present)
                    {
                        // translate() keeps no state: walk again for the entry it used
                        walker.walk(s.space.cr3(), va);
                        final long e = walker.entry();
                        assertEquals(PageTableEntry.isUser(e), flags.startsWith("USR "), line);
                        assertEquals(PageTableEntry.isWritable(e), flags.substring(4, 7).equals("RW "), line);
                        assertEquals(PageTableEntry.isNoExecute(e), flags.endsWith("NX "), line);
                        assertEquals(walker.level() == PageTableEntry.LEVEL_PTE ? "pte" : "pmd", level, line);
                    }
                }
                if (present)
                {
                    presentPages += pages;
                }
                expectedStart = end;
            }
            assertEquals(Ptdump.GUARD_HOLE_END, expectedStart, "the last line ends at the guard hole's end");
            long translated = 0;
            for (final VmaInfo vma : s.space.vmas())
            {
                for (long va = vma.start(); va < vma.end(); va += 4096)
                {
                    translated += walker.translate(s.space.cr3(), va) != PageWalker.NO_TRANSLATION ? 1 : 0;
                }
            }
            assertEquals(translated, presentPages, "present pages in ptdump = pages the walker translates");
            assertTrue(presentPages > 20);
        }
    }

    /** The size column: the range divided by 1024 while it divides, with its unit letter. */
    private static String size(final long bytes)
    {
        final String units = "BKMGTPE";
        long v = bytes;
        int unit = 0;
        while ((v & 1023) == 0 && unit < units.length() - 1 && v != 0)
        {
            v >>>= 10;
            unit++;
        }
        return Long.toUnsignedString(v) + units.charAt(unit);
    }
}
