package io.mmemu.pgtable;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.mmemu.phys.Backing;
import io.mmemu.phys.FrameCache;
import io.mmemu.phys.PhysicalMemory;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static io.mmemu.pgtable.Machine.ADDRESS_BITS;
import static io.mmemu.pgtable.Machine.DIRTY_RW;
import static io.mmemu.pgtable.Machine.TABLE_BITS;
import static io.mmemu.pgtable.PageWalker.NO_TRANSLATION;
import static io.mmemu.pgtable.PageWalker.WALK_BAD_ENTRY;
import static io.mmemu.pgtable.PageWalker.WALK_HOLE;
import static io.mmemu.pgtable.PageWalker.WALK_LARGE;
import static io.mmemu.pgtable.PageWalker.WALK_PTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The four-level walk at every level's first and last entry, large leaves and corrupt entries
 * written by hand, and concurrent table installation.
 */
final class PageWalkerTest
{
    private static final long MIB = 1L << 20;

    @ParameterizedTest(name = "va {0}")
    @CsvSource({
        // va,               pgd, pud, pmd, pte
        "0,                  0,   0,   0,   0",
        "fff,                0,   0,   0,   0",
        "1fffff,             0,   0,   0,   511",
        "200000,             0,   0,   1,   0",
        "3fffffff,           0,   0,   511, 511",
        "40000000,           0,   1,   0,   0",
        "7fffffffff,         0,   511, 511, 511",
        "8000000000,         1,   0,   0,   0",
        "7ffffffff000,       255, 511, 511, 511",
        "7fffffffffff,       255, 511, 511, 511",
        "ffff800000000000,   256, 0,   0,   0",
        "fffffffffffff000,   511, 511, 511, 511",
    })
    void walkAllocInstallsOneTablePerLevelAtTheRightSlots(final String hex, final int pgd, final int pud,
        final int pmd, final int pte)
    {
        final long va = Long.parseUnsignedLong(hex, 16);
        try (Machine m = Machine.full(16 * MIB))
        {
            final PageWalker walker = m.editor.walker();
            assertEquals(WALK_HOLE, walker.walk(m.cr3, va));
            assertEquals(4, walker.level());
            assertEquals(m.cr3 + pgd * 8L, walker.slot());

            assertEquals(WALK_PTE, walker.walkAlloc(m.cr3, va));

            // follow the tables by hand: each upper entry is _PAGE_TABLE and the only one in its table
            final long pdpt = followTable(m, m.cr3, pgd, 3);
            final long pd = followTable(m, pdpt, pud, 2);
            final long pt = followTable(m, pd, pmd, 1);
            assertEquals(1, walker.level());
            assertEquals(pt + pte * 8L, walker.slot());
            assertEquals(pt >>> 12, walker.tablePfn());
            assertEquals(0L, walker.entry());
            assertEquals(m.baseline + 3, m.memory.framesInUse());

            // a second walk, with and without allocation, lands on the same slot and allocates nothing
            assertEquals(WALK_PTE, walker.walk(m.cr3, va));
            assertEquals(pt + pte * 8L, walker.slot());
            assertEquals(WALK_PTE, walker.walkAlloc(m.cr3, va));
            assertEquals(pt + pte * 8L, walker.slot());
            assertEquals(m.baseline + 3, m.memory.framesInUse());
            assertEquals(4, m.check().tables());
        }
    }

    @ParameterizedTest(name = "va {0}")
    @CsvSource({"0", "1000", "1fffff", "3fffffff", "7fffffffff", "8000000000", "7ffffffff000", "7fffffffffff"})
    void translateKeepsTheOffsetWithinThePage(final String hex)
    {
        final long va = Long.parseUnsignedLong(hex, 16);
        final long page = va & ~0xFFFL;
        try (Machine m = Machine.full(16 * MIB))
        {
            final PageWalker walker = m.editor.walker();
            assertEquals(NO_TRANSLATION, walker.translate(m.cr3, va));
            m.populate(page, page + 0x1000);

            assertEquals(WALK_PTE, walker.walk(m.cr3, va));
            final long e = m.entry(walker.slot());
            assertEquals(DIRTY_RW, e & ~ADDRESS_BITS, "leaf flags as populated");
            final long frame = e & ADDRESS_BITS;
            assertTrue(frame != 0 && frame < m.memory.backedFrames() << 12, "frame inside memory");

            assertEquals(frame, walker.translate(m.cr3, page));
            assertEquals(frame | 0x123, walker.translate(m.cr3, page | 0x123));
            assertEquals(frame | 0xFFF, walker.translate(m.cr3, page | 0xFFF));
            assertEquals(frame | (va & 0xFFF), walker.translate(m.cr3, va));
        }
    }

    @Test
    void neighbouringPagesTranslateToTheirOwnFrames()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            final PageWalker walker = m.editor.walker();
            m.populate(0x1FF000L, 0x201000L);    // the last page of PT 0 and the first of PT 1
            final long a = walker.translate(m.cr3, 0x1FF000L);
            final long b = walker.translate(m.cr3, 0x200000L);
            assertTrue(a != NO_TRANSLATION && b != NO_TRANSLATION);
            assertTrue(a != b, "two pages, two frames");
            assertEquals(a | 0xFFF, walker.translate(m.cr3, 0x1FFFFFL));
            assertEquals(b | 0x001, walker.translate(m.cr3, 0x200001L));
            // the pages on either side are not mapped, though their tables exist
            assertEquals(NO_TRANSLATION, walker.translate(m.cr3, 0x1FE000L));
            assertEquals(NO_TRANSLATION, walker.translate(m.cr3, 0x201000L));
        }
    }

    @Test
    void boundaryAddressesShareExactlyTheTablesTheirIndexesShare()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            final PageWalker walker = m.editor.walker();
            final long[] vas = {0L, 0x7F_FFFF_FFFFL, 0x80_0000_0000L, 0x7FFF_FFFF_F000L, 0x7FFF_FFFF_FFFFL};
            for (final long va : vas)
            {
                assertEquals(WALK_PTE, walker.walkAlloc(m.cr3, va));
            }
            // PDPTs under PML4 0, 1, 255; PDs under [0][0], [0][511], [1][0], [255][511]; one PT each
            assertEquals(1 + 3 + 4 + 4, m.check().tables());
            assertEquals(m.baseline + 11, m.memory.framesInUse());
            // 0x7ffffffff000 and 0x7fffffffffff are one slot
            walker.walk(m.cr3, 0x7FFF_FFFF_F000L);
            final long slot = walker.slot();
            walker.walk(m.cr3, 0x7FFF_FFFF_FFFFL);
            assertEquals(slot, walker.slot());
        }
    }

    @Test
    void holesAreReportedAtTheLevelOfTheEmptyEntry()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            final PageWalker walker = m.editor.walker();
            // PML4 0, PDPT 1, PD 3, PT 3: 0x4000_0000 + 3 * 0x20_0000 + 3 * 0x1000
            final long va = 0x4060_3000L;

            assertEquals(WALK_HOLE, walker.walk(m.cr3, va));
            assertEquals(4, walker.level());
            assertEquals(m.cr3, walker.slot());

            final long pdpt = m.newTable(3);
            m.setEntry(m.cr3, pdpt | TABLE_BITS);
            assertEquals(WALK_HOLE, walker.walk(m.cr3, va));
            assertEquals(3, walker.level());
            assertEquals(pdpt + 8, walker.slot());
            assertEquals(pdpt >>> 12, walker.tablePfn());

            final long pd = m.newTable(2);
            m.setEntry(pdpt + 8, pd | TABLE_BITS);
            assertEquals(WALK_HOLE, walker.walk(m.cr3, va));
            assertEquals(2, walker.level());
            assertEquals(pd + 3 * 8, walker.slot());

            final long pt = m.newTable(1);
            m.setEntry(pd + 3 * 8, pt | TABLE_BITS);
            assertEquals(WALK_PTE, walker.walk(m.cr3, va));
            assertEquals(1, walker.level());
            assertEquals(pt + 3 * 8, walker.slot());
            assertEquals(0L, walker.entry());
            assertEquals(NO_TRANSLATION, walker.translate(m.cr3, va));

            // a PROT_NONE leaf (G, P clear) keeps its frame but does not translate
            m.setEntry(pt + 3 * 8, 0x0000_0000_0012_3160L);
            assertEquals(WALK_PTE, walker.walk(m.cr3, va));
            assertEquals(0x0000_0000_0012_3160L, walker.entry());
            assertEquals(NO_TRANSLATION, walker.translate(m.cr3, va));
            // made present by hand, it translates to the frame it kept
            m.setEntry(pt + 3 * 8, 0x0000_0000_0012_3061L);
            assertEquals(0x0012_3ABCL, walker.translate(m.cr3, va + 0xABC));
        }
    }

    @Test
    void largeLeavesWrittenByHandStopTheWalkAndTranslate()
    {
        // 4 GiB of PFN space so that the hand-written 1 GiB leaf at 3 GiB lies inside physical memory
        try (Machine m = new Machine(PhysicalMemory.create(4L << 30, Backing.TABLES_ONLY)))
        {
            final PageWalker walker = m.editor.walker();
            final long pdpt = m.newTable(3);
            final long pd = m.newTable(2);
            m.setEntry(m.cr3, pdpt | TABLE_BITS);
            m.setEntry(pdpt, pd | TABLE_BITS);
            // PDPT[1] (va 1 GiB..2 GiB): 1 GiB leaf at PA 0xC000_0000 with P|RW|PS|PAT|NX:
            // 0xC000_0000 | 0x1000 (PAT) | 0x080 (PS) | 0x003 | bit 63
            final long gigLeaf = 0x8000_0000_C000_1083L;
            m.setEntry(pdpt + 8, gigLeaf);
            // PD[5] (va 0xA0_0000..0xC0_0000): 2 MiB leaf at PA 0x3FE0_0000 with P|RW|US|A|D|PS|PAT:
            // 0x3FE0_0000 | 0x1000 | 0x080 | 0x067
            final long twoMegLeaf = 0x0000_0000_3FE0_10E7L;
            m.setEntry(pd + 5 * 8, twoMegLeaf);
            final long inUse = m.memory.framesInUse();

            assertEquals(WALK_LARGE, walker.walk(m.cr3, 0x5234_5678L));
            assertEquals(3, walker.level());
            assertEquals(pdpt + 8, walker.slot());
            assertEquals(gigLeaf, walker.entry());
            // 0xC000_0000 + (0x5234_5678 - 0x4000_0000); PAT (bit 12) must not leak into the address
            assertEquals(0xD234_5678L, walker.translate(m.cr3, 0x5234_5678L));
            assertEquals(0xC000_0000L, walker.translate(m.cr3, 0x4000_0000L));
            assertEquals(0xFFFF_FFFFL, walker.translate(m.cr3, 0x7FFF_FFFFL));

            assertEquals(WALK_LARGE, walker.walk(m.cr3, 0xBA_ACDEL));
            assertEquals(2, walker.level());
            assertEquals(pd + 5 * 8, walker.slot());
            assertEquals(twoMegLeaf, walker.entry());
            // offset 0x1A_ACDE has bit 12 clear, so a leaked PAT would show as 0x3FFA_BCDE
            assertEquals(0x3FFA_ACDEL, walker.translate(m.cr3, 0xBA_ACDEL));
            assertEquals(0x3FE0_0000L, walker.translate(m.cr3, 0xA0_0000L));
            assertEquals(0x3FFF_FFFFL, walker.translate(m.cr3, 0xBF_FFFFL));

            // just outside the 2 MiB leaf: PD[4] and PD[6] are holes
            assertEquals(WALK_HOLE, walker.walk(m.cr3, 0x9F_FFFFL));
            assertEquals(2, walker.level());
            assertEquals(NO_TRANSLATION, walker.translate(m.cr3, 0xC0_0000L));

            // walkAlloc stops at a large leaf too, and allocates nothing
            assertEquals(WALK_LARGE, walker.walkAlloc(m.cr3, 0x5234_5678L));
            assertEquals(WALK_LARGE, walker.walkAlloc(m.cr3, 0xBA_ACDEL));
            assertEquals(inUse, m.memory.framesInUse());

            final PageTableChecker.Result result = m.check();
            assertEquals(3, result.tables());
            assertEquals(2, result.leaves());
        }
    }

    @Test
    void entriesPointingOutsideBackedMemoryAreBadEntries()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            final PageWalker walker = m.editor.walker();
            final long backed = m.memory.backedFrames();
            final long inUse = m.memory.framesInUse();

            // PML4[0] -> the first frame past backed memory
            m.setEntry(m.cr3, (backed << 12) | TABLE_BITS);
            assertEquals(WALK_BAD_ENTRY, walker.walk(m.cr3, 0x1000L));
            assertEquals(4, walker.level());
            assertEquals(WALK_BAD_ENTRY, walker.walkAlloc(m.cr3, 0x1000L));
            assertEquals(NO_TRANSLATION, walker.translate(m.cr3, 0x1000L));
            assertEquals(PageTableEditor.BAD_ENTRY, m.editor.populate(m.cr3, 0L, 0x2000L, 0x067L));
            m.tlb.begin(TlbFlush.NONE);
            assertEquals(PageTableEditor.BAD_ENTRY, m.editor.zap(m.cr3, 0L, 0x2000L, m.tlb));
            assertEquals(PageTableEditor.BAD_ENTRY,
                m.editor.changeProtection(m.cr3, 0L, 0x2000L, 0x005L, false, m.tlb));
            m.tlb.finish();
            assertEquals(inUse, m.memory.framesInUse(), "nothing allocated through a bad entry");

            // physical address 0 is "no frame", never a table
            m.setEntry(m.cr3, TABLE_BITS);
            assertEquals(WALK_BAD_ENTRY, walker.walk(m.cr3, 0x1000L));

            // a non-present, non-empty upper entry is malformed
            m.setEntry(m.cr3, (5L << 12) | 0x066L);
            assertEquals(WALK_BAD_ENTRY, walker.walk(m.cr3, 0x1000L));
            assertEquals(WALK_BAD_ENTRY, walker.walkAlloc(m.cr3, 0x1000L));

            // the last backed frame is a valid target: the walk goes on into it
            final long lastFrame = (backed - 1) << 12;
            m.setEntry(m.cr3, lastFrame | TABLE_BITS);
            assertEquals(WALK_HOLE, walker.walk(m.cr3, 0x1000L));
            assertEquals(3, walker.level());
            assertEquals(lastFrame, walker.slot());
            m.setEntry(m.cr3, 0L);

            // corruption one level further down: PD entry of a real path
            assertEquals(WALK_PTE, walker.walkAlloc(m.cr3, 0x4000_0000L));
            final long pdpt = m.entry(m.cr3) & ADDRESS_BITS;
            final long pd = m.entry(pdpt + 8) & ADDRESS_BITS;
            m.setEntry(pd, (backed + 100) << 12 | TABLE_BITS);
            assertEquals(WALK_BAD_ENTRY, walker.walk(m.cr3, 0x4000_0000L));
            assertEquals(2, walker.level());
            assertEquals(pd, walker.slot());
        }
    }

    /**
     * Two threads walkAlloc the same new address at once, many times: the test thread and a worker
     * that busy-waits for the start of each round (so that both run into the empty entries
     * together). Whoever loses a CAS frees its table: every round ends with exactly one table per
     * level, both threads on the same slot, and the losers' frames back in their caches (the
     * checker's accounting sees no leak).
     */
    @Test
    void concurrentWalkAllocInstallsOneTablePerLevel() throws InterruptedException
    {
        final long[] addresses = {0L, 0x7FFF_FFFF_F000L, 0x7F_FFFF_F000L, 0x80_0000_0000L, 0x4000_0000L, 0x20_0000L};
        final int maxRounds = 20_000;
        final long wantedLosses = 500;
        try (Machine m = Machine.full(16 * MIB))
        {
            final AtomicLong round = new AtomicLong();
            final AtomicLong finished = new AtomicLong();
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final long[] workerSlots = new long[maxRounds + 1];
            final int[] workerStatuses = new int[maxRounds + 1];
            final FrameCache mine = m.memory.newCache();
            final FrameCache theirs = m.memory.newCache();
            final Thread worker = new Thread(() ->
            {
                final PageWalker walker = new PageWalker(m.memory, theirs);
                for (int r = 1; ; r++)
                {
                    long now;
                    while ((now = round.get()) < r)
                    {
                        Thread.onSpinWait();
                    }
                    if (now == Long.MAX_VALUE)
                    {
                        return;
                    }
                    workerStatuses[r] = walker.walkAlloc(m.cr3, addresses[r % addresses.length]);
                    workerSlots[r] = walker.slot();
                    // volatile increment: publishes this round's results to the test thread
                    finished.incrementAndGet();
                }
            }, "walkAlloc-racer");
            worker.setUncaughtExceptionHandler((th, ex) -> failure.set(ex));
            worker.start();

            final PageWalker walker = new PageWalker(m.memory, mine);
            final IdleStrategy idle = new BackoffIdleStrategy();
            int rounds = 0;
            try
            {
                while (rounds < maxRounds && losses(mine, theirs) < wantedLosses && failure.get() == null)
                {
                    rounds++;
                    round.set(rounds);
                    assertEquals(WALK_PTE, walker.walkAlloc(m.cr3, addresses[rounds % addresses.length]));
                    idle.reset();
                    while (finished.get() < rounds && failure.get() == null)
                    {
                        idle.idle();
                    }
                    assertNull(failure.get());
                    assertEquals(WALK_PTE, workerStatuses[rounds]);
                    assertEquals(walker.slot(), workerSlots[rounds], "both threads reach the same PTE slot");
                    assertEquals(4, m.check().tables(), "exactly one table per level");
                    // unlink them again so that the next round races to install a new path
                    m.unmap(0L, Machine.USER_END);
                    assertEquals(m.baseline, m.memory.framesInUse());
                }
            }
            finally
            {
                round.set(Long.MAX_VALUE);
                worker.join();
            }
            assertNull(failure.get());
            // exactly three tables a round were kept; every other table a racer allocated it freed itself
            final long kept = mine.tablesAllocated() - mine.tablesFreed() + theirs.tablesAllocated() - theirs.tablesFreed();
            assertEquals(3L * rounds, kept);
            assertTrue(losses(mine, theirs) > 0, "no walkAlloc race was lost in " + rounds + " rounds");
            m.check();
        }
    }

    private static long losses(final FrameCache a, final FrameCache b)
    {
        return a.tablesFreed() + b.tablesFreed();
    }

    /** Reads entry {@code index} of {@code table} by hand, checks it is _PAGE_TABLE, returns the child table. */
    private static long followTable(final Machine m, final long table, final int index, final int childLevel)
    {
        final long e = m.entry(table + index * 8L);
        assertEquals(TABLE_BITS, e & ~ADDRESS_BITS, "upper entry flags at index " + index);
        final long child = e & ADDRESS_BITS;
        assertEquals(childLevel, m.memory.tableLevel(child >>> 12));
        for (int i = 0; i < 512; i++)
        {
            if (i != index)
            {
                assertEquals(0L, m.entry(table + i * 8L), "only entry " + index + " is set");
            }
        }
        return child;
    }
}
