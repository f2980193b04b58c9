package io.mmemu.script;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;

import io.mmemu.inspect.Inspection;
import io.mmemu.inspect.PagemapView;
import io.mmemu.inspect.Views;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Errno;
import io.mmemu.vm.HugetlbConfig;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.LockingMode;
import io.mmemu.vm.Signal;
import io.mmemu.vm.ThpSettings;
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
     * @param thp            the THP settings faults follow ({@link ThpSettings#OFF}: 4 KiB pages only)
     * @param hugetlb        the hugetlb pools the machine boots with
     */
    public record Options(boolean maps, long pagemapStart, long pagemapEnd, boolean pagemap,
                          long windowStart, long windowEnd, long physicalMemory, KernelConfig kernel, Views views,
                          ThpSettings thp, HugetlbConfig hugetlb)
    {
        /** Options whose faults map 4 KiB pages only, without hugetlb pools. */
        public Options(final boolean maps, final long pagemapStart, final long pagemapEnd, final boolean pagemap,
            final long windowStart, final long windowEnd, final long physicalMemory, final KernelConfig kernel,
            final Views views)
        {
            this(maps, pagemapStart, pagemapEnd, pagemap, windowStart, windowEnd, physicalMemory, kernel, views,
                ThpSettings.OFF, HugetlbConfig.NONE);
        }

        /** The same options with these hugetlb pools. */
        public Options withHugetlb(final HugetlbConfig pools)
        {
            return new Options(maps, pagemapStart, pagemapEnd, pagemap, windowStart, windowEnd, physicalMemory, kernel, views,
                thp, pools);
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
                thp, hugetlb);
        }

        /** The same options with these inspection views. */
        public Options withViews(final Views other)
        {
            return new Options(maps, pagemapStart, pagemapEnd, pagemap, windowStart, windowEnd, physicalMemory, kernel, other,
                thp, hugetlb);
        }

        /** The same options with faults following these THP settings. */
        public Options withThp(final ThpSettings other)
        {
            return new Options(maps, pagemapStart, pagemapEnd, pagemap, windowStart, windowEnd, physicalMemory, kernel, views,
                other, hugetlb);
        }

        public Options
        {
            java.util.Objects.requireNonNull(kernel, "kernel");
            java.util.Objects.requireNonNull(views, "views");
            java.util.Objects.requireNonNull(hugetlb, "hugetlb");
            java.util.Objects.requireNonNull(thp, "thp");
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
        final List<ProcessStep> steps;
        try
        {
            steps = ScriptParser.parseSteps(script);
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
        final List<ScriptProcess> processes = new ArrayList<>();
        try
        {
            processes.add(new ScriptProcess(options.thp().applyTo(
                AddressSpace.create(memory, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, options.kernel()))));
            for (final ProcessStep step : steps)
            {
                final ScriptProcess process = processes.get(step.process());
                if (step.isFork())
                {
                    final AddressSpace child = process.cpu.fork();
                    if (child != null)
                    {
                        processes.add(new ScriptProcess(child));
                    }
                    out.println(step.text() + " = " + (child == null ? Errno.straceError(Errno.ENOMEM) : step.child()));
                    continue;
                }
                final Outcome outcome = process.interpreter.execute(step.statement());
                out.println(step.text() + " = " + ResultFormat.result(step.statement().call(), outcome, window));
                if (outcome.signal() == Signal.SIGKILL)
                {
                    // the OOM killer chose the process: nothing after runs, as strace shows it
                    out.println("+++ killed by SIGKILL +++");
                    break;
                }
            }
            for (int i = 0; i < processes.size(); i++)
            {
                if (processes.size() > 1)
                {
                    out.println("--- process " + i);
                }
                final int status = printViews(scriptName, processes.get(i).space, options, window, out, err);
                if (status != 0)
                {
                    return status;
                }
            }
        }
        finally
        {
            // children first: their frames are the parent's too until they are gone
            for (int i = processes.size() - 1; i >= 0; i--)
            {
                processes.get(i).close();
            }
            memory.close();
        }
        out.flush();
        return 0;
    }

    /** The maps, smaps, pagemap and other views of one process after the statements; 0, or 2 when a view cannot be made. */
    private static int printViews(final String scriptName, final AddressSpace space, final Options options,
        final Window window, final PrintStream out, final PrintStream err)
    {
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
        return 0;
    }

    /** One process of a replay: its address space, its one CPU and the interpreter on it. */
    private static final class ScriptProcess implements AutoCloseable
    {
        final AddressSpace space;
        final Cpu cpu;
        final Interpreter interpreter;

        ScriptProcess(final AddressSpace space)
        {
            this.space = space;
            this.cpu = space.attachCpu();
            this.interpreter = new Interpreter(cpu);
        }

        @Override
        public void close()
        {
            cpu.close();
            space.close();
        }
    }
}
