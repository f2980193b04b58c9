package io.mmemu.program;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import io.mmemu.pgtable.PagingMode;
import io.mmemu.phys.Backing;
import io.mmemu.vm.MmStats;
import org.HdrHistogram.Histogram;

/**
 * What a run did: the address space's counters and histograms, memory in use, the program's own
 * tallies, and how it ended. Printed as a short table for people and as JSON ({@code --json}) for
 * machines; the JSON keys are a contract (docs/language.md).
 *
 * @param program            the program run
 * @param options            how it ran
 * @param wallNanos          from the first statement to the last thread's end
 * @param stats              the address space's counters and histograms
 * @param tablePagesPeak     page-table pages in use, highest sample
 * @param tablePages         page-table pages in use at the end
 * @param dataFramesPeak     data frames in use, highest sample
 * @param dataFrames         data frames in use at the end
 * @param rssPeak            the emulator process's peak resident memory, bytes (-1 unknown)
 * @param rss                its resident memory at the end, bytes (-1 unknown)
 * @param statements         statements executed (calls and touches)
 * @param statementSignals   signals raised by statements: SEGV_MAPERR, SEGV_ACCERR, SI_KERNEL, BUS_ADRERR
 * @param failedExpectations expectations not met
 * @param failures           the first {@link Run#KEPT_FAILURES} of them, {@code NAME:LINE:COLUMN: what}
 * @param failureGroups      all of them, grouped by statement, in the order they first failed
 * @param error              what stopped the run early (a program error, a deadlock), or null
 * @param fatal              the unexpected signal that ended the run after {@code signals fatal}, or null
 * @param interrupted        whether the run was stopped from outside (Ctrl-C)
 * @param host               null for a run on the emulator; for a run on the host kernel ({@link HostRun}),
 *                           the kernel ({@code Linux 6.8.0}): then the counters are the runner process's
 *                           (faults from getrusage, page tables from VmPTE, data frames from RssAnon, RSS
 *                           the runner's), and the emulator's own figures (locked-VMA waits, lock holds) are 0
 * @param processes          each process's own figures (the main one first, then the ones forked, in
 *                           order); {@code stats} is their total. Empty on the host.
 * @param pressure           the emulated machine's commitment and OOM kills (null on the host)
 */
public record Report(Program program, RunOptions options, long wallNanos, MmStats stats, long tablePagesPeak,
                     long tablePages, long dataFramesPeak, long dataFrames, long rssPeak, long rss, long statements,
                     long[] statementSignals, long failedExpectations, List<String> failures,
                     List<FailureGroup> failureGroups, String error, String fatal, boolean interrupted, String host,
                     List<ProcessFigures> processes, Pressure pressure)
{
    /**
     * One process's counters in a run with fork: its name ({@code main}, {@code main.1} ...), faults,
     * zero-page COW breaks, COW breaks and reuses of pages fork shared, forks it made and the pages
     * they shared with its children.
     */
    public record ProcessFigures(String name, long faults, long zeroPageCow, long cowBreaks, long cowReuses, long forks,
                                 long forkSharedPages)
    {
        static ProcessFigures of(final String name, final MmStats stats)
        {
            return new ProcessFigures(name, stats.faults(), stats.zeroPageCow(), stats.cowBreaks(), stats.cowReuses(),
                stats.forks(), stats.forkSharedPages());
        }
    }

    /** A report of a run on the host kernel. */
    public Report(final Program program, final RunOptions options, final long wallNanos, final MmStats stats,
        final long tablePagesPeak, final long tablePages, final long dataFramesPeak, final long dataFrames,
        final long rssPeak, final long rss, final long statements, final long[] statementSignals,
        final long failedExpectations, final List<String> failures, final List<FailureGroup> failureGroups,
        final String error, final String fatal, final boolean interrupted, final String host)
    {
        this(program, options, wallNanos, stats, tablePagesPeak, tablePages, dataFramesPeak, dataFrames, rssPeak, rss,
            statements, statementSignals, failedExpectations, failures, failureGroups, error, fatal, interrupted, host,
            List.of(), null);
    }

    /**
     * The machine under memory pressure: its commitment, meminfo's way, in pages, and the OOM killer's kills.
     *
     * @param committed     Committed_AS at the end
     * @param committedPeak Committed_AS, highest value
     * @param limit         CommitLimit (what strict overcommit allows, before its reserves)
     * @param oomKills      processes the OOM killer killed (vmstat's oom_kill)
     * @param reclaim       meminfo's and vmstat's reclaim and swap figures
     * @param hugePages     the hugetlb pools at the end, meminfo's HugePages_* per page size (only sizes with a pool)
     */
    public record Pressure(long committed, long committedPeak, long limit, long oomKills, Reclaim reclaim,
        List<HugePages> hugePages)
    {
        /** meminfo's Hugetlb: every pool's pages, free or not, in bytes. */
        public long hugetlbBytes()
        {
            long bytes = 0;
            for (final HugePages pool : hugePages)
            {
                bytes += pool.total() * pool.pageSize();
            }
            return bytes;
        }
    }

    /**
     * One hugetlb pool as /proc/meminfo (and /sys/kernel/mm/hugepages/hugepages-SIZEkB) counts it.
     *
     * @param pageSize bytes of one page (Hugepagesize)
     * @param total    HugePages_Total
     * @param free     HugePages_Free
     * @param reserved HugePages_Rsvd: promised to mappings, not yet faulted
     * @param surplus  HugePages_Surp (the emulator never overcommits a pool: 0)
     */
    public record HugePages(long pageSize, long total, long free, long reserved, long surplus)
    {
        /** The pools of {@code memory} that have pages. */
        public static List<HugePages> of(final io.mmemu.phys.PhysicalMemory memory)
        {
            final List<HugePages> pools = new java.util.ArrayList<>(2);
            for (final int order : new int[] {io.mmemu.phys.PhysicalMemory.HUGE_ORDER, io.mmemu.phys.PhysicalMemory.GIGANTIC_ORDER})
            {
                final io.mmemu.phys.HugetlbPool pool = memory.hugetlbPool(order);
                if (pool.total() > 0)
                {
                    pools.add(new HugePages(pool.pageSize(), pool.total(), pool.free(), pool.reserved(), pool.surplus()));
                }
            }
            return List.copyOf(pools);
        }
    }

    /**
     * Reclaim and swap at the end of a run, meminfo's and vmstat's names: MemTotal, MemFree,
     * SwapTotal, SwapFree, Active(anon), Inactive(anon), Active(file), Inactive(file) (pages),
     * pswpin, pswpout, pgscan, pgsteal (and of it, pages fork shared that the rmap unmapped from
     * every process), pgmajfault, pgfault minus pgmajfault (minor), kswapd wake-ups and direct reclaims.
     */
    public record Reclaim(long memTotal, long memFree, long swapTotal, long swapFree, long activeAnon, long inactiveAnon,
                          long activeFile, long inactiveFile, long swapIns, long swapOuts, long scanned, long stolen,
                          long sharedStolen, long majorFaults, long minorFaults, long kswapdWakeups, long directReclaims)
    {
        /** The figures of {@code memory} and its {@code reclaimer}, with {@code faults} faults in all. */
        public static Reclaim of(final io.mmemu.phys.PhysicalMemory memory, final io.mmemu.vm.Reclaimer reclaimer,
            final long faults)
        {
            final io.mmemu.phys.SwapArea swap = memory.swap();
            final long major = reclaimer.majorFaults();
            final io.mmemu.phys.LruLists lru = memory.lru();
            return new Reclaim(memory.totalFrames(), memory.totalFrames() - memory.framesInUse(),
                swap == null ? 0 : swap.totalPages(), swap == null ? 0 : swap.freePages(),
                lru.size(io.mmemu.phys.LruLists.ACTIVE_ANON), lru.size(io.mmemu.phys.LruLists.INACTIVE_ANON),
                lru.size(io.mmemu.phys.LruLists.ACTIVE_FILE), lru.size(io.mmemu.phys.LruLists.INACTIVE_FILE),
                swap == null ? 0 : swap.swapIns(), swap == null ? 0 : swap.swapOuts(), reclaimer.scanned(),
                reclaimer.stolen(), reclaimer.sharedStolen(), major, Math.max(0, faults - major), reclaimer.kswapdWakeups(),
                reclaimer.directReclaims());
        }
    }

    private static final long PAGE_SIZE = 4096;
    /** The emulator's own figures in a host report's table. */
    private static final String NOT_ON_HOST = "n/a on the host";
    /** Closing a generator leaves the stream open: it may be standard output. */
    private static final JsonFactory JSON = JsonFactory.builder().disable(StreamWriteFeature.AUTO_CLOSE_TARGET).build();

    /** The exit status: 0 when every expectation held and nothing stopped the run, else 1. */
    public int exitStatus()
    {
        return failedExpectations == 0 && error == null && fatal == null && !interrupted ? 0 : 1;
    }

    public double faultsPerSecond()
    {
        return wallNanos == 0 ? 0 : stats.faults() * 1e9 / wallNanos;
    }

    public static String backingName(final Backing backing)
    {
        return backing == Backing.FULL ? "full" : "tables-only";
    }

    /** The table for people. */
    public void print(final PrintStream out)
    {
        final Histogram latency = stats.faultLatency();
        if (host == null)
        {
            out.printf("%s: %s, %s %s memory, section %s, seed %d%s%s%n", program.name(), options.locking().cliName(),
                Quantities.bytes(options.physicalMemory()), backingName(options.backing()),
                Quantities.bytes(options.section()), options.seed(),
                options.kernel().paging() == PagingMode.FIVE_LEVEL ? ", 5-level paging (LA57)" : "",
                interrupted ? " -- INTERRUPTED" : "");
        }
        else
        {
            out.printf("%s: host kernel %s, %s memory, seed %d%s%n", program.name(), host,
                Quantities.bytes(options.physicalMemory()), options.seed(), interrupted ? " -- INTERRUPTED" : "");
        }
        row(out, "wall time", Quantities.nanos(wallNanos));
        row(out, "faults", stats.faults() + "  (" + Quantities.count(faultsPerSecond()) + "/s; " +
            (stats.faults() - stats.segvMaperr() - stats.segvAccerr() - stats.sigbus()) + " served, " +
            stats.zeroPageCow() + " zero-page COW)");
        if (stats.forks() > 0)
        {
            row(out, "copy on write", stats.cowBreaks() + " COW breaks, " + stats.cowReuses() + " reused, " +
                stats.forkSharedPages() + " pages shared by " + stats.forks() + " forks");
            row(out, "processes", Integer.toString(processes.size()));
            for (final ProcessFigures p : processes)
            {
                out.printf("    %-18s faults %d  COW breaks %d  reused %d  zero-page COW %d  forks %d  pages shared %d%n",
                    p.name(), p.faults(), p.cowBreaks(), p.cowReuses(), p.zeroPageCow(), p.forks(), p.forkSharedPages());
            }
        }
        if (stats.thpFaultAlloc() + stats.thpFaultFallback() + stats.thpZeroPage() > 0)
        {
            row(out, "huge pages", stats.thpFaultAlloc() + " 2 MiB faults, " + stats.thpFaultFallback() + " fell back to 4 KiB, " +
                stats.thpZeroPage() + " huge zero page");
        }
        row(out, "SIGSEGV", stats.segvMaperr() + " SEGV_MAPERR, " + stats.segvAccerr() + " SEGV_ACCERR");
        row(out, "SIGBUS", Long.toString(stats.sigbus()));
        if (pressure != null)
        {
            row(out, "OOM kills", Long.toString(pressure.oomKills()));
        }
        row(out, "locked-VMA waits", host != null ? NOT_ON_HOST : stats.faultWaits() + " waits, " + stats.faultRetries() + " retries");
        row(out, "fault latency", "p50 " + Quantities.nanos(latency.getValueAtPercentile(50)) + "  p99 " +
            Quantities.nanos(latency.getValueAtPercentile(99)) + "  p99.9 " +
            Quantities.nanos(latency.getValueAtPercentile(99.9)) + "  max " + Quantities.nanos(latency.getMaxValue()));
        row(out, "lock hold max", host != null ? NOT_ON_HOST : "mmap write " + Quantities.nanos(stats.mmapWriteHold().getMaxValue()) +
            "  mmap read " + Quantities.nanos(stats.mmapReadHold().getMaxValue()) +
            "  VMA " + Quantities.nanos(stats.vmaLockHold().getMaxValue()) +
            "  PTE " + Quantities.nanos(stats.ptlHold().getMaxValue()));
        row(out, "page-table pages", "peak " + tablePagesPeak + " (" + Quantities.bytes(tablePagesPeak * PAGE_SIZE) +
            ")  end " + tablePages + " (" + Quantities.bytes(tablePages * PAGE_SIZE) + ")");
        row(out, "data frames", "peak " + dataFramesPeak + " (" + Quantities.bytes(dataFramesPeak * PAGE_SIZE) +
            ")  end " + dataFrames + " (" + Quantities.bytes(dataFrames * PAGE_SIZE) + ")");
        if (pressure != null)
        {
            row(out, "Committed_AS", "peak " + Quantities.bytes(pressure.committedPeak() * PAGE_SIZE) + "  end " +
                Quantities.bytes(pressure.committed() * PAGE_SIZE) + "  (CommitLimit " + Quantities.bytes(pressure.limit() * PAGE_SIZE) +
                ", overcommit " + options.overcommit() + ")");
            final Reclaim r = pressure.reclaim();
            row(out, "meminfo", "MemTotal " + Quantities.bytes(r.memTotal() * PAGE_SIZE) + "  MemFree " +
                Quantities.bytes(r.memFree() * PAGE_SIZE) + "  SwapTotal " + Quantities.bytes(r.swapTotal() * PAGE_SIZE) +
                "  SwapFree " + Quantities.bytes(r.swapFree() * PAGE_SIZE));
            row(out, "LRU", "Active(anon) " + Quantities.bytes(r.activeAnon() * PAGE_SIZE) + "  Inactive(anon) " +
                Quantities.bytes(r.inactiveAnon() * PAGE_SIZE) + "  Active(file) " + Quantities.bytes(r.activeFile() * PAGE_SIZE) +
                "  Inactive(file) " + Quantities.bytes(r.inactiveFile() * PAGE_SIZE));
            row(out, "major/minor faults", r.majorFaults() + " major, " + r.minorFaults() + " minor");
            row(out, "swap", r.swapIns() + " swap-ins, " + r.swapOuts() + " swap-outs");
            row(out, "reclaim", r.scanned() + " scanned, " + r.stolen() + " stolen (" + r.sharedStolen() + " shared), " + r.kswapdWakeups() +
                " kswapd wake-ups, " + r.directReclaims() + " direct reclaims, " + pressure.oomKills() + " OOM kills");
            for (final HugePages pool : pressure.hugePages())
            {
                row(out, "HugePages " + Quantities.bytes(pool.pageSize()), "total " + pool.total() + "  free " + pool.free() +
                    "  rsvd " + pool.reserved() + "  surp " + pool.surplus());
            }
            if (!pressure.hugePages().isEmpty())
            {
                row(out, "Hugetlb", pressure.hugetlbBytes() / 1024 + " kB");
            }
        }
        row(out, host != null ? "runner RSS" : "emulator RSS", rss < 0 ? "unknown" : "peak " + Quantities.bytes(rssPeak) + "  end " + Quantities.bytes(rss));
        row(out, "statements", statements + "  (signals: " + statementSignals[0] + " SEGV_MAPERR, " + statementSignals[1] +
            " SEGV_ACCERR, " + statementSignals[2] + " SI_KERNEL, " + statementSignals[3] + " SIGBUS)");
        row(out, "failed expectations", Long.toString(failedExpectations));
        for (final FailureGroup group : failureGroups.subList(0, Math.min(failureGroups.size(), Run.KEPT_FAILURES)))
        {
            out.println("  " + group.statement() + ": " + (group.count() == 1 ? group.first()
                : group.count() + " times at 0x" + Long.toHexString(group.firstAddress()) + " .. 0x"
                    + Long.toHexString(group.lastAddress()) + ", the first: " + group.first()));
        }
        if (failureGroups.size() > Run.KEPT_FAILURES)
        {
            out.println("  ... and " + (failureGroups.size() - Run.KEPT_FAILURES) + " more statements");
        }
        if (fatal != null)
        {
            row(out, "killed", fatal);
        }
        if (error != null)
        {
            row(out, "stopped", error);
        }
        out.flush();
    }

    private static void row(final PrintStream out, final String name, final String value)
    {
        out.printf("  %-20s %s%n", name, value);
    }

    /** The JSON report (UTF-8, one object, keys documented in docs/language.md). */
    public void writeJson(final OutputStream out) throws IOException
    {
        try (JsonGenerator json = json(out))
        {
            writeJson(json);
        }
    }

    /** A generator for JSON on {@code out} (left open), pretty-printed as the reports are. */
    static JsonGenerator json(final OutputStream out) throws IOException
    {
        return JSON.createGenerator(out, JsonEncoding.UTF8).useDefaultPrettyPrinter();
    }

    /** The report as one object on {@code json}. */
    void writeJson(final JsonGenerator json) throws IOException
    {
        json.writeStartObject();
        json.writeStringField("program", program.name());
        json.writeObjectFieldStart("options");
        json.writeNumberField("physmem", options.physicalMemory());
        json.writeStringField("backing", backingName(options.backing()));
        json.writeStringField("locking", host != null ? "host" : options.locking().cliName());
        json.writeNumberField("section", options.section());
        json.writeNumberField("seed", options.seed());
        if (options.durationNanos() == RunOptions.NO_DURATION)
        {
            json.writeNullField("duration_ns");
        }
        else
        {
            json.writeNumberField("duration_ns", options.durationNanos());
        }
        json.writeNumberField("threads", options.threads());
        if (host == null)
        {
            json.writeStringField("overcommit", options.overcommit().toString());
            json.writeNumberField("paging", options.kernel().paging());
            json.writeStringField("swap", options.swap().toString());
            json.writeStringField("hugetlb", options.hugetlb().toString());
        }
        else
        {
            json.writeNullField("overcommit");
            json.writeNullField("paging");
            json.writeNullField("swap");
            json.writeNullField("hugetlb");
        }
        json.writeObjectFieldStart("params");
        for (final Map.Entry<String, String> param : program.parameters().entrySet())
        {
            json.writeStringField(param.getKey(), param.getValue());
        }
        json.writeEndObject();
        json.writeEndObject();

        json.writeNumberField("wall_ns", wallNanos);
        json.writeObjectFieldStart("counters");
        json.writeNumberField("faults", stats.faults());
        json.writeNumberField("faults_per_s", Math.round(faultsPerSecond()));
        json.writeNumberField("fault_waits", stats.faultWaits());
        json.writeNumberField("fault_retries", stats.faultRetries());
        json.writeNumberField("sigsegv_maperr", stats.segvMaperr());
        json.writeNumberField("sigsegv_accerr", stats.segvAccerr());
        json.writeNumberField("sigbus", stats.sigbus());
        json.writeNumberField("zero_page_cow", stats.zeroPageCow());
        json.writeNumberField("cow_breaks", stats.cowBreaks());
        json.writeNumberField("cow_reuses", stats.cowReuses());
        json.writeNumberField("forks", stats.forks());
        json.writeNumberField("fork_shared_pages", stats.forkSharedPages());
        json.writeNumberField("thp_fault_alloc", stats.thpFaultAlloc());
        json.writeNumberField("thp_fault_fallback", stats.thpFaultFallback());
        json.writeNumberField("thp_zero_page", stats.thpZeroPage());
        if (pressure != null)
        {
            json.writeNumberField("oom_kill", pressure.oomKills());
        }
        else
        {
            json.writeNullField("oom_kill");
        }
        json.writeEndObject();
        json.writeArrayFieldStart("processes");
        for (final ProcessFigures p : processes)
        {
            json.writeStartObject();
            json.writeStringField("name", p.name());
            json.writeNumberField("faults", p.faults());
            json.writeNumberField("zero_page_cow", p.zeroPageCow());
            json.writeNumberField("cow_breaks", p.cowBreaks());
            json.writeNumberField("cow_reuses", p.cowReuses());
            json.writeNumberField("forks", p.forks());
            json.writeNumberField("fork_shared_pages", p.forkSharedPages());
            json.writeEndObject();
        }
        json.writeEndArray();

        json.writeObjectFieldStart("latency");
        histogram(json, "fault", stats.faultLatency());
        json.writeEndObject();
        json.writeObjectFieldStart("lock_hold");
        histogram(json, "mmap_write", stats.mmapWriteHold());
        histogram(json, "mmap_read", stats.mmapReadHold());
        histogram(json, "vma", stats.vmaLockHold());
        histogram(json, "pte", stats.ptlHold());
        json.writeEndObject();

        json.writeObjectFieldStart("memory");
        json.writeNumberField("page_table_pages", tablePages);
        json.writeNumberField("page_table_pages_peak", tablePagesPeak);
        json.writeNumberField("data_frames", dataFrames);
        json.writeNumberField("data_frames_peak", dataFramesPeak);
        json.writeNumberField("rss_bytes", rss);
        json.writeNumberField("rss_peak_bytes", rssPeak);
        if (pressure != null)
        {
            json.writeNumberField("committed_as_bytes", pressure.committed() * PAGE_SIZE);
            json.writeNumberField("committed_as_peak_bytes", pressure.committedPeak() * PAGE_SIZE);
            json.writeNumberField("commit_limit_bytes", pressure.limit() * PAGE_SIZE);
            final Reclaim r = pressure.reclaim();
            json.writeNumberField("mem_total_bytes", r.memTotal() * PAGE_SIZE);
            json.writeNumberField("mem_free_bytes", r.memFree() * PAGE_SIZE);
            json.writeNumberField("swap_total_bytes", r.swapTotal() * PAGE_SIZE);
            json.writeNumberField("swap_free_bytes", r.swapFree() * PAGE_SIZE);
            json.writeNumberField("active_anon_bytes", r.activeAnon() * PAGE_SIZE);
            json.writeNumberField("inactive_anon_bytes", r.inactiveAnon() * PAGE_SIZE);
            json.writeNumberField("active_file_bytes", r.activeFile() * PAGE_SIZE);
            json.writeNumberField("inactive_file_bytes", r.inactiveFile() * PAGE_SIZE);
            json.writeObjectFieldStart("reclaim");
            json.writeNumberField("swap_ins", r.swapIns());
            json.writeNumberField("swap_outs", r.swapOuts());
            json.writeNumberField("scanned", r.scanned());
            json.writeNumberField("stolen", r.stolen());
            json.writeNumberField("shared_stolen", r.sharedStolen());
            json.writeNumberField("major_faults", r.majorFaults());
            json.writeNumberField("minor_faults", r.minorFaults());
            json.writeNumberField("kswapd_wakeups", r.kswapdWakeups());
            json.writeNumberField("direct_reclaims", r.directReclaims());
            json.writeEndObject();
            json.writeNumberField("hugetlb_bytes", pressure.hugetlbBytes());
            json.writeArrayFieldStart("hugepages");
            for (final HugePages pool : pressure.hugePages())
            {
                json.writeStartObject();
                json.writeNumberField("page_size_bytes", pool.pageSize());
                json.writeNumberField("total", pool.total());
                json.writeNumberField("free", pool.free());
                json.writeNumberField("rsvd", pool.reserved());
                json.writeNumberField("surp", pool.surplus());
                json.writeEndObject();
            }
            json.writeEndArray();
        }
        else
        {
            json.writeNullField("committed_as_bytes");
            json.writeNullField("committed_as_peak_bytes");
            json.writeNullField("commit_limit_bytes");
            json.writeNullField("mem_total_bytes");
            json.writeNullField("mem_free_bytes");
            json.writeNullField("swap_total_bytes");
            json.writeNullField("swap_free_bytes");
            json.writeNullField("reclaim");
            json.writeNullField("hugetlb_bytes");
            json.writeNullField("hugepages");
        }
        json.writeEndObject();

        json.writeObjectFieldStart("statements");
        json.writeNumberField("executed", statements);
        json.writeNumberField("segv_maperr", statementSignals[0]);
        json.writeNumberField("segv_accerr", statementSignals[1]);
        json.writeNumberField("si_kernel", statementSignals[2]);
        json.writeNumberField("sigbus", statementSignals[3]);
        json.writeEndObject();

        json.writeNumberField("failed_expectations", failedExpectations);
        json.writeArrayFieldStart("failures");
        for (final String failure : failures)
        {
            json.writeString(failure);
        }
        json.writeEndArray();
        json.writeArrayFieldStart("failure_groups");
        for (final FailureGroup group : failureGroups)
        {
            json.writeStartObject();
            json.writeStringField("statement", group.statement());
            json.writeNumberField("count", group.count());
            json.writeStringField("first", group.first());
            json.writeStringField("first_address", "0x" + Long.toHexString(group.firstAddress()));
            json.writeStringField("last_address", "0x" + Long.toHexString(group.lastAddress()));
            json.writeEndObject();
        }
        json.writeEndArray();
        json.writeStringField("error", error);
        json.writeStringField("killed", fatal);
        json.writeBooleanField("interrupted", interrupted);
        json.writeEndObject();
    }

    private static void histogram(final JsonGenerator json, final String name, final Histogram histogram) throws IOException
    {
        json.writeObjectFieldStart(name);
        json.writeNumberField("count", histogram.getTotalCount());
        json.writeNumberField("p50_ns", histogram.getValueAtPercentile(50));
        json.writeNumberField("p99_ns", histogram.getValueAtPercentile(99));
        json.writeNumberField("p999_ns", histogram.getValueAtPercentile(99.9));
        json.writeNumberField("max_ns", histogram.getMaxValue());
        json.writeEndObject();
    }
}
