package io.mmemu.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import io.mmemu.inspect.DumpFormatException;
import io.mmemu.inspect.DumpReader;
import io.mmemu.inspect.Inspection;
import io.mmemu.inspect.PagemapView;
import io.mmemu.inspect.Snapshot;
import io.mmemu.inspect.Views;
import io.mmemu.pgtable.PagingMode;
import io.mmemu.script.ResultFormat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mmemu inspect DUMP}: every inspection view of a dump file, without the program that made it. */
@Command(
    name = "inspect",
    mixinStandardHelpOptions = true,
    description = {
        "Print the inspection views of a dump file.",
        "",
        "Opens DUMP (written by 'mmemu dump' or 'replay --dump'; docs/dump-format.md) and prints the views "
            + "asked for, in this order: maps, smaps, pagemap, ptdump, walks, tables, hexdumps; then writes the "
            + "files asked for. Without a view, prints what the dump holds. A truncated or corrupted file is "
            + "reported with the offset and what was wrong there (exit 2).",
        ""
    })
public final class InspectCommand implements Callable<Integer>
{
    @Parameters(index = "0", paramLabel = "DUMP", description = "The dump file.")
    Path file;

    @Option(names = "--maps", description = "Print the VMAs as /proc/PID/maps does.")
    boolean maps;

    @Option(names = "--pagemap", arity = "2", paramLabel = "START END", hideParamSyntax = true,
        description = "Print '0xVA 0xWORD' per page of [START, END): the pagemap word as an unprivileged reader sees it.")
    long[] pagemap;

    @Mixin
    ViewOptions views;

    @Override
    public Integer call()
    {
        final PrintStream out = System.out;
        try
        {
            if (pagemap != null)
            {
                PagemapView.checkRange(pagemap[0], pagemap[1]);
            }
            else if (views.pagemapBinary != null)
            {
                throw new IllegalArgumentException("--pagemap-binary needs the --pagemap START END range");
            }
        }
        catch (final IllegalArgumentException ex)
        {
            return fail(ex.getMessage());
        }
        try (Inspection inspection = Inspection.open(file))
        {
            final Snapshot snapshot = inspection.snapshot();
            final Views wanted = views.views(null, false, snapshot.thp());
            if (!maps && pagemap == null && !wanted.any())
            {
                out.print(summary(inspection.dump()));
            }
            if (maps)
            {
                out.print(inspection.maps());
            }
            if (wanted.smaps())
            {
                out.print(inspection.smaps());
            }
            if (pagemap != null)
            {
                inspection.pagemap(pagemap[0], pagemap[1], (va, word) -> out.println(ResultFormat.pagemapLine(va, word)));
            }
            wanted.printText(inspection, out);
            wanted.writeFiles(inspection, pagemap == null ? 0 : pagemap[0], pagemap == null ? 0 : pagemap[1],
                "mmemu inspect " + file);
            out.flush();
            return 0;
        }
        catch (final NoSuchFileException ex)
        {
            return fail(file + ": no such file");
        }
        catch (final DumpFormatException ex)
        {
            return fail(file + ": " + ex.getMessage());
        }
        catch (final IOException | IllegalArgumentException ex)
        {
            return fail(ex.getMessage());
        }
    }

    private static int fail(final String message)
    {
        System.out.flush();
        System.err.println("mmemu inspect: " + message);
        return 2;
    }

    private static String summary(final DumpReader.Dump dump)
    {
        final Snapshot s = dump.snapshot();
        return String.format("""
            dump format version %d, %d bytes
            %s
            CR3 0x%x; %d frames (%d backed), zero page at PFN 0x%x
            kernel: %s zero page, %s soft-dirty, THP %s
            %d VMAs, %d page-table frames, %d data frames with bytes
            """, dump.version(), dump.bytes(), PagingMode.header(s.paging()), s.cr3(), s.memory().totalFrames(), s.memory().backedFrames(),
            s.memory().zeroPagePfn(), s.kernel().zeroPage() ? "with" : "no", s.kernel().softDirty() ? "with" : "no",
            s.thp().sysfsName(), s.vmas().size(), dump.tables(), dump.dataFrames());
    }
}
