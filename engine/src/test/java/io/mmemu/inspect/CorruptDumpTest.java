package io.mmemu.inspect;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.ThpMode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Truncated and corrupted dumps: every one is a {@link DumpFormatException} naming an offset and
 * the problem — never another exception, never a view. Structural corruptions are made with valid
 * checksums ({@link #reseal}), so they reach the structure checks behind the CRCs.
 */
class CorruptDumpTest
{
    private static final int HEADER = 64;
    private static final int SECTION_ENTRY = 32;
    private static final int FRAME_RECORD = 16 + 4096;
    private static final int TABLE_FRAMES = 4;
    private static final int VMAS = 1;

    private static byte[] good;

    @TempDir
    static Path dir;

    @BeforeAll
    static void writeAGoodDump() throws IOException
    {
        try (Scenario s = new Scenario(KernelConfig.MAINLINE))
        {
            final Path file = dir.resolve("good.dump");
            Inspection.of(s.space, ThpMode.ALWAYS).writeDump(file, true);
            good = Files.readAllBytes(file);
        }
        try (DumpReader.Dump dump = DumpReader.read(good))
        {
            assertTrue(dump.tables() > 5 && dump.dataFrames() > 20, "a dump worth corrupting");
        }
    }

    /** Reads the bytes, expecting a format error whose message contains every one of {@code words}. */
    private static DumpFormatException rejected(final byte[] bytes, final String... words)
    {
        try (DumpReader.Dump ignored = DumpReader.read(bytes))
        {
            fail("accepted a corrupted dump");
            return null;
        }
        catch (final DumpFormatException ex)
        {
            assertTrue(ex.getMessage().startsWith("offset " + ex.offset() + " (0x"), ex.getMessage());
            for (final String word : words)
            {
                assertTrue(ex.getMessage().contains(word), () -> "'" + word + "' not in: " + ex.getMessage());
            }
            return ex;
        }
        catch (final RuntimeException ex)
        {
            throw new AssertionError("a corrupted dump crashed the reader", ex);
        }
    }

    @Test
    void everyTruncationIsReportedAsOne()
    {
        final SplittableRandom random = new SplittableRandom(5);
        for (int i = 0; i < 600; i++)
        {
            final int length = i < 400 ? i : random.nextInt(good.length);
            rejected(Arrays.copyOf(good, length), "truncated");
        }
        final DumpFormatException last = rejected(Arrays.copyOf(good, good.length - 1), "truncated");
        assertEquals(good.length - 1, last.offset(), "the offset where the file ends");
        assertEquals("offset 10 (0xa): truncated: the file ends after 10 bytes, inside the 64-byte header",
            rejected(Arrays.copyOf(good, 10)).getMessage());
    }

    @Test
    void everyFlippedByteIsCaught()
    {
        final SplittableRandom random = new SplittableRandom(7);
        final int metadataEnd = (int)sectionOffset(TABLE_FRAMES);
        final byte[] bad = good.clone();
        for (int at = 0; at < good.length; at += at < metadataEnd ? 1 : 1 + random.nextInt(97))
        {
            final byte flip = (byte)(1 + random.nextInt(255));
            bad[at] ^= flip;
            rejected(bad);
            bad[at] ^= flip;
        }
    }

    @Test
    void aWrongMagicIsNotADump()
    {
        final byte[] bad = good.clone();
        bad[7] = 'X';
        final DumpFormatException ex = rejected(bad, "not an mmemu dump", "MMEMUDMP");
        assertEquals(0, ex.offset());
        rejected("hello, world, this is not a dump file at all, only some text....".getBytes(StandardCharsets.US_ASCII),
            "not an mmemu dump");
    }

    @Test
    void aNewerVersionIsRefusedByName()
    {
        final byte[] bad = good.clone();
        bad[8] = 3;
        assertEquals(8, rejected(reseal(bad), "unsupported version 3 (this reader knows versions 1 and 2)").offset());
        bad[8] = 0;
        assertEquals(8, rejected(reseal(bad), "unsupported version 0").offset());
    }

    /** Version 2 records the paging levels in the kernel word's bits 12..15: only 4 and 5 are levels. */
    @Test
    void pagingLevelsOtherThanFourOrFiveAreRefused()
    {
        final byte[] bad = good.clone();
        final int kernel = le(bad).getInt(48);
        assertEquals(4, (kernel >>> 12) & 0xF, "a 4-level dump says so");
        le(bad).putInt(48, (kernel & ~0xF000) | (6 << 12));
        assertEquals(48, rejected(reseal(bad), "paging levels 6", "expected 4 or 5").offset());
        le(bad).putInt(48, kernel & ~0xF000);
        assertEquals(48, rejected(reseal(bad), "paging levels 0").offset());
        // version 1 had no paging field: the bits are unknown there
        le(bad).putInt(48, kernel);
        bad[8] = 1;
        rejected(reseal(bad), "unknown kernel bits");
    }

    @Test
    void aSectionPointingPastTheEndIsTruncation()
    {
        final byte[] bad = good.clone();
        final int entry = HEADER + SECTION_ENTRY * index(TABLE_FRAMES);
        le(bad).putLong(entry + 8, good.length - 100);
        rejected(reseal(bad), "TABLE_FRAMES", "truncated");
        le(bad).putLong(entry + 8, 1L << 40);
        assertEquals(entry + 8, rejected(reseal(bad), "outside the file").offset());
    }

    @Test
    void aTablePointerToAFrameOutsideTheDumpNamesTheEntry()
    {
        final byte[] bad = good.clone();
        final int root = frameBytes(0);
        final int slot = firstNonEmptyEntry(bad, root);
        final ByteBuffer b = le(bad);
        b.putLong(slot, (b.getLong(slot) & 0xFFF) | (0x3000000L & ~0xFFFL));
        final DumpFormatException ex = rejected(reseal(bad), "points to physical 0x3000000",
            "not a level-3 table frame in the dump");
        assertEquals(slot, ex.offset(), "the offset of the bad entry");
    }

    @Test
    void aTableReachedTwiceIsACycleOrSharingAndRefused()
    {
        final byte[] bad = good.clone();
        final int root = frameBytes(0);
        final int first = firstNonEmptyEntry(bad, root);
        final ByteBuffer b = le(bad);
        // a second PML4 entry pointing at the first one's PUD table
        final int second = first == root + 8 * 255 ? root : first + 8;
        assertEquals(0, b.getLong(second), "a free slot next to it");
        b.putLong(second, b.getLong(first));
        assertEquals(second, rejected(reseal(bad), "a second time").offset());
    }

    @Test
    void aLeafMappingAnUndescribedFrameIsRefused()
    {
        final byte[] bad = good.clone();
        // a PTE for a backed frame with no descriptor: some PT page's empty slot
        for (int f = 0; f < count(TABLE_FRAMES); f++)
        {
            final int bytes = frameBytes(f);
            if (level(f) == 1)
            {
                final int slot = firstEmptyEntry(bad, bytes);
                le(bad).putLong(slot, 0x8000000000000867L | (0x3F00L << 12));
                assertEquals(slot, rejected(reseal(bad), "has no descriptor").offset());
                return;
            }
        }
        fail("no PT page in the dump");
    }

    @Test
    void aBadVmaNameIsReportedWhereItIs()
    {
        final byte[] bad = good.clone();
        final ByteBuffer b = le(bad);
        final int vmas = (int)sectionOffset(VMAS);
        // the first VMA's record: make its name 2 bytes long, 0xff 0xfe (not UTF-8); shorten the section to match
        final int nameLengthAt = vmas + 41;
        final int oldLength = Short.toUnsignedInt(b.getShort(nameLengthAt));
        assertEquals(0xFFFF, oldLength, "anonymous VMAs have no name");
        final int entry = HEADER + SECTION_ENTRY * index(VMAS);
        final byte[] rebuilt = new byte[bad.length + 2];
        System.arraycopy(bad, 0, rebuilt, 0, vmas + 43);
        rebuilt[vmas + 43] = (byte)0xFF;
        rebuilt[vmas + 44] = (byte)0xFE;
        System.arraycopy(bad, vmas + 43, rebuilt, vmas + 45, bad.length - vmas - 43);
        final ByteBuffer r = le(rebuilt);
        r.putShort(nameLengthAt, (short)2);
        r.putLong(entry + 16, r.getLong(entry + 16) + 2);
        for (int i = 0; i < r.getInt(52); i++)
        {
            final int e = HEADER + SECTION_ENTRY * i;
            if (r.getLong(e + 8) > vmas)
            {
                r.putLong(e + 8, r.getLong(e + 8) + 2);
            }
        }
        assertEquals(vmas + 43, rejected(reseal(rebuilt), "name is not valid UTF-8").offset());
    }

    // ---------------------------------------------------------------- the layout, read from the good dump

    private static ByteBuffer le(final byte[] bytes)
    {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static int index(final int type)
    {
        final ByteBuffer b = le(good);
        for (int i = 0; i < b.getInt(52); i++)
        {
            if (b.getInt(HEADER + SECTION_ENTRY * i) == type)
            {
                return i;
            }
        }
        throw new AssertionError("no section " + type);
    }

    private static long sectionOffset(final int type)
    {
        return le(good).getLong(HEADER + SECTION_ENTRY * index(type) + 8);
    }

    private static int count(final int type)
    {
        return le(good).getInt(HEADER + SECTION_ENTRY * index(type) + 4);
    }

    /** File offset of table frame {@code f}'s 4096 bytes (frame 0 is the PML4: written first). */
    private static int frameBytes(final int f)
    {
        return (int)sectionOffset(TABLE_FRAMES) + f * FRAME_RECORD + 16;
    }

    /** The level of table frame {@code f}, from its descriptor. */
    private static int level(final int f)
    {
        final ByteBuffer b = le(good);
        final long pa = b.getLong(frameBytes(f) - 16);
        final int descriptors = (int)sectionOffset(2);
        for (int i = 0; i < count(2); i++)
        {
            if (b.getLong(descriptors + 24 * i) == pa >>> 12)
            {
                return b.getInt(descriptors + 24 * i + 12);
            }
        }
        throw new AssertionError("no descriptor for table frame " + f);
    }

    private static int firstNonEmptyEntry(final byte[] bytes, final int frame)
    {
        for (int i = 0; i < 512; i++)
        {
            if (le(bytes).getLong(frame + 8 * i) != 0)
            {
                return frame + 8 * i;
            }
        }
        throw new AssertionError("empty table");
    }

    private static int firstEmptyEntry(final byte[] bytes, final int frame)
    {
        for (int i = 0; i < 512; i++)
        {
            if (le(bytes).getLong(frame + 8 * i) == 0)
            {
                return frame + 8 * i;
            }
        }
        throw new AssertionError("full table");
    }

    /** Recomputes every checksum (frames, sections, section table, header) as docs/dump-format.md defines them. */
    private static byte[] reseal(final byte[] bytes)
    {
        final ByteBuffer b = le(bytes);
        final int sections = b.getInt(52);
        for (int i = 0; i < sections; i++)
        {
            final int e = HEADER + SECTION_ENTRY * i;
            final long offset = b.getLong(e + 8);
            final long length = b.getLong(e + 16);
            if (offset < 0 || length < 0 || offset + length > bytes.length)
            {
                continue;
            }
            final int type = b.getInt(e);
            if (type == TABLE_FRAMES || type == 5)
            {
                for (long at = offset; at + FRAME_RECORD <= offset + length; at += FRAME_RECORD)
                {
                    final CRC32C crc = new CRC32C();
                    crc.update(bytes, (int)at, 8);
                    crc.update(bytes, (int)at + 16, 4096);
                    b.putInt((int)at + 8, (int)crc.getValue());
                }
            }
            b.putInt(e + 24, crc(bytes, (int)offset, (int)length));
        }
        b.putInt(56, crc(bytes, HEADER, sections * SECTION_ENTRY));
        b.putInt(60, crc(bytes, 0, 60));
        return bytes;
    }

    private static int crc(final byte[] bytes, final int offset, final int length)
    {
        final CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        return (int)crc.getValue();
    }
}
