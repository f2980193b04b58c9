package io.mmemu.vm;

import java.util.concurrent.ConcurrentLinkedQueue;

import io.mmemu.phys.PhysicalMemory;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A writer that publishes more than one tree (mremap unmaps its shrunk tail, then moves the rest)
 * must look atomic to per-VMA faults: a fault that finds a hole inside a writer's span waits for
 * it (RangeLock.settled), as Linux's lookup falls back to mmap_read_lock. Found by the
 * linearizability checker's soak: a populate saw mremap's tail gone while another thread still
 * wrote through the old head. Made deterministic here: the mremap is parked in its tail's zap
 * (the tail already out of the tree, the head not yet moved), a racer touches the tail and then
 * the head.
 */
final class IntermediateTreeTest
{
    private static final long PAGE = 4096;
    private static final long SOURCE = 0x100000000000L;
    private static final long TARGET = 0x200000000000L;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS;

    @Test
    void aFaultNeverSeesAShrinkingMremapHalfDone() throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final long baseline = memory.framesInUse();
            final AddressSpace mm = AddressSpace.create(memory, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION);
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            // the tail's last page is never touched: a racer's access there faults (a present entry
            // would be used by the walk, which orders that access before the mremap, as on hardware)
            final long length = 4L << 20;
            try (Cpu setup = mm.attachCpu())
            {
                assertEquals(SOURCE, setup.mmap(SOURCE, length, RW, ANON | MAP_FIXED, -1, 0));
                assertEquals(Signal.NONE, setup.writeByte(SOURCE, 0x11));
            }
            // park once the tail has left the tree (its zap), not in the empty target's
            final ParkedWriter mremap = new ParkedWriter(mm, "mremap", () -> mm.tree().lookup(SOURCE + length - PAGE) == null,
                cpu -> cpu.mremap(SOURCE, length, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, TARGET), errors);
            final int[] signals = {-1, -1};
            // the racer either finishes (a half-done mremap was visible) or blocks on the mremap
            final boolean finishedWhileParked = mremap.race(mm, cpu ->
            {
                signals[0] = cpu.readByte(SOURCE + length - PAGE);
                signals[1] = cpu.readByte(SOURCE);
            }, errors);
            assertTrue(errors.isEmpty(), () -> "failures: " + errors);
            assertEquals(TARGET, mremap.result);
            // the tail gone but the head still there: no order of the mremap and the two reads gives it
            assertTrue(!(signals[0] == Signal.SEGV_MAPERR && signals[1] == Signal.NONE),
                "the racer saw the tail unmapped and then read the head in place (finished while the mremap was parked: "
                    + finishedWhileParked + ")");
            assertEquals(Signal.SEGV_MAPERR, signals[0]);
            try (Cpu after = mm.attachCpu())
            {
                assertEquals(Signal.NONE, after.readByte(TARGET));
                assertEquals(0x11, after.value());
                assertEquals(0, after.munmap(TARGET, PAGE));
            }
            mm.check(true).assertOk();
            mm.close();
            assertEquals(baseline, memory.framesInUse());
        }
    }

    /**
     * A moving mremap keeps its source locked while the entries are in flight (the soak's
     * per-VMA violation: the source stayed unlocked, a write there after its entry had moved
     * filled a fresh page that the unmap then dropped, and a later read saw 0). Parked after the
     * first page has moved, a racer's write to that page must wait and then find the range
     * unmapped (SIGSEGV), or, with MREMAP_DONTUNMAP, empty (a fresh page) — and the moved
     * contents arrive intact either way.
     */
    @ParameterizedTest
    @ValueSource(ints = {0, MREMAP_DONTUNMAP})
    void aFaultWaitsForTheSourceOfAMoveInFlight(final int dontUnmap) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final long baseline = memory.framesInUse();
            final AddressSpace mm = AddressSpace.create(memory, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION);
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            final long length = 4L << 20;
            final long second = SOURCE + (2L << 20);
            try (Cpu setup = mm.attachCpu())
            {
                assertEquals(SOURCE, setup.mmap(SOURCE, length, RW, ANON | MAP_FIXED, -1, 0));
                assertEquals(Signal.NONE, setup.writeByte(SOURCE, 0x11));
                assertEquals(Signal.NONE, setup.writeByte(second, 0x22));
            }
            // the move's second boundary: the entry of SOURCE has moved, the one of `second` not yet
            final AtomicInteger boundaries = new AtomicInteger();
            final ParkedWriter mremap = new ParkedWriter(mm, "mremap",
                () -> mm.tree().lookup(TARGET) != null && boundaries.incrementAndGet() == 2,
                cpu -> cpu.mremap(SOURCE, length, length, MREMAP_MAYMOVE | MREMAP_FIXED | dontUnmap, TARGET), errors);
            final int[] signals = {-1, -1};
            final long[] read = {-1};
            final boolean finishedWhileParked = mremap.race(mm, cpu ->
            {
                signals[0] = cpu.writeByte(SOURCE, 0x33);
                signals[1] = cpu.readByte(SOURCE);
                read[0] = cpu.value();
            }, errors);
            assertTrue(errors.isEmpty(), () -> "failures: " + errors);
            assertEquals(TARGET, mremap.result);
            if (dontUnmap == 0)
            {
                assertEquals(Signal.SEGV_MAPERR, signals[0],
                    "a write to a moving mremap's source succeeded (finished while parked: " + finishedWhileParked + ")");
            }
            else
            {
                assertEquals(Signal.NONE, signals[0]);
                assertEquals(Signal.NONE, signals[1]);
                assertEquals(0x33, read[0]);
            }
            assertTrue(!finishedWhileParked, "the racer's access went on while the source was moving");
            try (Cpu after = mm.attachCpu())
            {
                assertEquals(Signal.NONE, after.readByte(TARGET));
                assertEquals(0x11, after.value());
                assertEquals(Signal.NONE, after.readByte(TARGET + (2L << 20)));
                assertEquals(0x22, after.value());
                assertEquals(0, after.munmap(TARGET, length));
                assertEquals(0, after.munmap(SOURCE, length));
            }
            mm.check(true).assertOk();
            mm.close();
            assertEquals(baseline, memory.framesInUse());
        }
    }

    /**
     * An edit next to a MAP_FIXED replacement in flight merges as it would after it (found by the
     * checker's soak: an mmap beside a replacement's born-locked VMA stayed a VMA of its own, a
     * layout no order gives, seen as mremap's EFAULT for a range over both). Parked in the
     * replacement's zap, the new VMA is in the tree, locked; a racer maps the range just above it
     * with the same flags. In every order the two become one VMA.
     */
    @ParameterizedTest
    @ValueSource(strings = {"per-vma", "mmap-lock"})
    void anEditNextToAReplacementInFlightMergesWithIt(final String locking) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final long baseline = memory.framesInUse();
            final AddressSpace mm = AddressSpace.create(memory, LockingMode.fromCliName(locking), AddressSpace.DEFAULT_SECTION);
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            final long length = 4 * PAGE;
            try (Cpu setup = mm.attachCpu())
            {
                assertEquals(SOURCE, setup.mmap(SOURCE, length, RW, ANON | MAP_FIXED, -1, 0));
                for (long va = SOURCE; va < SOURCE + length; va += PAGE)
                {
                    assertEquals(Signal.NONE, setup.writeByte(va, 0x11));
                }
            }
            // parked in the zap of the pages it replaces: its new VMA published and locked
            final ParkedWriter replacement = new ParkedWriter(mm, "mmap-fixed", () -> true,
                cpu -> cpu.mmap(SOURCE, length, RW, ANON | MAP_FIXED, -1, 0), errors);
            final long[] mapped = {-1};
            replacement.race(mm, cpu -> mapped[0] = cpu.mmap(SOURCE + length, length, RW, ANON | MAP_FIXED, -1, 0), errors);
            assertTrue(errors.isEmpty(), () -> "failures: " + errors);
            assertEquals(SOURCE, replacement.result);
            assertEquals(SOURCE + length, mapped[0]);
            final java.util.List<VmaInfo> vmas = mm.vmas();
            assertEquals(1, vmas.size(), () -> "one VMA in every order, not " + vmas);
            assertEquals(SOURCE, vmas.get(0).start());
            assertEquals(SOURCE + 2 * length, vmas.get(0).end());
            mm.check(true).assertOk();
            mm.close();
            assertEquals(baseline, memory.framesInUse());
        }
    }
}
