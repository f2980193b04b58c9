package io.mmemu.inspect;

import java.nio.charset.StandardCharsets;

/**
 * The constants of the dump file format, version 2 (docs/dump-format.md is the specification;
 * keep the two in step; version 1, which had no paging field and so is always 4-level, is still
 * read). All integers are little-endian.
 * <pre>
 *  header (64 bytes)  magic, version, sizes, CR3, machine geometry, kernel build, section count, CRCs
 *  section table      one 32-byte entry per section: type, record count, offset, length, CRC32C
 *  sections           VMAS, DESCRIPTORS, STATS, TABLE_FRAMES, and optionally DATA_FRAMES
 * </pre>
 */
final class DumpFormat
{
    static final byte[] MAGIC = "MMEMUDMP".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 2;
    /** The first version, still read: four-level paging only (the kernel word's paging bits are 0). */
    static final int VERSION_1 = 1;
    static final int HEADER_SIZE = 64;
    static final int PAGE_SIZE = 4096;

    // header field offsets
    static final int H_MAGIC = 0;
    static final int H_VERSION = 8;
    static final int H_HEADER_SIZE = 10;
    static final int H_PAGE_SIZE = 12;
    static final int H_CR3 = 16;
    static final int H_TOTAL_FRAMES = 24;
    static final int H_BACKED_FRAMES = 32;
    static final int H_ZERO_PAGE = 40;
    static final int H_KERNEL = 48;
    static final int H_SECTIONS = 52;
    static final int H_TABLE_CRC = 56;
    static final int H_HEADER_CRC = 60;

    // kernel word bits
    static final int K_ZERO_PAGE = 1;
    static final int K_SOFT_DIRTY = 1 << 1;
    static final int K_THP_SHIFT = 8;
    static final int K_THP_MASK = 3 << K_THP_SHIFT;
    /** Version 2: the page-table levels, 4 or 5 (LA57), in bits 12..15. */
    static final int K_PAGING_SHIFT = 12;
    static final int K_PAGING_MASK = 0xF << K_PAGING_SHIFT;
    static final int K_KNOWN = K_ZERO_PAGE | K_SOFT_DIRTY | K_THP_MASK | K_PAGING_MASK;

    static final int SECTION_ENTRY_SIZE = 32;
    static final int S_TYPE = 0;
    static final int S_COUNT = 4;
    static final int S_OFFSET = 8;
    static final int S_LENGTH = 16;
    static final int S_CRC = 24;

    static final int VMAS = 1;
    static final int DESCRIPTORS = 2;
    static final int STATS = 3;
    static final int TABLE_FRAMES = 4;
    static final int DATA_FRAMES = 5;
    static final int SECTION_TYPES = 5;

    /** Fixed part of a VMA record, before its name bytes. */
    static final int VMA_FIXED_SIZE = 8 + 8 + 4 + 8 + 4 + 8 + 1 + 2;
    static final int VMA_ANONYMOUS = 1;
    static final int VMA_HAS_ANON_VMA = 1 << 1;
    static final int NO_NAME = 0xFFFF;

    static final int DESCRIPTOR_SIZE = 24;
    static final int FRAME_HEADER_SIZE = 16;
    static final int FRAME_RECORD_SIZE = FRAME_HEADER_SIZE + PAGE_SIZE;

    static final int STATS_COUNTERS = 7;
    static final int STATS_HISTOGRAMS = 5;

    private DumpFormat()
    {
    }

    static String sectionName(final int type)
    {
        return switch (type)
        {
            case VMAS -> "VMAS";
            case DESCRIPTORS -> "DESCRIPTORS";
            case STATS -> "STATS";
            case TABLE_FRAMES -> "TABLE_FRAMES";
            case DATA_FRAMES -> "DATA_FRAMES";
            default -> "unknown section " + type;
        };
    }
}
