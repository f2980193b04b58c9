package io.mmemu.program;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import io.mmemu.vm.MmStats;
import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.concurrent.status.CountersManager;

/**
 * A run's counters, published while it runs in a {@link CountersFile} through Agrona's
 * {@link CountersManager}, so that another process can watch them ({@code mmemu stat}). Only the
 * run's sampler thread writes; each value is a release store, read with acquire on the other side.
 * The file is marked ENDED and deleted when the run ends.
 */
final class LiveCounters implements AutoCloseable
{
    /** The counters, in the order {@code mmemu stat} prints them; labels are their JSON report names. */
    static final String[] LABELS = {"elapsed_ms", "faults", "faults_per_s", "fault_waits", "fault_retries",
        "sigsegv_maperr", "sigsegv_accerr", "sigbus", "page_table_pages", "data_frames", "statements",
        "failed_expectations", "threads"};

    private final Path path;
    private final CountersFile file;
    private final AtomicCounter[] counters = new AtomicCounter[LABELS.length];
    private long lastFaults;
    private long lastNanos;

    private LiveCounters(final Path path, final CountersFile file)
    {
        this.path = path;
        this.file = file;
        final CountersManager manager = new CountersManager(file.metadata(), file.values());
        for (int i = 0; i < LABELS.length; i++)
        {
            counters[i] = manager.newCounter(LABELS[i]);
        }
        file.status(CountersFile.RUNNING);
    }

    static LiveCounters create(final Path path, final String programName) throws IOException
    {
        return new LiveCounters(path, CountersFile.create(path, programName));
    }

    void update(final long elapsedNanos, final MmStats stats, final long tablePages, final long dataFrames,
        final long statements, final long failedExpectations, final int threads)
    {
        final long interval = elapsedNanos - lastNanos;
        final long rate = interval <= 0 ? 0 : (stats.faults() - lastFaults) * 1_000_000_000L / interval;
        lastFaults = stats.faults();
        lastNanos = elapsedNanos;
        final long[] values = {elapsedNanos / 1_000_000, stats.faults(), rate, stats.faultWaits(), stats.faultRetries(),
            stats.segvMaperr(), stats.segvAccerr(), stats.sigbus(), tablePages, dataFrames, statements,
            failedExpectations, threads};
        for (int i = 0; i < values.length; i++)
        {
            counters[i].setRelease(values[i]);
        }
    }

    @Override
    public void close() throws IOException
    {
        file.status(CountersFile.ENDED);
        file.close();
        Files.deleteIfExists(path);
    }
}
