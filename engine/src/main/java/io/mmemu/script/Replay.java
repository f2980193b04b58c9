package io.mmemu.script;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.util.List;

import io.mmemu.inspect.Inspection;
import io.mmemu.inspect.PagemapView;
import io.mmemu.inspect.Views;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.HugetlbConfig;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.LockingMode;
import io.mmemu.vm.Signal;
import io.mmemu.vm.VmaInfo;

import static io.mmemu.phys.PhysicalMemory.PAGE_SIZE;

/**
 * {@code mmemu replay}: runs a script of memory syscalls (strace's call syntax) on a fresh address
 * space and prints each call with its result as strace would, then optionally the maps and the
 * pagemap words of a range, in the format the differential harness compares with the host kernel,
 * and the inspection {@link Views} asked for (smaps after the maps; ptdump, raw views and files last).
 */
public final class Replay
{
    public static final long DEFAULT_PHYSICAL_MEMORY = 4L << 30;

    private Replay()
    {
    }

    /**
     * What to print after the statements. windowStart == windowEnd == 0: no window.
     *
     * @param maps           print the maps lines (inside the window, if any)
     * @param pagemapStart   first page of the pagemap range (page aligned)
     * @param pagemapEnd     end of the pagemap range, exclusive (page aligned)
     * @param pagemap        print one pagemap line per page of [pagemapStart, pagemapEnd)
     * @param windowStart    start of the comparison window
     * @param windowEnd      end of the comparison window, exclusive
     * @param physicalMemory emulated physical memory in bytes
     * @param kernel         the kernel build to emulate (zero page, soft-dirty)
     * @param views          smaps, ptdump, raw views and files (smaps shows the VMAs --maps would)
     * @param hugetlb        the hugetlb pools the machine boots with
     */
    public record Options(boolean maps, long pagemapStart, long pagemapEnd, boolean pagemap,
                          long windowStart, long windowEnd, long physicalMemory, KernelConfig kernel, Views views,
                          HugetlbConfig hugetlb)
    {
        /** Options without hugetlb pools. */
        public Options(final boolean maps, final long pagemapStart, final long pagemapEnd, final boolean pagemap,
            final long windowStart, final long windowEnd, final long physicalMemory, final KernelConfig kernel,
            final Views views)
        {
            this(maps, pagemapStart, pagemapEnd, pagemap, windowStart, windowEnd, physicalMemory, kernel, views,
                HugetlbConfig.NONE);
        }

        /** The same options with these hugetlb pools. */
        public Options withHugetlb(final HugetlbConfig pools)
        {
            return new Options(maps, pagemapStart, pagemapEnd, pagemap, windowStart, windowEnd, physicalMemory, kernel, views,
                pools);
        }

        /** Options without inspection views. */
        public Options(final boolean maps, final long pagemapStart, final long pagemapEnd, final boolean pagemap,
            final long windowStart, final long windowEnd, final long physicalMemory, final KernelConfig kernel)
        {
            this(maps, pagemapStart, pagemapEnd, pagemap, windowStart, windowEnd, physicalMemory, kernel, Views.NONE);
        }

        /** Options for a mainline kernel. */
        public Options(final boolean maps, final long pagemapStart, final long pagemapEnd, final boolean pagemap,
            final long windowStart, final long windowEnd, final long physicalMemory)
        {
            this(maps, pagemapStart, pagemapEnd, pagemap, windowStart, windowEnd, physicalMemory, KernelConfig.MAINLINE);
        }

        /** The same options for another kernel build. */
        public Options withKernel(final KernelConfig other)
        {
            return new Options(maps, pagemapStart, pagemapEnd, pagemap, windowStart, windowEnd, physicalMemory, other, views,
                hugetlb);
        }

        /** The same options with these inspection views. */
        public Options withViews(final Views other)
        {
            return new Options(maps, pagemapStart, pagemapEnd, pagemap, windowStart, windowEnd, physicalMemory, kernel, other,
                hugetlb);
        }

        public Options
        {
            java.util.Objects.requireNonNull(kernel, "kernel");
            java.util.Objects.requireNonNull(views, "views");
            java.util.Objects.requireNonNull(hugetlb, "hugetlb");
            if (views.pagemapBinary() != null && !pagemap)
            {
                throw new IllegalArgumentException("a binary pagemap needs the --pagemap START END range");
            }
            if (pagemap)
            {
                PagemapView.checkRange(pagemapStart, pagemapEnd);
            }
            new Window(windowStart, windowEnd); // validates
            if (physicalMemory <= 0)
            {
                throw new IllegalArgumentException("physical memory must be positive: " + physicalMemory);
            }
        }

        /** Only the results: no maps, no pagemap, no window, the default physical memory. */
        public static Options resultsOnly()
        {
            return new Options(false, 0, 0, false, 0, 0, DEFAULT_PHYSICAL_MEMORY);
        }

        public Window window()
        {
            return new Window(windowStart, windowEnd);
        }
    }

    /**
     * Parses the whole script first; on any malformed line prints every error as
     * "NAME:LINE: reason" to err and returns 2 without running anything. Otherwise runs it
     * on a fresh AddressSpace, prints to out, returns 0; or 2 when a view cannot be made (a
     * hexdump of bytes that do not exist, a file that cannot be written), said on err.
     */
    public static int run(final String scriptName, final Reader script, final Options options,
        final PrintStream out, final PrintStream err)
    {
        final List<Statement> statements;
        try
        {
            statements = ScriptParser.parse(script);
        }
        catch (final ScriptException ex)
        {
            ex.report(scriptName, err);
            return 2;
        }
        catch (final IOException ex)
        {
            err.println(scriptName + ": cannot read: " + ex.getMessage());
            return 2;
        }

        final PhysicalMemory memory;
        try
        {
            memory = PhysicalMemory.create(options.physicalMemory());
            try
            {
                options.hugetlb().applyTo(memory);
            }
            catch (final IllegalArgumentException ex)
            {
                memory.close();
                throw ex;
            }
        }
        catch (final IllegalArgumentException ex)
        {
            err.println("mmemu replay: " + ex.getMessage());
            return 2;
        }
        final Window window = options.window();
        try (memory;
             AddressSpace space = AddressSpace.create(memory, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, options.kernel());
             Cpu cpu = space.attachCpu())
        {
            final Interpreter interpreter = new Interpreter(cpu);
            for (final Statement statement : statements)
            {
                final Outcome outcome = interpreter.execute(statement);
                out.println(ResultFormat.line(statement, outcome, window));
                if (outcome.signal() == Signal.SIGKILL)
                {
                    // the OOM killer chose the process: nothing after runs, as strace shows it
                    out.println("+++ killed by SIGKILL +++");
                    break;
                }
            }
            final Views views = options.views();
            final Inspection inspection = views.any() ? Inspection.of(space, views.thp()) : null;
            if (options.maps())
            {
                for (final VmaInfo vma : space.vmas())
                {
                    if (window.showsAnyOf(vma.start(), vma.end()))
                    {
                        out.println(vma.mapsLine());
                    }
                }
            }
            if (views.smaps())
            {
                for (final VmaInfo vma : inspection.snapshot().vmas())
                {
                    if (window.showsAnyOf(vma.start(), vma.end()))
                    {
                        out.print(inspection.smaps(vma));
                    }
                }
            }
            if (options.pagemap())
            {
                for (long va = options.pagemapStart(); Long.compareUnsigned(va, options.pagemapEnd()) < 0; va += PAGE_SIZE)
                {
                    out.println(ResultFormat.pagemapLine(va, space.pagemap(va)));
                }
            }
            if (inspection != null)
            {
                try
                {
                    views.printText(inspection, out);
                    views.writeFiles(inspection, options.pagemapStart(), options.pagemapEnd(), "mmemu replay " + scriptName);
                }
                catch (final IllegalArgumentException | IOException ex)
                {
                    out.flush();
                    err.println("mmemu replay: " + ex.getMessage());
                    return 2;
                }
            }
        }
        out.flush();
        return 0;
    }
}
