package io.mmemu.inspect;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PagingMode;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.MmStats;
import io.mmemu.vm.ThpMode;
import io.mmemu.vm.VmaInfo;
import org.HdrHistogram.Histogram;
import org.agrona.collections.LongHashSet;

import static io.mmemu.inspect.DumpFormat.*;
import static io.mmemu.pgtable.PageTableEntry.ENTRIES;
import static io.mmemu.pgtable.PageTableEntry.LEVEL_PTE;

/**
 * Reads and validates a dump file (docs/dump-format.md). Everything a view will rely on is checked
 * before any view runs — sizes, checksums, record bounds, and the table structure (every table
 * pointer leads to a table frame of the next level down held in the file, each table is reached
 * once, every mapped backed frame has a descriptor) — so a truncated or corrupted file is a
 * {@link DumpFormatException} naming the offset, never a crash or a silently wrong view.
 */
public final class DumpReader
{
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * An opened dump: its snapshot (whose memory reads the mapped file) until closed.
     *
     * @param snapshot   the address space as dumped
     * @param version    the format version
     * @param tables     page-table frames held
     * @param dataFrames data frames whose bytes are held
     * @param bytes      size of the file
     */
    public record Dump(Snapshot snapshot, int version, int tables, int dataFrames, long bytes) implements AutoCloseable
    {
        @Override
        public void close()
        {
            ((DumpImage)snapshot.memory()).close();
        }
    }

    private final MemorySegment file;
    private final long size;

    private DumpReader(final MemorySegment file)
    {
        this.file = file;
        this.size = file.byteSize();
    }

    /** Opens {@code path}; the returned dump maps the file until closed. */
    public static Dump read(final Path path) throws IOException
    {
        final Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ))
        {
            final long length = channel.size();
            final MemorySegment file = length == 0 ? MemorySegment.ofArray(new byte[0]) :
                channel.map(FileChannel.MapMode.READ_ONLY, 0, length, arena);
            return new DumpReader(file).parse(arena);
        }
        catch (final IOException | RuntimeException ex)
        {
            arena.close();
            throw ex;
        }
    }

    /** Reads a dump held in memory (tests feed corrupted copies through this). */
    static Dump read(final byte[] bytes) throws DumpFormatException
    {
        return new DumpReader(MemorySegment.ofArray(bytes)).parse(Arena.ofShared());
    }

    private Dump parse(final Arena arena) throws DumpFormatException
    {
        // ---- header
        if (size < HEADER_SIZE)
        {
            throw new DumpFormatException(size, "truncated: the file ends after " + size +
                " bytes, inside the " + HEADER_SIZE + "-byte header");
        }
        final byte[] magic = file.asSlice(H_MAGIC, MAGIC.length).toArray(ValueLayout.JAVA_BYTE);
        if (!Arrays.equals(magic, MAGIC))
        {
            throw new DumpFormatException(H_MAGIC, "not an mmemu dump: the magic is " + hex(magic) + ", expected " +
                hex(MAGIC) + " (\"MMEMUDMP\")");
        }
        final int version = Short.toUnsignedInt(file.get(SHORT, H_VERSION));
        if (version != VERSION && version != VERSION_1)
        {
            throw new DumpFormatException(H_VERSION, "unsupported version " + version + " (this reader knows versions " +
                VERSION_1 + " and " + VERSION + ")");
        }
        final int headerCrc = crc(0, H_HEADER_CRC);
        if (headerCrc != file.get(INT, H_HEADER_CRC))
        {
            throw new DumpFormatException(H_HEADER_CRC, String.format(
                "header checksum mismatch: stored 0x%08x, bytes 0-%d give 0x%08x (the header is corrupted)",
                file.get(INT, H_HEADER_CRC), H_HEADER_CRC - 1, headerCrc));
        }
        expect(Short.toUnsignedInt(file.get(SHORT, H_HEADER_SIZE)) == HEADER_SIZE, H_HEADER_SIZE,
            "header size is " + Short.toUnsignedInt(file.get(SHORT, H_HEADER_SIZE)) + ", expected " + HEADER_SIZE);
        expect(file.get(INT, H_PAGE_SIZE) == PAGE_SIZE, H_PAGE_SIZE,
            "page size is " + file.get(INT, H_PAGE_SIZE) + ", expected " + PAGE_SIZE);
        final long root = file.get(LONG, H_CR3);
        final long totalFrames = file.get(LONG, H_TOTAL_FRAMES);
        final long backedFrames = file.get(LONG, H_BACKED_FRAMES);
        final long zeroPage = file.get(LONG, H_ZERO_PAGE);
        expect(totalFrames > 0 && totalFrames <= 1L << 40, H_TOTAL_FRAMES, "total frames " + totalFrames + " out of range (1..2^40)");
        expect(backedFrames > 0 && backedFrames <= totalFrames, H_BACKED_FRAMES,
            "backed frames " + backedFrames + " not within 1.." + totalFrames);
        expect(zeroPage > 0 && zeroPage < backedFrames, H_ZERO_PAGE, "zero page PFN " + zeroPage + " is not a backed frame");
        expect((root & 0xFFF) == 0, H_CR3, String.format("CR3 0x%x is not page aligned", root));
        final int kernelWord = file.get(INT, H_KERNEL);
        final int thpOrdinal = (kernelWord & K_THP_MASK) >>> K_THP_SHIFT;
        final int known = version == VERSION_1 ? K_KNOWN & ~K_PAGING_MASK : K_KNOWN;
        expect((kernelWord & ~known) == 0 && thpOrdinal < ThpMode.values().length, H_KERNEL,
            String.format("unknown kernel bits 0x%x", kernelWord));
        // version 1 knew four levels only
        final int levels = version == VERSION_1 ? PagingMode.FOUR_LEVEL : (kernelWord & K_PAGING_MASK) >>> K_PAGING_SHIFT;
        expect(levels == PagingMode.FOUR_LEVEL || levels == PagingMode.FIVE_LEVEL, H_KERNEL,
            "paging levels " + levels + " (the kernel word's bits 12-15), expected 4 or 5");
        final long cr3 = PagingMode.cr3(root, levels);
        final int sections = file.get(INT, H_SECTIONS);
        expect(sections >= SECTION_TYPES - 1 && sections <= SECTION_TYPES, H_SECTIONS,
            "section count " + sections + ", expected 4 or 5");

        // ---- section table
        final long tableEnd = HEADER_SIZE + (long)sections * SECTION_ENTRY_SIZE;
        if (size < tableEnd)
        {
            throw new DumpFormatException(size, "truncated: the file ends after " + size +
                " bytes, inside the section table (which ends at " + tableEnd + ")");
        }
        final int tableCrc = crc(HEADER_SIZE, tableEnd - HEADER_SIZE);
        expect(tableCrc == file.get(INT, H_TABLE_CRC), H_TABLE_CRC, String.format(
            "section table checksum mismatch: stored 0x%08x, bytes %d-%d give 0x%08x (the section table is corrupted)",
            file.get(INT, H_TABLE_CRC), HEADER_SIZE, tableEnd - 1, tableCrc));
        final long[] offsets = new long[SECTION_TYPES + 1];
        final long[] lengths = new long[SECTION_TYPES + 1];
        final int[] counts = new int[SECTION_TYPES + 1];
        Arrays.fill(offsets, -1);
        for (int i = 0; i < sections; i++)
        {
            final long entry = HEADER_SIZE + (long)i * SECTION_ENTRY_SIZE;
            final int type = file.get(INT, entry + S_TYPE);
            expect(type >= 1 && type <= SECTION_TYPES, entry + S_TYPE, "unknown section type " + type);
            expect(offsets[type] < 0, entry + S_TYPE, "a second " + sectionName(type) + " section");
            final long offset = file.get(LONG, entry + S_OFFSET);
            final long length = file.get(LONG, entry + S_LENGTH);
            expect(offset >= tableEnd && length >= 0 && offset <= size, entry + S_OFFSET,
                sectionName(type) + " section offset " + offset + " is outside the file (" + size + " bytes)");
            if (length > size - offset)
            {
                throw new DumpFormatException(size, "truncated: the " + sectionName(type) + " section at offset " + offset +
                    " needs " + length + " bytes, but the file ends after " + size);
            }
            final int crc = crc(offset, length);
            expect(crc == file.get(INT, entry + S_CRC), offset, String.format(
                "%s section checksum mismatch: stored 0x%08x, its %d bytes give 0x%08x (the section is corrupted)",
                sectionName(type), file.get(INT, entry + S_CRC), length, crc));
            offsets[type] = offset;
            lengths[type] = length;
            counts[type] = file.get(INT, entry + S_COUNT);
            expect(counts[type] >= 0, entry + S_COUNT, "negative record count " + counts[type]);
        }
        for (final int type : new int[] {VMAS, DESCRIPTORS, STATS, TABLE_FRAMES})
        {
            expect(offsets[type] >= 0, H_SECTIONS, "no " + sectionName(type) + " section");
        }
        padding(tableEnd, offsets, lengths);

        // ---- sections
        final List<VmaInfo> vmas = vmas(offsets[VMAS], lengths[VMAS], counts[VMAS], PagingMode.userEnd(levels) - PAGE_SIZE);
        final MmStats stats = stats(offsets[STATS], lengths[STATS]);
        final DumpImage image = new DumpImage(arena, file, totalFrames, backedFrames, zeroPage, counts[DESCRIPTORS]);
        descriptors(image, offsets[DESCRIPTORS], lengths[DESCRIPTORS], counts[DESCRIPTORS], levels);
        final int tables = frames(image, TABLE_FRAMES, offsets[TABLE_FRAMES], lengths[TABLE_FRAMES], counts[TABLE_FRAMES]);
        final int data = offsets[DATA_FRAMES] < 0 ? 0 :
            frames(image, DATA_FRAMES, offsets[DATA_FRAMES], lengths[DATA_FRAMES], counts[DATA_FRAMES]);
        structure(image, root, levels, tables);
        final KernelConfig kernel = new KernelConfig((kernelWord & K_ZERO_PAGE) != 0, (kernelWord & K_SOFT_DIRTY) != 0, levels);
        final Snapshot snapshot = new Snapshot(cr3, vmas, kernel, ThpMode.values()[thpOrdinal], image, stats);
        return new Dump(snapshot, version, tables, data, size);
    }

    /**
     * Sections do not overlap, and what lies between them (and after the last) is at most 7 zero
     * bytes of alignment: no byte of the file escapes a check.
     */
    private void padding(final long tableEnd, final long[] offsets, final long[] lengths) throws DumpFormatException
    {
        final List<long[]> spans = new ArrayList<>();
        for (int type = 1; type <= SECTION_TYPES; type++)
        {
            if (offsets[type] >= 0)
            {
                spans.add(new long[] {offsets[type], lengths[type], type});
            }
        }
        spans.sort((a, b) -> Long.compare(a[0], b[0]));
        long at = tableEnd;
        for (final long[] span : spans)
        {
            expect(span[0] >= at, span[0], sectionName((int)span[2]) + " section overlaps the bytes before it (up to " + at + ")");
            zeros(at, span[0]);
            at = span[0] + span[1];
        }
        zeros(at, size);
    }

    private void zeros(final long from, final long to) throws DumpFormatException
    {
        expect(to - from < 8, from, (to - from) + " unexpected bytes (sections are separated by at most 7 bytes of padding)");
        for (long at = from; at < to; at++)
        {
            expect(file.get(ValueLayout.JAVA_BYTE, at) == 0, at, "padding byte is not zero");
        }
    }

    private List<VmaInfo> vmas(final long offset, final long length, final int count, final long taskSize)
        throws DumpFormatException
    {
        final List<VmaInfo> vmas = new ArrayList<>(Math.min(count, 1 << 16));
        final long end = offset + length;
        long at = offset;
        long previousEnd = 0;
        for (int i = 0; i < count; i++)
        {
            expect(end - at >= VMA_FIXED_SIZE, at, "VMA record " + i + " is cut short by the end of the VMAS section");
            final long start = file.get(LONG, at);
            final long stop = file.get(LONG, at + 8);
            final int flags = file.get(INT, at + 16);
            final long pgoff = file.get(LONG, at + 20);
            final int dev = file.get(INT, at + 28);
            final long inode = file.get(LONG, at + 32);
            final int bits = file.get(ValueLayout.JAVA_BYTE, at + 40);
            final int nameLength = Short.toUnsignedInt(file.get(SHORT, at + 41));
            expect(((start | stop) & 0xFFF) == 0 && Long.compareUnsigned(start, stop) < 0 &&
                Long.compareUnsigned(stop, taskSize) <= 0, at,
                String.format("VMA record %d: 0x%x-0x%x is not a page-aligned user range", i, start, stop));
            expect(Long.compareUnsigned(start, previousEnd) >= 0, at,
                String.format("VMA record %d at 0x%x overlaps or precedes the previous one (ending 0x%x)", i, start, previousEnd));
            expect((bits & ~(VMA_ANONYMOUS | VMA_HAS_ANON_VMA)) == 0, at + 40, String.format("VMA record %d: unknown bits 0x%x", i, bits));
            at += VMA_FIXED_SIZE;
            String name = null;
            if (nameLength != NO_NAME)
            {
                expect(end - at >= nameLength, at, "VMA record " + i + "'s name is cut short by the end of the VMAS section");
                name = utf8(at, nameLength, "VMA record " + i + "'s name");
                at += nameLength;
            }
            vmas.add(new VmaInfo(start, stop, flags, pgoff, name, (bits & VMA_ANONYMOUS) != 0, dev, inode,
                (bits & VMA_HAS_ANON_VMA) != 0));
            previousEnd = stop;
        }
        expect(at == end, at, (end - at) + " bytes after the last of " + count + " VMA records");
        return vmas;
    }

    private MmStats stats(final long offset, final long length) throws DumpFormatException
    {
        final long end = offset + length;
        expect(length >= STATS_COUNTERS * 8L, offset, "STATS section too short for its " + STATS_COUNTERS + " counters");
        final long[] counters = new long[STATS_COUNTERS];
        for (int i = 0; i < STATS_COUNTERS; i++)
        {
            counters[i] = file.get(LONG, offset + 8L * i);
            expect(counters[i] >= 0, offset + 8L * i, "negative counter " + counters[i]);
        }
        long at = offset + STATS_COUNTERS * 8L;
        final Histogram[] histograms = new Histogram[STATS_HISTOGRAMS];
        for (int h = 0; h < STATS_HISTOGRAMS; h++)
        {
            expect(end - at >= 4, at, "histogram " + h + " is cut short by the end of the STATS section");
            final int n = file.get(INT, at);
            at += 4;
            expect(n >= 0 && (end - at) / 16 >= n, at - 4, "histogram " + h + " claims " + n + " buckets, more than the section holds");
            histograms[h] = new Histogram(2);
            for (int i = 0; i < n; i++, at += 16)
            {
                final long value = file.get(LONG, at);
                final long count = file.get(LONG, at + 8);
                expect(value >= 0 && value <= Long.MAX_VALUE / 2 && count > 0, at,
                    String.format("histogram %d bucket %d: value %d count %d", h, i, value, count));
                histograms[h].recordValueWithCount(value, count);
            }
        }
        expect(at == end, at, (end - at) + " bytes after the last histogram of the STATS section");
        return new MmStats(counters[0], counters[1], counters[2], counters[3], counters[4], counters[5], counters[6],
            // the dump format records no fork or THP counters (neither existed when it was written down)
            0, 0, 0, 0, 0, 0, 0, histograms[0], histograms[1], histograms[2], histograms[3], histograms[4]);
    }

    private void descriptors(final DumpImage image, final long offset, final long length, final int count, final int levels)
        throws DumpFormatException
    {
        expect(length == (long)count * DESCRIPTOR_SIZE, offset,
            "DESCRIPTORS section is " + length + " bytes, " + count + " records need " + (long)count * DESCRIPTOR_SIZE);
        for (int i = 0; i < count; i++)
        {
            final long at = offset + (long)i * DESCRIPTOR_SIZE;
            final long pfn = file.get(LONG, at);
            final int level = file.get(INT, at + 12);
            if (pfn <= 0 || pfn >= image.backedFrames())
            {
                throw new DumpFormatException(at, String.format("descriptor %d for PFN 0x%x: not a backed frame", i, pfn));
            }
            if (level < 0 || level > levels)
            {
                throw new DumpFormatException(at + 12, "descriptor " + i + ": level " + level + " (0.." + levels + ")");
            }
            if (!image.addDescriptor(pfn, file.get(INT, at + 8), level, file.get(INT, at + 16), file.get(INT, at + 20)))
            {
                throw new DumpFormatException(at, String.format("a second descriptor for PFN 0x%x", pfn));
            }
        }
    }

    private int frames(final DumpImage image, final int type, final long offset, final long length, final int count)
        throws DumpFormatException
    {
        final String kind = type == TABLE_FRAMES ? "table frame" : "data frame";
        expect(length == (long)count * FRAME_RECORD_SIZE, offset,
            sectionName(type) + " section is " + length + " bytes, " + count + " frames need " + (long)count * FRAME_RECORD_SIZE);
        for (int i = 0; i < count; i++)
        {
            final long at = offset + (long)i * FRAME_RECORD_SIZE;
            final long pa = file.get(LONG, at);
            final CRC32C crc = new CRC32C();
            crc.update(file.asSlice(at, 8).asByteBuffer());
            crc.update(file.asSlice(at + FRAME_HEADER_SIZE, PAGE_SIZE).asByteBuffer());
            final long pfn = pa >>> 12;
            final String problem;
            if ((int)crc.getValue() != file.get(INT, at + 8))
            {
                problem = "checksum mismatch, its bytes are corrupted";
            }
            else if ((pa & 0xFFF) != 0 || pfn <= 0 || pfn >= image.backedFrames())
            {
                problem = "not a backed page";
            }
            else if (!image.addFrame(pfn, at + FRAME_HEADER_SIZE))
            {
                problem = "in the dump twice";
            }
            else if (type == TABLE_FRAMES && !image.hasDescriptor(pfn))
            {
                problem = "no descriptor";
            }
            else
            {
                continue;
            }
            throw new DumpFormatException(at, String.format("%s %d (physical 0x%x): %s", kind, i, pa, problem));
        }
        return count;
    }

    /** Every table reachable once, through table frames of the right level; mapped frames described. */
    private void structure(final DumpImage image, final long cr3, final int levels, final int tables) throws DumpFormatException
    {
        final long root = cr3 >>> 12;
        expect(image.hasBytes(root) && image.tableLevel(root) == levels, H_CR3,
            String.format("CR3 0x%x is not a level-%d table frame in the dump", cr3, levels));
        final LongHashSet seen = new LongHashSet();
        seen.add(root);
        visit(image, root, levels, seen);
        expect(seen.size() == tables, H_CR3, (tables - seen.size()) + " table frames in the dump are not reachable from CR3");
    }

    private void visit(final DumpImage image, final long pfn, final int level, final LongHashSet seen) throws DumpFormatException
    {
        final long bytes = image.frameOffset(pfn);
        for (int i = 0; i < ENTRIES; i++)
        {
            final long at = bytes + 8L * i;
            final long e = file.get(LONG, at);
            if (e == 0 || (level != LEVEL_PTE && !PageTableEntry.isPresent(e) && !PageTableEntry.isLargeLeaf(e, level)) ||
                (level == LEVEL_PTE && !PageTableEntry.isMapped(e)))
            {
                continue;
            }
            if (PageTableEntry.isLeaf(e, level))
            {
                final long first = PageTableEntry.leafAddress(e, level) >>> 12;
                final long pages = PageTableEntry.coverage(level) >>> 12;
                if (first + pages > image.totalFrames())
                {
                    throw new DumpFormatException(at, where(i, e, level, pfn) + " maps beyond physical memory");
                }
                for (long p = first; p < first + pages; p++)
                {
                    if (image.isBacked(p) && !image.hasDescriptor(p))
                    {
                        throw new DumpFormatException(at, where(i, e, level, pfn) +
                            String.format(" maps frame 0x%x, which has no descriptor in the dump", p));
                    }
                }
                continue;
            }
            final long child = PageTableEntry.pfn(e);
            if (!image.hasBytes(child) || image.tableLevel(child) != level - 1)
            {
                throw new DumpFormatException(at, where(i, e, level, pfn) + String.format(
                    " points to physical 0x%x, which is not a level-%d table frame in the dump", child << 12, level - 1));
            }
            if (!seen.add(child))
            {
                throw new DumpFormatException(at, where(i, e, level, pfn) +
                    String.format(" points to the table at physical 0x%x a second time", child << 12));
            }
            visit(image, child, level - 1, seen);
        }
    }

    private static String where(final int index, final long entry, final int level, final long tablePfn)
    {
        return String.format("entry %d (0x%016x) of the level-%d table at physical 0x%x", index, entry, level, tablePfn << 12);
    }

    private String utf8(final long at, final int length, final String what) throws DumpFormatException
    {
        final ByteBuffer bytes = file.asSlice(at, length).asByteBuffer();
        try
        {
            final CharBuffer chars = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes);
            return chars.toString();
        }
        catch (final CharacterCodingException ex)
        {
            throw new DumpFormatException(at, what + " is not valid UTF-8");
        }
    }

    private int crc(final long offset, final long length)
    {
        final CRC32C crc = new CRC32C();
        long done = 0;
        while (done < length)
        {
            final int chunk = (int)Math.min(length - done, 1 << 30);
            crc.update(file.asSlice(offset + done, chunk).asByteBuffer());
            done += chunk;
        }
        return (int)crc.getValue();
    }

    private static void expect(final boolean condition, final long offset, final String problem) throws DumpFormatException
    {
        if (!condition)
        {
            throw new DumpFormatException(offset, problem);
        }
    }

    private static String hex(final byte[] bytes)
    {
        final StringBuilder sb = new StringBuilder();
        for (final byte b : bytes)
        {
            sb.append(String.format("%02x", b));
        }
        return sb.toString();
    }
}
