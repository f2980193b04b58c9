package io.mmemu.pgtable;

import java.util.ArrayList;
import java.util.List;

import io.mmemu.phys.FrameFlags;
import org.junit.jupiter.api.Test;

import static io.mmemu.pgtable.Machine.ADDRESS_BITS;
import static io.mmemu.pgtable.Machine.CLEAN_RW;
import static io.mmemu.pgtable.Machine.DIRTY_RW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gather releases frames and tables only after the TLB flush of the range they were reachable
 * from: a probe inside the flush checks that nothing gathered is free yet.
 */
final class MmuGatherTest
{
    private static final long MIB = 1L << 20;
    private static final long PT_SPAN = 0x20_0000L;

    @Test
    void zapFlushesEachFullTablesRangeBeforeReleasingItsFrames()
    {
        try (Machine m = Machine.full(64 * MIB))
        {
            // four full PTs: 2048 pages, 0..0x80_0000
            final long end = 4 * PT_SPAN;
            m.populate(0L, end);
            final long[] frames = new long[2048];
            for (int i = 0; i < frames.length; i++)
            {
                frames[i] = m.editor.walker().translate(m.cr3, i * 0x1000L) >>> 12;
            }
            final List<String> problems = new ArrayList<>();
            final RecordingFlush flush = new RecordingFlush((start, stop) ->
            {
                for (int i = 0; i < frames.length && problems.size() < 8; i++)
                {
                    final long va = i * 0x1000L;
                    final long pfn = frames[i];
                    final int state = m.memory.flags(pfn) & FrameFlags.STATE_MASK;
                    if (va >= start && va < stop)
                    {
                        // unmapped, waiting for this very flush: still a data page with its reference
                        if (state != FrameFlags.DATA || m.memory.refcount(pfn) != 1 || m.memory.mapcount(pfn) != 0)
                        {
                            problems.add(String.format("0x%x: frame %d released before its flush", va, pfn));
                        }
                    }
                    else if (va >= stop)
                    {
                        if (state != FrameFlags.DATA || m.memory.mapcount(pfn) != 1)
                        {
                            problems.add(String.format("0x%x: frame %d touched before its zap", va, pfn));
                        }
                    }
                    else if (state == FrameFlags.DATA)
                    {
                        problems.add(String.format("0x%x: frame %d not released after its flush", va, pfn));
                    }
                }
            });
            m.tlb.begin(flush);
            assertEquals(PageTableEditor.OK, m.editor.zap(m.cr3, 0L, end, m.tlb));
            m.tlb.finish();
            assertEquals(List.of(), problems);
            // a flush whenever the gather holds a PT's worth (MmuGather.BATCH pages), none left for finish
            assertEquals("[0x0,0x200000)[0x200000,0x400000)[0x400000,0x600000)[0x600000,0x800000)", flush.describe());
            for (final long pfn : frames)
            {
                assertTrue((m.memory.flags(pfn) & FrameFlags.DATA) == 0, "released after the last flush");
            }
            // PDPT, PD and the four PTs remain until freeTables
            assertEquals(m.baseline + 2 + 4, m.memory.framesInUse());
            m.unmap(0L, end);
            assertEquals(m.baseline, m.memory.framesInUse());
        }
    }

    @Test
    void partialZapFlushesExactlyTheZappedRangeAtFinish()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.populate(0x1F_E000L, 0x20_3000L);
            final long a = m.editor.walker().translate(m.cr3, 0x1F_F000L) >>> 12;
            final long b = m.editor.walker().translate(m.cr3, 0x20_0000L) >>> 12;
            final List<String> problems = new ArrayList<>();
            final RecordingFlush flush = new RecordingFlush((start, stop) ->
            {
                for (final long pfn : new long[] {a, b})
                {
                    if ((m.memory.flags(pfn) & FrameFlags.STATE_MASK) != FrameFlags.DATA || m.memory.refcount(pfn) != 1)
                    {
                        problems.add("frame " + pfn + " released before the flush");
                    }
                }
            });
            m.tlb.begin(flush);
            // across the PT boundary: two table passes, one gather, one flush at finish
            assertEquals(PageTableEditor.OK, m.editor.zap(m.cr3, 0x1F_F000L, 0x20_1000L, m.tlb));
            assertEquals("", flush.describe(), "nothing flushed before finish");
            m.tlb.finish();
            assertEquals(List.of(), problems);
            assertEquals("[0x1ff000,0x201000)", flush.describe());
            assertEquals(0, m.memory.flags(a) & FrameFlags.DATA);
            assertEquals(0, m.memory.flags(b) & FrameFlags.DATA);

            // finish with nothing gathered flushes nothing
            final long flushes = m.tlb.flushes();
            m.tlb.begin(flush);
            assertEquals(PageTableEditor.OK, m.editor.zap(m.cr3, 0x4000_0000L, 0x4010_0000L, m.tlb));
            m.tlb.finish();
            assertEquals(flushes, m.tlb.flushes());
            assertEquals(1, flush.ranges().size());
        }
    }

    @Test
    void dirtyPagesAreReleasedUnzeroedAndCleanPagesZeroed()
    {
        try (Machine m = Machine.full(16 * MIB))
        {
            m.memory.disablePoisoning(); // the clearing rules under test; Kasan's poison would hide them
            assertEquals(PageTableEditor.OK, m.editor.populate(m.cr3, 0L, 0x1000L, DIRTY_RW));
            assertEquals(PageTableEditor.OK, m.editor.populate(m.cr3, 0x1000L, 0x2000L, CLEAN_RW));
            final long dirty = m.editor.walker().translate(m.cr3, 0L) >>> 12;
            final long clean = m.editor.walker().translate(m.cr3, 0x1000L) >>> 12;
            m.unmap(0L, 0x2000L);
            assertEquals(0, m.memory.flags(dirty), "a dirty page must be cleared before reuse");
            assertEquals(FrameFlags.ZEROED, m.memory.flags(clean));
        }
    }

    @Test
    void freedTablesWaitForTheFlushOfTheRangeTheyMapped()
    {
        try (Machine m = Machine.full(64 * MIB))
        {
            // one page in each of 600 PTs: PD 0 full (512 PTs), 88 PTs under PD 1
            final int pts = 600;
            for (int i = 0; i < pts; i++)
            {
                m.populate(i * PT_SPAN, i * PT_SPAN + 0x1000L);
            }
            final long pdpt = m.entry(m.cr3) & ADDRESS_BITS;
            final List<Long> tables = new ArrayList<>();
            tables.add(pdpt);
            for (int pd = 0; pd < 2; pd++)
            {
                final long pdTable = m.entry(pdpt + pd * 8L) & ADDRESS_BITS;
                tables.add(pdTable);
                for (int i = 0; i < 512; i++)
                {
                    final long e = m.entry(pdTable + i * 8L);
                    if (e != 0)
                    {
                        tables.add(e & ADDRESS_BITS);
                    }
                }
            }
            assertEquals(1 + 2 + pts, tables.size());

            m.tlb.begin(TlbFlush.NONE);
            m.editor.zap(m.cr3, 0L, pts * PT_SPAN, m.tlb);
            m.tlb.finish();

            final List<Long> freedAtFlush = new ArrayList<>();
            final RecordingFlush flush = new RecordingFlush((start, stop) ->
                freedAtFlush.add(tables.stream().filter(t -> m.memory.flags(t >>> 12) != FrameFlags.TABLE).count()));
            m.tlb.begin(flush);
            m.editor.freeTables(m.cr3, 0L, pts * PT_SPAN, 0L, 0L, m.tlb);
            m.tlb.finish();
            // the gather fills at MmuGather.BATCH tables (PD 0's 512 PTs): a flush of their range
            // before any is released, then one at finish for the rest, which includes PDPT 0's span
            assertEquals(List.of(0L, 512L), freedAtFlush);
            assertEquals(2, flush.ranges().size());
            assertEquals("[0x0,0x40000000)", String.format("[0x%x,0x%x)", flush.ranges().get(0)[0], flush.ranges().get(0)[1]));
            assertEquals("[0x0,0x8000000000)", String.format("[0x%x,0x%x)", flush.ranges().get(1)[0], flush.ranges().get(1)[1]));
            for (final long t : tables)
            {
                assertEquals(0, m.memory.flags(t >>> 12) & FrameFlags.TABLE, "released after the last flush");
            }
            assertEquals(m.baseline, m.memory.framesInUse());
            assertEquals(1, m.check().tables());
        }
    }
}
