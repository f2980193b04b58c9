package io.mmemu.pgtable;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.util.concurrent.atomic.AtomicReference;

import io.mmemu.phys.FrameCache;
import io.mmemu.phys.FrameFlags;
import io.mmemu.phys.LruLists;
import org.junit.jupiter.api.Test;

import static io.mmemu.pgtable.Machine.DIRTY_RW;
import static io.mmemu.pgtable.PageTableEditor.OK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A 2 MiB leaf split (split_huge_pmd: a partial munmap or MADV_DONTNEED, reclaim's
 * TTU_SPLIT_HUGE_PMD) splits its folio on the LRU lists too. A PTE of the new PT page is zapped
 * under that page's lock alone, so once the PT page is published a subpage may be unmapped and
 * freed at once; had the folio not been split on the LRU by then, the free would take the subpage
 * for a page on no list, and the split's later linking would put a free frame on a list (the
 * checker's "LRU list 0 holds PFN 4607 with flags none", "LRU bits on a frame that is not a data
 * page" with THP and kswapd).
 * <p>
 * Deterministic: this thread holds the LRU lock while another splits the leaf, so the split stops
 * at its LRU step; if by then the PT page is reachable, this thread zaps and frees the last subpage
 * through it before letting the split go on.
 */
class HugePmdSplitRaceTest
{
    private static final long HUGE = 2L << 20;

    @Test
    void aSubpageZappedAsSoonAsTheSplitPublishesItsTableIsNeverLinkedAfterItsFree() throws InterruptedException
    {
        try (Machine m = Machine.full(64L << 20))
        {
            final long head = m.hugePage(HUGE, DIRTY_RW);
            final long last = head + PageTableEntry.ENTRIES - 1;
            final long lastVa = HUGE + (PageTableEntry.ENTRIES - 1) * 4096L;
            final long slot = m.pmdSlot(HUGE);
            final FrameCache cache = m.memory.newCache();
            final PageTableEditor zapper = new PageTableEditor(m.memory, cache, 2);
            final MmuGather tlb = new MmuGather(m.memory, cache);
            final LruLists lru = m.memory.lru();
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final Thread splitter = new Thread(() ->
            {
                try
                {
                    m.editor.huge().split(slot);
                }
                catch (final Throwable t)
                {
                    failure.set(t);
                }
            }, "splitter");
            boolean zappedDuringSplit = false;
            synchronized (lru)
            {
                splitter.start();
                // until the split has published its PT page, or waits for the LRU lock (ours)
                while (PageTableEntry.isHugePmd(m.pmdEntry(HUGE)) && !waitsForLruLock(splitter))
                {
                    Thread.onSpinWait();
                }
                if (!PageTableEntry.isHugePmd(m.pmdEntry(HUGE)))
                {
                    // the table is reachable: a zap of the last subpage's PTE, as MADV_DONTNEED's, frees it
                    tlb.begin(TlbFlush.NONE);
                    assertEquals(OK, zapper.zap(m.cr3, lastVa, lastVa + 4096L, tlb));
                    tlb.finish();
                    zappedDuringSplit = true;
                }
            }
            splitter.join();
            assertNull(failure.get(), () -> "the split failed: " + failure.get());
            if (!zappedDuringSplit)
            {
                tlb.begin(TlbFlush.NONE);
                assertEquals(OK, zapper.zap(m.cr3, lastVa, lastVa + 4096L, tlb));
                tlb.finish();
            }
            assertEquals(0, m.memory.refcount(last), "the zapped subpage is freed");
            // a buddy block's head keeps its order in the same word; any other freed frame has it clear
            assertTrue((m.memory.flags(last) & FrameFlags.FREE) != 0 || m.memory.lruFlags(last) == 0,
                "a freed frame carries no LRU bits");
            final long[] entries = new long[1];
            lru.check((list, pfn, pages) ->
            {
                assertEquals(1, pages, "after the split every entry is one page");
                if (pfn == last)
                {
                    throw new AssertionError("freed PFN " + pfn + " is on LRU list " + list);
                }
                entries[0]++;
            });
            assertEquals(PageTableEntry.ENTRIES - 1, entries[0], "the 511 subpages still mapped, each an entry");
            m.check();
            m.unmap(0L, 3 * HUGE);
            assertEquals(m.baseline, m.memory.framesInUse());
            lru.check((list, pfn, pages) ->
            {
                throw new AssertionError("PFN " + pfn + " still on LRU list " + list + " after the unmap");
            });
        }
    }

    /** Whether {@code thread} is blocked on the LRU lists' monitor. */
    private static boolean waitsForLruLock(final Thread thread)
    {
        final ThreadInfo info = ManagementFactory.getThreadMXBean().getThreadInfo(thread.threadId());
        return info != null && info.getThreadState() == Thread.State.BLOCKED && info.getLockInfo() != null
            && LruLists.class.getName().equals(info.getLockInfo().getClassName());
    }
}
