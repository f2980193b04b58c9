package io.mmemu.program;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;

import io.mmemu.inspect.FrozenTables;
import io.mmemu.inspect.Inspection;
import io.mmemu.inspect.Ptdump;
import io.mmemu.inspect.Snapshot;
import io.mmemu.inspect.Views;
import io.mmemu.script.ResultFormat;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;

import static io.mmemu.phys.PhysicalMemory.PAGE_SIZE;

/**
 * A running program's {@code show}, {@code dump} and {@code html} statements: the views of
 * {@link Inspection}, taken while other threads run.
 * <p>
 * Consistency: {@code show maps} holds the mmap lock for reading, as /proc/PID/maps does, so no
 * syscall changes the VMA list meanwhile. Every view that reads page tables holds it for writing,
 * as Linux's ptdump does: here a sectioned unmap frees its tables under the shared lock, which a
 * table walk must exclude. Faults still run (per-VMA mode: they take no mmap lock), and so do the
 * zaps of a munmap or MAP_FIXED already past its VMA change: entries may appear, disappear and
 * gain A/D bits while a view walks, each entry read whole. Views that walk the tables more than
 * once (dump, html) read each table page once ({@link FrozenTables}) when other threads are alive,
 * so a dump is always one the reader accepts.
 */
final class ViewStatements
{
    /** The longest pagemap a {@code show} prints, in pages: 4 GiB of address space, a million lines. */
    static final long MAX_PAGEMAP_PAGES = 1L << 20;

    private ViewStatements()
    {
    }

    /** {@code show VIEW}. */
    static void show(final Run run, final String thread, final Cpu cpu, final Node.Show node, final long[] frame)
    {
        final AddressSpace space = cpu.addressSpace();
        final long address = node.address() == null ? 0 : node.address().evaluate(frame);
        final long start = address & -PAGE_SIZE;
        long end = 0;
        final String what;
        switch (node.view())
        {
            case PAGEMAP ->
            {
                final long length = node.length().evaluate(frame);
                final long limit = address + length;
                if (Long.compareUnsigned(limit, address) < 0)
                {
                    throw new ProgramError(node.line(), node.column(), String.format(
                        "pagemap(0x%x, 0x%x) wraps around the address space", address, length));
                }
                // like reading /proc/PID/pagemap: nothing past the user half
                final long clamped = Long.compareUnsigned(limit, Ptdump.USER_END) > 0 ? Ptdump.USER_END : limit;
                end = length == 0 || Long.compareUnsigned(start, clamped) >= 0 ? start : (clamped + PAGE_SIZE - 1) & -PAGE_SIZE;
                if ((end - start) / PAGE_SIZE > MAX_PAGEMAP_PAGES)
                {
                    throw new ProgramError(node.line(), node.column(), String.format(
                        "pagemap of 0x%x-0x%x is %d pages; show prints at most %d (4 GiB): smaps or ptdump sum up more",
                        start, end, (end - start) / PAGE_SIZE, MAX_PAGEMAP_PAGES));
                }
                what = String.format("pagemap 0x%x-0x%x", start, end);
            }
            case WALK -> what = String.format("walk 0x%x", address);
            default -> what = node.view().word();
        }
        final long pagemapEnd = end;
        final long[] taken = new long[1];
        final String text;
        try
        {
            text = space.observe(cpu, node.view() != Node.View.MAPS, () ->
            {
                taken[0] = run.elapsedNanos();
                return render(Inspection.of(space, space.thp()), node.view(), address, start, pagemapEnd);
            });
        }
        catch (final IOException ex)
        {
            throw new AssertionError("the pagemap text is built in memory", ex);
        }
        run.views().print(what, where(run, node), thread, taken[0], text);
    }

    /** {@code dump "FILE" [data]} or {@code html "FILE"}: a file the program cannot write is a run-time error. */
    static void save(final Run run, final String thread, final Cpu cpu, final Node.Save node)
    {
        final AddressSpace space = cpu.addressSpace();
        final Path file;
        try
        {
            file = run.views().resolve(node.file());
        }
        catch (final InvalidPathException ex)
        {
            throw new ProgramError(node.line(), node.column(), "bad file name '" + node.file() + "': " + ex.getReason());
        }
        final Views views = new Views(false, false, List.of(), List.of(), List.of(), null, node.html() ? null : file,
            node.withData(), node.html() ? file : null, space.thp());
        // alone, no thread can fault meanwhile: the tables are read where they lie
        final boolean alone = run.scheduler().live() == 1;
        final long[] taken = new long[1];
        try
        {
            space.observe(cpu, true, () ->
            {
                taken[0] = run.elapsedNanos();
                final Snapshot live = Snapshot.of(space, space.thp());
                final Inspection inspection = Inspection.of(alone ? live : new Snapshot(live.cr3(), live.vmas(), live.kernel(),
                    live.thp(), new FrozenTables(live.memory()), live.stats()));
                views.writeFiles(inspection, 0, 0, run.program().name() + ":" + node.line());
                return null;
            });
        }
        catch (final IOException ex)
        {
            throw new ProgramError(node.line(), node.column(), ex.getMessage() != null ? ex.getMessage() : ex.toString());
        }
        String size;
        try
        {
            size = Files.size(file) + " bytes";
        }
        catch (final IOException ex)
        {
            size = "a file whose size cannot be read back (" + ex + ")";
        }
        run.views().print((node.html() ? "html " : "dump ") + file + (node.withData() ? " with data" : ""), where(run, node),
            thread, taken[0], "wrote " + size + "\n");
    }

    private static String render(final Inspection inspection, final Node.View view, final long address, final long start,
        final long end) throws IOException
    {
        return switch (view)
        {
            case MAPS -> inspection.maps();
            case SMAPS -> inspection.smaps();
            case PTDUMP -> inspection.ptdump();
            case WALK -> inspection.walk(address);
            case PAGEMAP ->
            {
                final StringBuilder sb = new StringBuilder();
                inspection.pagemap(start, end, (va, word) -> sb.append(ResultFormat.pagemapLine(va, word)).append('\n'));
                yield sb.toString();
            }
        };
    }

    private static String where(final Run run, final Node node)
    {
        return run.program().name() + ":" + node.line();
    }
}
