package io.mmemu.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.mmemu.vm.ThpMode;
import io.mmemu.inspect.Views;
import picocli.CommandLine.Option;

/** The inspection view options shared by {@code replay} and {@code inspect} (docs/inspect.md). */
public final class ViewOptions
{
    @Option(names = "--smaps", description = "Print the VMAs as /proc/PID/smaps does, every field computed from the tables.")
    boolean smaps;

    @Option(names = "--ptdump", description = "Print the user half of the page tables in Linux's ptdump format.")
    boolean ptdump;

    @Option(names = "--walk", paramLabel = "VA", description = "Print the four entries on the path to VA, decoded (repeatable).")
    List<Long> walks = new ArrayList<>();

    @Option(names = "--table", paramLabel = "PA", description = "Print the page-table page at physical PA, its entries decoded (repeatable).")
    List<Long> tables = new ArrayList<>();

    @Option(names = "--hexdump", arity = "2", paramLabel = "PA LEN", hideParamSyntax = true,
        description = "Print LEN bytes of physical memory from PA as hexdump -C does (repeatable).")
    List<Long> hexdumps = new ArrayList<>();

    @Option(names = "--pagemap-binary", paramLabel = "FILE",
        description = "Write the --pagemap range as /proc/PID/pagemap reads: 8 little-endian bytes a page.")
    Path pagemapBinary;

    @Option(names = "--html", paramLabel = "FILE", description = "Write a self-contained HTML page picturing the VMAs and page tables.")
    Path html;

    /** The views asked for; {@code dump} and {@code thp} come from the command. */
    Views views(final Path dump, final boolean dumpData, final ThpMode thp)
    {
        final List<Views.PhysicalRange> ranges = new ArrayList<>();
        for (int i = 0; i + 1 < hexdumps.size(); i += 2)
        {
            ranges.add(new Views.PhysicalRange(hexdumps.get(i), hexdumps.get(i + 1)));
        }
        return new Views(smaps, ptdump, walks, tables, ranges, pagemapBinary, dump, dumpData, html, thp);
    }
}
