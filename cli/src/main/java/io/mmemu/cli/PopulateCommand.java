package io.mmemu.cli;

import java.util.concurrent.Callable;

import io.mmemu.pgtable.MmuGather;
import io.mmemu.pgtable.PageTableChecker;
import io.mmemu.pgtable.PageTableEditor;
import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PagingMode;
import io.mmemu.pgtable.TlbFlush;
import io.mmemu.phys.Backing;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The foundation demo: populate a range of virtual memory straight into the four-level tables,
 * check every invariant, zap it, free the tables, and report frames, tables and time.
 */
@Command(
    name = "populate",
    mixinStandardHelpOptions = true,
    description = {
        "Populate a range straight into real x86-64 page tables, check them, zap them.",
        "",
        "Populates SIZE bytes of virtual memory, checks every invariant of the tables, zaps them and checks "
            + "that every frame returned. Prints frames, tables, time and rate.",
        ""
    })
public final class PopulateCommand implements Callable<Integer>
{
    @Option(names = "--size", defaultValue = "1G", description = "Virtual bytes to populate (default ${DEFAULT-VALUE}).")
    long size;

    @Option(names = "--physmem", defaultValue = "4G", description = "Emulated physical memory (default ${DEFAULT-VALUE}).")
    long physmem;

    @Option(names = "--backing", defaultValue = "full",
        description = "full: data frames have bytes; tables-only: data frames are accounted, not backed (default ${DEFAULT-VALUE}).")
    String backing;

    @Option(names = "--start", defaultValue = "0x100000000000", description = "First virtual address (default ${DEFAULT-VALUE}).")
    long start;

    @Mixin
    PagingOption paging;

    @Override
    public Integer call()
    {
        final Backing mode = switch (backing)
        {
            case "full" -> Backing.FULL;
            case "tables-only" -> Backing.TABLES_ONLY;
            default -> null;
        };
        if (mode == null)
        {
            System.err.println("mmemu populate: --backing must be full or tables-only, not '" + backing + "'");
            return 2;
        }
        final int levels;
        try
        {
            levels = paging.levels();
        }
        catch (final IllegalArgumentException ex)
        {
            System.err.println("mmemu populate: " + ex.getMessage());
            return 2;
        }
        // the end of the user half less its guard page: TASK_SIZE
        final long taskSize = PagingMode.userEnd(levels) - 4096;
        if ((start & 4095) != 0 || (size & 4095) != 0 || size <= 0 || start < 0 || Long.compareUnsigned(size, taskSize - start) > 0 ||
            start > taskSize)
        {
            System.err.println("mmemu populate: --start and --size must be page aligned and inside user space");
            return 2;
        }
        try (PhysicalMemory memory = PhysicalMemory.create(physmem, mode))
        {
            final FrameCache cache = memory.newCache();
            final PageTableEditor editor = new PageTableEditor(memory, cache, 1);
            final MmuGather tlb = new MmuGather(memory, cache);
            final long cr3 = editor.allocateRoot(levels);
            final long baseline = memory.framesInUse();
            final long leaf = PageTableEntry.PRESENT | PageTableEntry.WRITABLE | PageTableEntry.USER |
                PageTableEntry.ACCESSED | PageTableEntry.DIRTY | PageTableEntry.NO_EXECUTE;

            final long t0 = System.nanoTime();
            final int status = editor.populate(cr3, start, start + size, leaf);
            final long t1 = System.nanoTime();
            final long pages = editor.done();
            final long tables = memory.tablePages();
            final long data = memory.dataFrames();
            System.out.println(PagingMode.header(levels));
            System.out.printf("physical memory   %s (%s backing, %d frames)%n", Sizes.human(physmem), backing, memory.totalFrames());
            System.out.printf("populated         %s: %d pages in %.3f s (%.2f M pages/s)%s%n",
                Sizes.human(pages << 12), pages, (t1 - t0) / 1e9, pages / ((t1 - t0) / 1e3),
                status == PageTableEditor.OK ? "" : "  -- stopped: emulated memory exhausted");
            System.out.printf("page-table pages  %d (%s), data frames %d, frames in use %d%n",
                tables, Sizes.human(tables << 12), data, memory.framesInUse());

            final long checkStart = System.nanoTime();
            final PageTableChecker.Result check = PageTableChecker.check(memory, cr3);
            System.out.printf("invariants        %s (%d tables, %d leaves reachable from CR3 0x%x) in %.3f s%n",
                check.ok() ? "ok" : "VIOLATED: " + check.violations(), check.tables(), check.leaves(), cr3,
                (System.nanoTime() - checkStart) / 1e9);

            tlb.begin(TlbFlush.NONE);
            final long t2 = System.nanoTime();
            editor.zap(cr3, start, start + size, tlb);
            editor.freeTables(cr3, start, start + size, 0, 0, tlb);
            tlb.finish();
            final long t3 = System.nanoTime();
            System.out.printf("zapped            %d pages in %.3f s; frames in use %d (baseline %d)%n",
                editor.done(), (t3 - t2) / 1e9, memory.framesInUse(), baseline);
            final boolean back = memory.framesInUse() == baseline;
            final PageTableChecker.Result after = PageTableChecker.check(memory, cr3);
            System.out.println("after zap         " + (back && after.ok() ? "ok: every frame returned" : "LEAK " + after.violations()));
            return check.ok() && back && after.ok() && status == PageTableEditor.OK ? 0 : 1;
        }
        catch (final IllegalArgumentException | IllegalStateException ex)
        {
            System.err.println("mmemu populate: " + ex.getMessage());
            return 2;
        }
    }
}
