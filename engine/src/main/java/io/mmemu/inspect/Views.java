package io.mmemu.inspect;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

import io.mmemu.vm.ThpMode;

/**
 * The inspection views a command was asked for beyond maps and pagemap text (which
 * {@code replay} prints itself): smaps, ptdump, the raw views, and the files — binary pagemap,
 * dump, HTML picture. {@link #printText} prints the text views in a fixed order, {@link
 * #writeFiles} writes the files.
 *
 * @param smaps         print /proc/PID/smaps
 * @param ptdump        print the ptdump of the user half
 * @param walks         virtual addresses to walk (--walk)
 * @param tables        physical addresses of tables to decode (--table)
 * @param hexdumps      physical ranges to hexdump (--hexdump)
 * @param pagemapBinary file for the binary pagemap of the pagemap range, or null
 * @param dump          dump file to write, or null
 * @param dumpData      write the data frames' bytes into the dump too
 * @param html          HTML picture to write, or null
 * @param thp           the THP policy smaps reports THPeligible against
 */
public record Views(boolean smaps, boolean ptdump, List<Long> walks, List<Long> tables, List<PhysicalRange> hexdumps,
    Path pagemapBinary, Path dump, boolean dumpData, Path html, ThpMode thp)
{
    /** A physical range for --hexdump. */
    public record PhysicalRange(long address, long length)
    {
    }

    /** Nothing beyond maps and pagemap; smaps would report against a mainline (always) THP policy. */
    public static final Views NONE = new Views(false, false, List.of(), List.of(), List.of(), null, null, false, null,
        ThpMode.ALWAYS);

    public Views
    {
        walks = List.copyOf(walks);
        tables = List.copyOf(tables);
        hexdumps = List.copyOf(hexdumps);
        Objects.requireNonNull(thp, "thp");
    }

    /** Whether any view needs an {@link Inspection}. */
    public boolean any()
    {
        return smaps || ptdump || !walks.isEmpty() || !tables.isEmpty() || !hexdumps.isEmpty() || pagemapBinary != null ||
            dump != null || html != null;
    }

    /**
     * Prints ptdump, then each walk, table and hexdump, in that order.
     *
     * @throws IllegalArgumentException for a hexdump range whose bytes are not available
     */
    public void printText(final Inspection inspection, final PrintStream out)
    {
        if (ptdump)
        {
            out.print(inspection.ptdump());
        }
        for (final long va : walks)
        {
            out.print(inspection.walk(va));
        }
        for (final long pa : tables)
        {
            out.print(inspection.table(pa));
        }
        for (final PhysicalRange range : hexdumps)
        {
            out.print(inspection.hexdump(range.address(), range.length()));
        }
    }

    /** Writes the binary pagemap of {@code [pagemapStart, pagemapEnd)}, the dump and the HTML page, as asked. */
    public void writeFiles(final Inspection inspection, final long pagemapStart, final long pagemapEnd, final String title)
        throws IOException
    {
        Path writing = null;
        try
        {
            if (pagemapBinary != null)
            {
                writing = pagemapBinary;
                try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(pagemapBinary)))
                {
                    inspection.writePagemap(pagemapStart, pagemapEnd, out);
                }
            }
            if (dump != null)
            {
                writing = dump;
                inspection.writeDump(dump, dumpData);
            }
            if (html != null)
            {
                writing = html;
                Files.writeString(html, inspection.html(title), StandardCharsets.UTF_8);
            }
        }
        catch (final NoSuchFileException ex)
        {
            throw new IOException("cannot write " + writing + ": no such directory", ex);
        }
        catch (final AccessDeniedException ex)
        {
            throw new IOException("cannot write " + writing + ": permission denied", ex);
        }
        catch (final FileSystemException ex)
        {
            throw new IOException("cannot write " + writing + ": " + (ex.getReason() != null ? ex.getReason() : ex.getMessage()), ex);
        }
    }
}
