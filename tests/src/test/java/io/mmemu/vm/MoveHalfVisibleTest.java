package io.mmemu.vm;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

import io.mmemu.pgtable.HugePmd;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.BuddyAllocator;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An mremap move looks atomic to accesses that need no fault (check/found/mremap-move-half-visible.mm:
 * during a move, a thread wrote through an entry already at the destination and then read through
 * one not yet moved at the source, and both succeeded). The MMU walks tables without looking at
 * VMAs, so the move freezes every source entry (not present) and flushes before any entry moves,
 * and thaws the destination after the last. Made deterministic here: the move is parked between
 * page tables, block 0 moved and block 2 not; a racer writes block 0 at the destination and then
 * reads block 2 at the source. Both succeeding is what no order gives; with the freeze the write
 * waits for the move and the read then finds the source gone.
 * <p>
 * Layouts: whole PT pages moving themselves (aligned target), PTEs moving one by one (a target one
 * page off), THP leaves moving whole around a PT page (blocks 0 and 2 huge, block 1 not), and a
 * source of three VMAs (the block in the middle read-only), whose pieces move as one.
 */
final class MoveHalfVisibleTest
{
    private static final long PAGE = 4096;
    private static final long BLOCK = HugePmd.SIZE;
    private static final long SOURCE = 0x100000000000L;
    private static final long TARGET = 0x200000000000L;
    private static final long LENGTH = 3 * BLOCK;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS;

    enum Layout
    {
        PT_PAGES, PTES, THP, PIECES
    }

    @ParameterizedTest
    @CsvSource({
        "PER_VMA, PT_PAGES", "MMAP_LOCK, PT_PAGES",
        "PER_VMA, PTES", "MMAP_LOCK, PTES",
        "PER_VMA, THP", "MMAP_LOCK, THP",
        "PER_VMA, PIECES", "MMAP_LOCK, PIECES"})
    void noAccessSeesAMoveHalfDone(final LockingMode locking, final Layout layout) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final long baseline = memory.framesInUse();
            final AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION).thp(ThpMode.NEVER);
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            final long target = layout == Layout.PTES ? TARGET + PAGE : TARGET;
            try (Cpu setup = mm.attachCpu())
            {
                assertEquals(SOURCE, setup.mmap(SOURCE, LENGTH, RW, ANON | MAP_FIXED, -1, 0));
                // block 1 in 4 KiB pages first, then (THP) blocks 0 and 2 as huge leaves
                assertEquals(Signal.NONE, setup.writeByte(SOURCE + BLOCK + 8, 0x22));
                mm.thp(layout == Layout.THP ? ThpMode.ALWAYS : ThpMode.NEVER);
                assertEquals(Signal.NONE, setup.writeByte(SOURCE + 8, 0x11));
                assertEquals(Signal.NONE, setup.writeByte(SOURCE + 2 * BLOCK + 8, 0x44));
                if (layout == Layout.PIECES)
                {
                    // three VMAs: a move of several (Linux 6.17's remap_move) is one move too
                    assertEquals(0, setup.mprotect(SOURCE + BLOCK, BLOCK, PROT_READ));
                }
            }
            assertEquals(layout == Layout.THP, huge(memory, mm, SOURCE), "block 0's leaf");
            assertEquals(layout == Layout.THP, huge(memory, mm, SOURCE + 2 * BLOCK), "block 2's leaf");
            // park at the first page table where block 0's entry has left the source and block 2's has not
            final PageWalker probe = new PageWalker(memory, null);
            final ParkedWriter mremap = new ParkedWriter(mm, "mremap",
                () -> mm.tree().lookup(target) != null && !occupied(probe, mm, SOURCE + 8)
                    && occupied(probe, mm, SOURCE + 2 * BLOCK + 8),
                cpu -> cpu.mremap(SOURCE, LENGTH, LENGTH, MREMAP_MAYMOVE | MREMAP_FIXED, target), errors);
            assertTrue(mremap.thread.isAlive(), "the mremap never parked between block 0 and block 2");
            final int[] signals = {-1, -1};
            final boolean finishedWhileParked = mremap.race(mm, cpu ->
            {
                signals[0] = cpu.writeByte(target + 8, 0x33);
                signals[1] = cpu.readByte(SOURCE + 2 * BLOCK + 8);
            }, errors);
            assertTrue(errors.isEmpty(), () -> "failures: " + errors);
            assertEquals(target, mremap.result);
            assertFalse(signals[0] == Signal.NONE && signals[1] == Signal.NONE,
                "a write through a moved entry and then a read through one not yet moved both succeeded (finished while parked: "
                    + finishedWhileParked + ")");
            assertFalse(finishedWhileParked, "the racer's accesses went on while the move was half done");
            assertEquals(Signal.NONE, signals[0]);
            assertEquals(Signal.SEGV_MAPERR, signals[1]);
            try (Cpu after = mm.attachCpu())
            {
                assertEquals(Signal.NONE, after.readByte(target + 8));
                assertEquals(0x33, after.value());
                assertEquals(Signal.NONE, after.readByte(target + BLOCK + 8));
                assertEquals(0x22, after.value());
                assertEquals(Signal.NONE, after.readByte(target + 2 * BLOCK + 8));
                assertEquals(0x44, after.value());
                assertEquals(layout == Layout.THP, huge(memory, mm, target + 2 * BLOCK), "block 2 moved whole");
                assertEquals(0, after.munmap(target, LENGTH));
            }
            mm.check(true).assertOk();
            mm.close();
            assertEquals(baseline, memory.framesInUse());
        }
    }

    /**
     * A move that finds no frame for a destination table after some entries have moved (the target
     * one page off, three frames left: the first destination PT page and its tables, not the
     * second) fails with ENOMEM and leaves the source as it was: every entry back, present, with
     * its contents; nothing at the target; no frozen entry, no frame lost.
     */
    @ParameterizedTest
    @CsvSource({"PER_VMA", "MMAP_LOCK"})
    void aMoveOutOfTableFramesLeavesTheSourceAsItWas(final LockingMode locking) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(16L << 20))
        {
            final long baseline = memory.framesInUse();
            final AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION).thp(ThpMode.NEVER);
            try (Cpu setup = mm.attachCpu())
            {
                assertEquals(SOURCE, setup.mmap(SOURCE, LENGTH, RW, ANON | MAP_FIXED, -1, 0));
                for (int b = 0; b < 3; b++)
                {
                    assertEquals(Signal.NONE, setup.writeByte(SOURCE + b * BLOCK + 8, 0x11 * (b + 1)));
                }
            }
            final FrameCache hoard = memory.newCache();
            final List<Long> held = new ArrayList<>();
            for (long pfn; (pfn = memory.allocateTable(hoard, 1)) != BuddyAllocator.NO_FRAME; )
            {
                held.add(pfn);
            }
            for (int i = 0; i < 3; i++)
            {
                memory.freeTable(hoard, held.remove(held.size() - 1));
            }
            hoard.drain();
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(-Errno.ENOMEM, cpu.mremap(SOURCE, LENGTH, LENGTH, MREMAP_MAYMOVE | MREMAP_FIXED, TARGET + PAGE));
                for (int b = 0; b < 3; b++)
                {
                    assertEquals(Signal.NONE, cpu.readByte(SOURCE + b * BLOCK + 8), "block " + b);
                    assertEquals(0x11 * (b + 1), cpu.value(), "block " + b);
                    assertEquals(Signal.SEGV_MAPERR, cpu.readByte(TARGET + PAGE + b * BLOCK + 8), "block " + b + " at the target");
                }
                // no frozen entry left (the frames the hoard holds are not the tables' to count)
                mm.check(false).assertOk();
                for (final long pfn : held)
                {
                    memory.freeTable(hoard, pfn);
                }
                hoard.drain();
                assertEquals(0, cpu.munmap(SOURCE, LENGTH));
            }
            mm.check(true).assertOk();
            mm.close();
            assertEquals(baseline, memory.framesInUse());
        }
    }

    /** Whether a walk of {@code va} ends at a non-empty entry (present, or frozen by the move). */
    private static boolean occupied(final PageWalker walker, final AddressSpace mm, final long va)
    {
        final int status = walker.walk(mm.cr3(), va);
        return (status == PageWalker.WALK_PTE || status == PageWalker.WALK_LARGE) && walker.entry() != 0;
    }

    private static boolean huge(final PhysicalMemory memory, final AddressSpace mm, final long va)
    {
        return new PageWalker(memory, null).walk(mm.cr3(), va) == PageWalker.WALK_LARGE;
    }
}
