package io.mmemu.inspect;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;

import io.mmemu.pgtable.PagingMode;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.ThpMode;
import io.mmemu.vm.VmaInfo;

/**
 * Every inspection view of one address space, live or from a dump file: the entry point for
 * {@code mmemu replay}, {@code mmemu inspect}, and a running program ({@code mmemu run} and its
 * language). Live views read the tables as they are: take them at a quiescent point (no syscall
 * or fault in flight), as after a script or between statements.
 * <p>
 * Close it when done with a dump (the file stays mapped until then); closing a live inspection
 * does nothing.
 */
public final class Inspection implements AutoCloseable
{
    private final Snapshot snapshot;
    private final DumpReader.Dump dump;

    private Inspection(final Snapshot snapshot, final DumpReader.Dump dump)
    {
        this.snapshot = snapshot;
        this.dump = dump;
    }

    /**
     * The live address space, smaps reporting THPeligible against {@code thp}. The VMA list is
     * taken now and the tables are read when a view is asked for: a running program takes a new
     * inspection at each point it wants to look at.
     */
    public static Inspection of(final AddressSpace space, final ThpMode thp)
    {
        return new Inspection(Snapshot.of(space, thp), null);
    }

    /**
     * A snapshot built by the caller, for instance over a {@link FrozenTables} image while other
     * threads still fault.
     */
    public static Inspection of(final Snapshot snapshot)
    {
        return new Inspection(snapshot, null);
    }

    /** A dump file, validated; a truncated or corrupted file is a {@link DumpFormatException}. */
    public static Inspection open(final Path file) throws IOException
    {
        final DumpReader.Dump dump = DumpReader.read(file);
        return new Inspection(dump.snapshot(), dump);
    }

    public Snapshot snapshot()
    {
        return snapshot;
    }

    /** The opened dump, or null for a live inspection. */
    public DumpReader.Dump dump()
    {
        return dump;
    }

    /** /proc/PID/maps: one line per VMA. */
    public String maps()
    {
        final StringBuilder sb = new StringBuilder();
        for (final VmaInfo vma : snapshot.vmas())
        {
            sb.append(vma.mapsLine()).append('\n');
        }
        return sb.toString();
    }

    /** /proc/PID/smaps of every VMA. */
    public String smaps()
    {
        return Smaps.render(snapshot);
    }

    /** The smaps block of one VMA. */
    public String smaps(final VmaInfo vma)
    {
        final StringBuilder sb = new StringBuilder(1024);
        Smaps.append(sb, snapshot, vma);
        return sb.toString();
    }

    /** The paging header line ({@link PagingMode#header}), then the user half of the page tables in Linux's ptdump format. */
    public String ptdump()
    {
        return PagingMode.header(snapshot.paging()) + "\n" + Ptdump.render(snapshot.memory(), snapshot.cr3());
    }

    /** The pagemap word of the page containing {@code va}. */
    public long pagemap(final long va)
    {
        return PagemapView.word(snapshot, va);
    }

    /** The words of {@code [start, end)} (page aligned), in address order. */
    public void pagemap(final long start, final long end, final PagemapView.WordConsumer consumer) throws IOException
    {
        PagemapView.forEach(snapshot, start, end, consumer);
    }

    /** The binary pagemap of {@code [start, end)}: what reading /proc/PID/pagemap there returns. */
    public void writePagemap(final long start, final long end, final OutputStream out) throws IOException
    {
        PagemapView.write(snapshot, start, end, out);
    }

    /** The path from CR3 to {@code va}, each entry decoded. */
    public String walk(final long va)
    {
        return WalkView.render(snapshot, va);
    }

    /** The page-table page at physical {@code pa}, its non-empty entries decoded. */
    public String table(final long pa)
    {
        return TableView.render(snapshot, pa);
    }

    /**
     * Raw physical memory in {@code hexdump -C} format.
     *
     * @throws IllegalArgumentException when the range has pages whose bytes are not available
     */
    public String hexdump(final long pa, final long length)
    {
        return Hexdump.render(snapshot.memory(), pa, length);
    }

    /** The self-contained HTML page with the address-space and page-table pictures. */
    public String html(final String title)
    {
        return HtmlReport.render(snapshot, title);
    }

    /** Writes a dump file; with {@code withData} the mapped data frames' bytes too. */
    public DumpWriter.Summary writeDump(final Path file, final boolean withData) throws IOException
    {
        return DumpWriter.write(snapshot, file, withData);
    }

    @Override
    public void close()
    {
        if (dump != null)
        {
            dump.close();
        }
    }
}
