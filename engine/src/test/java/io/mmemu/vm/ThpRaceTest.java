package io.mmemu.vm;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.mmemu.pgtable.HugePmd;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.MADV_COLLAPSE;
import static io.mmemu.vm.Mman.MADV_DONTNEED;
import static io.mmemu.vm.Mman.MADV_HUGEPAGE;
import static io.mmemu.vm.Mman.MADV_NOHUGEPAGE;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MREMAP_FIXED;
import static io.mmemu.vm.Mman.MREMAP_MAYMOVE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults racing munmap, mprotect, MADV_DONTNEED, mremap and MADV_COLLAPSE over transparent huge pages: threads
 * write and read back their own word of random pages of a 32 MiB window (THP always) while another
 * thread remaps, re-protects, zaps, moves and collapses random ranges of it — 2 MiB-aligned or cutting
 * leaves — so leaves are installed, split, re-protected and zapped under the faulting threads. A
 * read after a write sees the word written, or zero when the page was zapped or replaced in
 * between, never another value; a signal is only one that some order of the calls explains
 * (SEGV_MAPERR, or SEGV_ACCERR on a write to a read-only range). After every round: the
 * invariant checker (frame accounting, each subpage's counts, the deposits, no Kasan report);
 * at the end every frame came back.
 */
final class ThpRaceTest
{
    private static final long BASE = 0x4000_0000L;
    private static final long WINDOW = 16 * HugePmd.SIZE;
    private static final long PAGES = WINDOW >>> 12;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    private static final int FAULTERS = 3;
    private static final int ROUNDS = 40;
    private static final int CHANGES_PER_ROUND = 40;
    /** The kinds of change: remap, protect, DONTNEED, advice, move away and back, protect read-write, collapse. */
    private static final int[] ALL_CHANGES = {0, 1, 2, 3, 4, 5, 6};

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void faultsRacingChangesOverHugePagesLeaveConsistentTablesAndLoseNoFrame(final LockingMode locking) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(256L << 20))
        {
            final long baseline = memory.framesInUse();
            final AtomicLong hugeFaults = new AtomicLong();
            try (AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION).thp(ThpMode.ALWAYS))
            {
                final Cpu main = mm.attachCpu();
                assertEquals(BASE, main.mmap(BASE, WINDOW, RW, ANON, -1, 0));
                final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
                for (int round = 0; round < ROUNDS && failures.isEmpty(); round++)
                {
                    final AtomicBoolean stop = new AtomicBoolean();
                    final List<Thread> threads = new ArrayList<>();
                    for (int t = 0; t < FAULTERS; t++)
                    {
                        final int id = t;
                        final long seed = round * 31L + t;
                        threads.add(new Thread(() -> fault(mm, id, seed, stop, failures, hugeFaults)));
                    }
                    final long changeSeed = round;
                    threads.add(new Thread(() ->
                    {
                        try (Cpu cpu = mm.attachCpu())
                        {
                            change(cpu, new SplittableRandom(changeSeed), ALL_CHANGES,
                                failures);
                        }
                        finally
                        {
                            stop.set(true);
                        }
                    }));
                    threads.forEach(Thread::start);
                    for (final Thread thread : threads)
                    {
                        thread.join();
                    }
                    main.offline();
                    mm.check(true).assertOk();
                }
                assertTrue(failures.isEmpty(), () -> String.join("\n", failures));
                assertTrue(hugeFaults.get() > 0, "no fault made a huge page: the test did not exercise THP");
                assertEquals(0, main.munmap(BASE - HugePmd.SIZE, WINDOW + 2 * HugePmd.SIZE));
                mm.check(true).assertOk();
                main.close();
            }
            assertEquals(baseline, memory.framesInUse() - memory.hugeZeroPageFrames(), "every frame came back");
        }
    }

    /** Writes a word (the thread's own offset in the page) and reads it back, at random pages, until stopped. */
    private static void fault(final AddressSpace mm, final int id, final long seed, final AtomicBoolean stop,
        final ConcurrentLinkedQueue<String> failures, final AtomicLong hugeFaults)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        try (Cpu cpu = mm.attachCpu())
        {
            long n = 0;
            while (!stop.get() && failures.size() < 10)
            {
                final long va = BASE + random.nextLong(PAGES) * 4096 + id * 8L;
                final long word = ((long)(id + 1) << 48) | ++n;
                final int wrote = cpu.writeLong(va, word);
                if (wrote == Signal.SEGV_MAPERR || wrote == Signal.SEGV_ACCERR)
                {
                    continue;
                }
                if (wrote != Signal.NONE)
                {
                    failures.add("write at 0x" + Long.toHexString(va) + ": signal " + wrote);
                    continue;
                }
                final int read = cpu.readLong(va);
                if (read == Signal.SEGV_MAPERR)
                {
                    continue;
                }
                if (read != Signal.NONE)
                {
                    failures.add("read at 0x" + Long.toHexString(va) + ": signal " + read);
                }
                else if (cpu.value() != word && cpu.value() != 0)
                {
                    failures.add(String.format("read 0x%x at 0x%x after writing 0x%x", cpu.value(), va, word));
                }
            }
            hugeFaults.addAndGet(cpu.stats.thpFaultAlloc);
        }
    }

    /** Random changes over the window: remaps, protections, zaps, advice, moves; aligned or cutting leaves. */
    private static void change(final Cpu cpu, final SplittableRandom random, final int[] kinds,
        final ConcurrentLinkedQueue<String> failures)
    {
        for (int i = 0; i < CHANGES_PER_ROUND; i++)
        {
            final boolean aligned = random.nextBoolean();
            final long unit = aligned ? HugePmd.SIZE : 4096;
            final long units = WINDOW / unit;
            final long start = BASE + random.nextLong(units) * unit;
            final long length = Math.min(BASE + WINDOW - start, (1 + random.nextLong(aligned ? 3 : 1024)) * unit);
            final long r = switch (kinds[random.nextInt(kinds.length)])
            {
                case 0 -> cpu.munmap(start, length) == 0 && cpu.mmap(start, length, RW, ANON, -1, 0) == start ? 0 : -1;
                case 1 -> cpu.mprotect(start, length, random.nextBoolean() ? PROT_READ : RW);
                case 2 -> cpu.madvise(start, length, MADV_DONTNEED);
                case 3 -> cpu.madvise(start, length, random.nextBoolean() ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
                case 4 ->
                {
                    // move the range just below the window and back: the pages travel, split
                    final long away = BASE - HugePmd.SIZE - WINDOW;
                    final long moved = cpu.mremap(start, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, away);
                    yield moved == away && cpu.mremap(away, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, start) == start ? 0 : -1;
                }
                case 5 -> cpu.mprotect(start, length, RW);
                default ->
                {
                    // MADV_COLLAPSE: a block with nothing writable refuses, no free order-9 block fails, as on Linux
                    final long collapsed = cpu.madvise(start, length, MADV_COLLAPSE);
                    yield collapsed == -Errno.EINVAL || collapsed == -Errno.ENOMEM ? 0 : collapsed;
                }
            };
            if (r != 0)
            {
                failures.add("change " + i + " at 0x" + Long.toHexString(start) + "+0x" + Long.toHexString(length) + " failed: " + r);
            }
        }
    }
}
