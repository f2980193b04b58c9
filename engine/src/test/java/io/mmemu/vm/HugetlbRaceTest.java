package io.mmemu.vm;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

import io.mmemu.phys.HugetlbPool;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.MADV_DONTNEED;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_HUGETLB;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MAP_SHARED;
import static io.mmemu.vm.Mman.MREMAP_FIXED;
import static io.mmemu.vm.Mman.MREMAP_MAYMOVE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * hugetlb faults racing munmap, MAP_FIXED, mprotect, MADV_DONTNEED and mremap: threads write and
 * read back their own word of random pages of a window of 2 MiB hugetlb pages while another thread
 * unmaps and remaps (private or shared), maps over with MAP_FIXED, re-protects, zaps, punches
 * holes in (MADV_REMOVE) and moves random ranges of it — aligned ones, and ranges that cut a huge page, which must fail with
 * EINVAL and change nothing. A read after a write sees the word written, or zero when the page
 * was zapped or replaced in between, never another value; a signal is only one some order of the
 * calls explains (SEGV_MAPERR, SEGV_ACCERR on a write to a read-only range; never SIGBUS: the pool
 * has room for every reservation and refault). After every round: the invariant checker (frame
 * accounting with the pool's free pages, each subpage's counts, no Kasan report); at the end every
 * page is back in the pool, with nothing reserved, and every frame came back.
 */
final class HugetlbRaceTest
{
    private static final long M2 = 2L << 20;
    private static final long BASE = 0x4000_0000L;
    private static final long HUGE_PAGES = 12;
    private static final long WINDOW = HUGE_PAGES * M2;
    private static final long PAGES = WINDOW >>> 12;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int PRIVATE = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED;
    private static final int SHARED = MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED;
    private static final int FAULTERS = 3;
    private static final int ROUNDS = 24;
    private static final int CHANGES_PER_ROUND = 40;

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void faultsRacingUnmapsAndReplacementsOfHugetlbPagesLoseNothing(final LockingMode locking) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(256L << 20))
        {
            final HugetlbPool pool = memory.hugetlbPool(PhysicalMemory.HUGE_ORDER);
            assertEquals(4 * HUGE_PAGES, pool.resize(4 * HUGE_PAGES));
            final long baseline = memory.framesInUse();
            try (AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION))
            {
                final Cpu main = mm.attachCpu();
                assertEquals(BASE, main.mmap(BASE, WINDOW, RW, PRIVATE, -1, 0));
                final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
                long faults = 0;
                for (int round = 0; round < ROUNDS && failures.isEmpty(); round++)
                {
                    final AtomicBoolean stop = new AtomicBoolean();
                    final List<Thread> threads = new ArrayList<>();
                    final long[] served = new long[FAULTERS];
                    for (int t = 0; t < FAULTERS; t++)
                    {
                        final int id = t;
                        final long seed = round * 31L + t;
                        threads.add(new Thread(() -> served[id] = fault(mm, id, seed, stop, failures)));
                    }
                    final long changeSeed = round;
                    threads.add(new Thread(() ->
                    {
                        try (Cpu cpu = mm.attachCpu())
                        {
                            change(cpu, new SplittableRandom(changeSeed), failures);
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
                    for (final long n : served)
                    {
                        faults += n;
                    }
                    main.offline();
                    mm.check(true).assertOk();
                }
                assertTrue(failures.isEmpty(), () -> String.join("\n", failures));
                assertTrue(faults > 0, "no write reached a hugetlb page: the test exercised nothing");
                assertEquals(0, main.munmap(BASE - WINDOW - M2, 2 * WINDOW + 2 * M2));
                mm.check(true).assertOk();
                main.close();
            }
            assertEquals(pool.total(), pool.free(), "every huge page back in the pool");
            assertEquals(0, pool.reserved(), "no reservation left behind");
            assertEquals(baseline, memory.framesInUse(), "every frame came back");
        }
    }

    /** Writes a word (the thread's own offset in the page) and reads it back at random pages until stopped; the writes done. */
    private static long fault(final AddressSpace mm, final int id, final long seed, final AtomicBoolean stop,
        final ConcurrentLinkedQueue<String> failures)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        long written = 0;
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
                written++;
                final int read = cpu.readLong(va);
                if (read == Signal.SEGV_MAPERR || read == Signal.SEGV_ACCERR)
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
        }
        return written;
    }

    /** Random changes over the window, aligned to huge pages or cutting them (EINVAL). */
    private static void change(final Cpu cpu, final SplittableRandom random, final ConcurrentLinkedQueue<String> failures)
    {
        for (int i = 0; i < CHANGES_PER_ROUND; i++)
        {
            final boolean aligned = random.nextInt(4) != 0;
            final long start = BASE + random.nextLong(HUGE_PAGES) * M2 + (aligned ? 0 : 4096 * (1 + random.nextLong(511)));
            final long length = Math.min(BASE + WINDOW - start, (1 + random.nextLong(3)) * M2);
            final int kind = random.nextInt(7);
            final long r = switch (kind)
            {
                case 0 -> cpu.munmap(start, length) == 0 && cpu.mmap(start, length, RW, random.nextBoolean() ? PRIVATE : SHARED,
                    -1, 0) == start ? 0 : -Errno.EINVAL;
                case 1 -> cpu.mmap(start, length, RW, random.nextBoolean() ? PRIVATE : SHARED, -1, 0) == start ? 0 : -Errno.EINVAL;
                case 2 -> cpu.mprotect(start, length, random.nextBoolean() ? PROT_READ : RW);
                case 3 -> cpu.madvise(start, length, MADV_DONTNEED);
                case 4 ->
                {
                    // move the range below the window and back: the leaves travel whole
                    final long away = BASE - WINDOW - M2;
                    final long moved = cpu.mremap(start, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, away);
                    if (moved != away)
                    {
                        yield moved;
                    }
                    yield cpu.mremap(away, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, start) == start ? 0 : -1;
                }
                case 5 -> cpu.mprotect(start, length, RW);
                // a hole punch: whole pages of a shared mapping (its ends rounded inwards); a private one refuses
                default -> cpu.madvise(start, length, Mman.MADV_REMOVE);
            };
            if (kind == 6)
            {
                if (r != 0 && r != -Errno.EACCES)
                {
                    failures.add("MADV_REMOVE at 0x" + Long.toHexString(start) + "+0x" + Long.toHexString(length) + " returned " + r);
                }
                continue;
            }
            // a misaligned range is EINVAL (DONTNEED's misaligned start too), but an mprotect that
            // changes no flag splits nothing and succeeds, as Linux's
            final long expected = aligned ? 0 : -Errno.EINVAL;
            final boolean protectUnchanged = !aligned && (kind == 2 || kind == 5) && r == 0;
            if (r != expected && !protectUnchanged)
            {
                failures.add("change " + kind + " at 0x" + Long.toHexString(start) + "+0x" + Long.toHexString(length) +
                    " returned " + r + ", expected " + expected);
            }
        }
    }
}
