package io.mmemu.inspect;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.zip.CRC32C;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PagingMode;
import io.mmemu.vm.MmStats;
import io.mmemu.vm.VmaInfo;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.LongArrayList;
import org.agrona.collections.LongHashSet;

import static io.mmemu.inspect.DumpFormat.*;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PTE;

/**
 * Writes a {@link Snapshot} to a dump file (docs/dump-format.md): the header, the VMAs, the
 * descriptors of every table and mapped frame, the counters and histograms, every page-table page
 * reachable from CR3 as a raw 4 KiB frame with its physical address, and optionally the bytes of
 * the mapped data frames. Take the snapshot at a quiescent point: the tables are read as written.
 */
public final class DumpWriter
{
    /**
     * What a dump holds.
     *
     * @param vmas        VMA records
     * @param tables      page-table frames
     * @param dataFrames  distinct data frames the tables map (descriptors written for the backed ones)
     * @param dataWritten data frames whose bytes were written (0 without {@code withData})
     * @param bytes       size of the file
     */
    public record Summary(int vmas, int tables, int dataFrames, int dataWritten, long bytes)
    {
    }

    private DumpWriter()
    {
    }

    /** Writes {@code snapshot} to {@code file}, replacing it; with {@code withData} the data frames' bytes too. */
    public static Summary write(final Snapshot snapshot, final Path file, final boolean withData) throws IOException
    {
        final MemoryImage memory = snapshot.memory();
        final Frames frames = Frames.collect(snapshot);
        final LongArrayList withBytes = new LongArrayList();
        if (withData)
        {
            for (int i = 0; i < frames.data.size(); i++)
            {
                final long pfn = frames.data.getLong(i);
                if (memory.hasBytes(pfn))
                {
                    withBytes.addLong(pfn);
                }
            }
        }
        final ByteBuffer vmas = vmaSection(snapshot.vmas());
        final ByteBuffer descriptors = descriptorSection(memory, frames);
        final ByteBuffer stats = statsSection(snapshot.stats());
        final int sections = withData ? 5 : 4;
        final long[] counts = {snapshot.vmas().size(), descriptorCount(memory, frames), 1, frames.tables.size(), withBytes.size()};
        final long[] lengths = {vmas.remaining(), descriptors.remaining(), stats.remaining(),
            (long)frames.tables.size() * FRAME_RECORD_SIZE, (long)withBytes.size() * FRAME_RECORD_SIZE};
        final long[] offsets = new long[5];
        long offset = align8(HEADER_SIZE + (long)sections * SECTION_ENTRY_SIZE);
        for (int i = 0; i < sections; i++)
        {
            offsets[i] = offset;
            offset = align8(offset + lengths[i]);
        }
        final int[] crcs = new int[5];
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING))
        {
            crcs[0] = writeAt(channel, offsets[0], vmas);
            crcs[1] = writeAt(channel, offsets[1], descriptors);
            crcs[2] = writeAt(channel, offsets[2], stats);
            crcs[3] = writeFrames(channel, offsets[3], memory, frames.tables);
            if (withData)
            {
                crcs[4] = writeFrames(channel, offsets[4], memory, withBytes);
            }
            final ByteBuffer table = le(sections * SECTION_ENTRY_SIZE);
            final int[] types = {VMAS, DESCRIPTORS, STATS, TABLE_FRAMES, DATA_FRAMES};
            for (int i = 0; i < sections; i++)
            {
                final int at = i * SECTION_ENTRY_SIZE;
                table.putInt(at + S_TYPE, types[i]);
                table.putInt(at + S_COUNT, (int)counts[i]);
                table.putLong(at + S_OFFSET, offsets[i]);
                table.putLong(at + S_LENGTH, lengths[i]);
                table.putInt(at + S_CRC, crcs[i]);
            }
            final int tableCrc = crc(table);
            final ByteBuffer header = le(HEADER_SIZE);
            header.put(H_MAGIC, MAGIC);
            header.putShort(H_VERSION, (short)VERSION);
            header.putShort(H_HEADER_SIZE, (short)HEADER_SIZE);
            header.putInt(H_PAGE_SIZE, PAGE_SIZE);
            // the root's physical address; the levels are in the kernel word
            header.putLong(H_CR3, snapshot.cr3() & PageTableEntry.PHYS_MASK);
            header.putLong(H_TOTAL_FRAMES, memory.totalFrames());
            header.putLong(H_BACKED_FRAMES, memory.backedFrames());
            header.putLong(H_ZERO_PAGE, memory.zeroPagePfn());
            header.putInt(H_KERNEL, kernelWord(snapshot));
            header.putInt(H_SECTIONS, sections);
            header.putInt(H_TABLE_CRC, tableCrc);
            header.putInt(H_HEADER_CRC, crc(header.slice(0, H_HEADER_CRC)));
            writeAt(channel, 0, header);
            writeAt(channel, HEADER_SIZE, table);
            channel.truncate(offset);
            return new Summary(snapshot.vmas().size(), frames.tables.size(), frames.data.size(), withBytes.size(),
                channel.size());
        }
    }

    static int kernelWord(final Snapshot snapshot)
    {
        return (snapshot.kernel().zeroPage() ? K_ZERO_PAGE : 0) | (snapshot.kernel().softDirty() ? K_SOFT_DIRTY : 0) |
            (snapshot.thp().ordinal() << K_THP_SHIFT) | (snapshot.paging() << K_PAGING_SHIFT);
    }

    /** The frames a dump holds: tables reachable from CR3 (with their levels) and mapped data frames. */
    static final class Frames
    {
        final LongArrayList tables = new LongArrayList();
        final Long2LongHashMap levels = new Long2LongHashMap(0);
        final LongArrayList data = new LongArrayList();

        static Frames collect(final Snapshot snapshot)
        {
            final Frames frames = new Frames();
            final long root = snapshot.cr3() >>> 12;
            frames.tables.addLong(root);
            frames.levels.put(root, snapshot.paging());
            final LongHashSet mapped = new LongHashSet();
            TableWalk.walk(snapshot.memory(), snapshot.cr3(), 0, PagingMode.userEnd(snapshot.paging()), new TableWalk.Visitor()
            {
                @Override
                public void entry(final long va, final long entry, final int level)
                {
                    if (!PageTableEntry.isPresent(entry) && !PageTableEntry.isLargeLeaf(entry, level))
                    {
                        return;
                    }
                    if (PageTableEntry.isLeaf(entry, level))
                    {
                        // a 2 MiB or 1 GiB leaf: every frame under it
                        final long first = PageTableEntry.leafAddress(entry, level) >>> 12;
                        for (long i = 0; i < PageTableEntry.coverage(level) >>> 12; i++)
                        {
                            mapped.add(first + i);
                        }
                    }
                    else
                    {
                        final long child = PageTableEntry.pfn(entry);
                        frames.tables.addLong(child);
                        frames.levels.put(child, level - 1);
                    }
                }

                @Override
                public void pte(final long va, final long entry)
                {
                    if (PageTableEntry.isMapped(entry))
                    {
                        mapped.add(PageTableEntry.pfn(entry));
                    }
                }
            });
            final LongHashSet.LongIterator it = mapped.iterator();
            while (it.hasNext())
            {
                frames.data.addLong(it.nextValue());
            }
            frames.data.sort(null);
            return frames;
        }
    }

    private static ByteBuffer vmaSection(final List<VmaInfo> vmas)
    {
        int size = 0;
        final byte[][] names = new byte[vmas.size()][];
        for (int i = 0; i < vmas.size(); i++)
        {
            final String name = vmas.get(i).name();
            names[i] = name == null ? null : name.getBytes(StandardCharsets.UTF_8);
            if (names[i] != null && names[i].length >= NO_NAME)
            {
                throw new IllegalArgumentException("VMA name longer than " + (NO_NAME - 1) + " bytes: " + name);
            }
            size += VMA_FIXED_SIZE + (names[i] == null ? 0 : names[i].length);
        }
        final ByteBuffer buffer = le(size);
        for (int i = 0; i < vmas.size(); i++)
        {
            final VmaInfo vma = vmas.get(i);
            buffer.putLong(vma.start()).putLong(vma.end()).putInt(vma.flags()).putLong(vma.pgoff())
                .putInt(vma.dev()).putLong(vma.inode())
                .put((byte)((vma.anonymous() ? VMA_ANONYMOUS : 0) | (vma.hasAnonVma() ? VMA_HAS_ANON_VMA : 0)));
            if (names[i] == null)
            {
                buffer.putShort((short)NO_NAME);
            }
            else
            {
                buffer.putShort((short)names[i].length).put(names[i]);
            }
        }
        return buffer.flip();
    }

    private static int descriptorCount(final MemoryImage memory, final Frames frames)
    {
        int n = frames.tables.size();
        for (int i = 0; i < frames.data.size(); i++)
        {
            if (memory.isBacked(frames.data.getLong(i)))
            {
                n++;
            }
        }
        return n;
    }

    private static ByteBuffer descriptorSection(final MemoryImage memory, final Frames frames)
    {
        final ByteBuffer buffer = le(descriptorCount(memory, frames) * DESCRIPTOR_SIZE);
        for (int i = 0; i < frames.tables.size(); i++)
        {
            final long pfn = frames.tables.getLong(i);
            descriptor(buffer, memory, pfn, memory.tableLevel(pfn));
        }
        for (int i = 0; i < frames.data.size(); i++)
        {
            final long pfn = frames.data.getLong(i);
            if (memory.isBacked(pfn))
            {
                descriptor(buffer, memory, pfn, 0);
            }
        }
        return buffer.flip();
    }

    private static void descriptor(final ByteBuffer buffer, final MemoryImage memory, final long pfn, final int level)
    {
        buffer.putLong(pfn).putInt(memory.flags(pfn)).putInt(level).putInt(memory.refcount(pfn)).putInt(memory.mapcount(pfn));
    }

    private static ByteBuffer statsSection(final MmStats stats)
    {
        final Histogram[] histograms = histograms(stats);
        int size = STATS_COUNTERS * 8;
        for (final Histogram h : histograms)
        {
            size += 4;
            for (final HistogramIterationValue ignored : h.recordedValues())
            {
                size += 16;
            }
        }
        final ByteBuffer buffer = le(size);
        buffer.putLong(stats.faults()).putLong(stats.faultWaits()).putLong(stats.faultRetries()).putLong(stats.segvMaperr())
            .putLong(stats.segvAccerr()).putLong(stats.sigbus()).putLong(stats.zeroPageCow());
        for (final Histogram h : histograms)
        {
            final int countAt = buffer.position();
            buffer.putInt(0);
            int n = 0;
            for (final HistogramIterationValue v : h.recordedValues())
            {
                buffer.putLong(v.getValueIteratedTo()).putLong(v.getCountAtValueIteratedTo());
                n++;
            }
            buffer.putInt(countAt, n);
        }
        return buffer.flip();
    }

    /** The histograms in the order the STATS section stores them. */
    static Histogram[] histograms(final MmStats stats)
    {
        return new Histogram[] {stats.faultLatency(), stats.mmapWriteHold(), stats.mmapReadHold(), stats.vmaLockHold(),
            stats.ptlHold()};
    }

    private static int writeFrames(final FileChannel channel, final long offset, final MemoryImage memory,
        final LongArrayList pfns) throws IOException
    {
        final CRC32C section = new CRC32C();
        final byte[] bytes = new byte[PAGE_SIZE];
        final ByteBuffer record = le(FRAME_RECORD_SIZE);
        long at = offset;
        for (int i = 0; i < pfns.size(); i++)
        {
            final long pa = pfns.getLong(i) << 12;
            memory.read(pa, bytes, 0, PAGE_SIZE);
            final CRC32C frame = new CRC32C();
            record.clear();
            record.putLong(pa).putInt(0).putInt(0).put(bytes);
            frame.update(record.array(), 0, 8);
            frame.update(bytes);
            record.putInt(8, (int)frame.getValue());
            section.update(record.array(), 0, FRAME_RECORD_SIZE);
            record.flip();
            writeAt(channel, at, record);
            at += FRAME_RECORD_SIZE;
        }
        return (int)section.getValue();
    }

    private static int writeAt(final FileChannel channel, final long offset, final ByteBuffer buffer) throws IOException
    {
        final int crc = crc(buffer);
        long at = offset;
        while (buffer.hasRemaining())
        {
            at += channel.write(buffer, at);
        }
        return crc;
    }

    static int crc(final ByteBuffer buffer)
    {
        final CRC32C crc = new CRC32C();
        crc.update(buffer.duplicate());
        return (int)crc.getValue();
    }

    static ByteBuffer le(final int size)
    {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static long align8(final long n)
    {
        return (n + 7) & ~7L;
    }
}
