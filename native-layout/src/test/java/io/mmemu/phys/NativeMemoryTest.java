package io.mmemu.phys;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Host memory behaviour, read from /proc/self/status: a reservation costs address space, not
 * resident memory, until touched; discard gives touched pages back; closing the arena unmaps.
 * Margins are tens of MiB against effects of hundreds of GiB, so the JVM's own activity cannot
 * decide the outcome.
 */
final class NativeMemoryTest
{
    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;
    private static final long GIB = 1024 * MIB;
    /** More than the JVM's own RSS drift during a test, far less than any reservation here. */
    private static final long NOISE = 48 * MIB;

    @Test
    void reservingHundredsOfGibibytesCostsAlmostNoResidentMemory()
    {
        final long size = 256 * GIB;
        final long rssBefore = status("VmRSS");
        final long vmBefore = status("VmSize");
        try (Arena arena = Arena.ofShared())
        {
            final MemorySegment memory = NativeMemory.reserve(size, arena);
            assertEquals(size, memory.byteSize());
            assertTrue(status("VmSize") - vmBefore >= size, "the address space is reserved");
            assertTrue(status("VmRSS") - rssBefore < NOISE, "reserving made memory resident");

            // touching three pages costs three pages; everything else still reads zero
            memory.set(ValueLayout.JAVA_LONG, 0, 0x1111L);
            memory.set(ValueLayout.JAVA_LONG, 128 * GIB, 0x2222L);
            memory.set(ValueLayout.JAVA_LONG, size - 8, 0x3333L);
            assertEquals(0x1111L, memory.get(ValueLayout.JAVA_LONG, 0));
            assertEquals(0x2222L, memory.get(ValueLayout.JAVA_LONG, 128 * GIB));
            assertEquals(0x3333L, memory.get(ValueLayout.JAVA_LONG, size - 8));
            assertEquals(0L, memory.get(ValueLayout.JAVA_LONG, 64 * GIB));
            assertEquals(0L, memory.get(ValueLayout.JAVA_LONG, 128 * GIB + 4096));
            assertTrue(status("VmRSS") - rssBefore < NOISE, "a few touched pages made memory resident");
        }
        assertTrue(status("VmSize") - vmBefore < 16 * GIB, "closing the arena unmaps the reservation");
    }

    @Test
    void touchedPagesAreResidentUntilDiscarded()
    {
        final long size = 128 * MIB;
        try (Arena arena = Arena.ofShared())
        {
            final MemorySegment memory = NativeMemory.reserve(size, arena);
            final long rssBefore = status("VmRSS");
            memory.fill((byte)1);
            final long rssTouched = status("VmRSS");
            assertTrue(rssTouched - rssBefore > size - NOISE, "writing every page makes it resident");

            // discard all but the first and last page
            assertEquals(0, NativeMemory.discard(memory, 4096, size - 8192));
            assertTrue(rssTouched - status("VmRSS") > size - NOISE, "discarded pages are given back");
            assertEquals(1, memory.get(ValueLayout.JAVA_BYTE, 4095));
            assertEquals(0, memory.get(ValueLayout.JAVA_BYTE, 4096));
            assertEquals(0, memory.get(ValueLayout.JAVA_BYTE, size / 2));
            assertEquals(0, memory.get(ValueLayout.JAVA_BYTE, size - 4097));
            assertEquals(1, memory.get(ValueLayout.JAVA_BYTE, size - 4096));

            // the host's errno comes back for a misaligned range (EINVAL = 22)
            assertEquals(22, NativeMemory.discard(memory, 1, 4096));
        }
    }

    /** A range past the segment would drop the host pages of whatever is mapped behind it. */
    @Test
    void populatedPagesAreResidentAndStillZero()
    {
        final long size = 64 * MIB;
        try (Arena arena = Arena.ofShared())
        {
            final MemorySegment memory = NativeMemory.reserve(size, arena);
            memory.set(ValueLayout.JAVA_BYTE, size / 2 + 7, (byte)9);
            final long rssBefore = status("VmRSS");
            assertEquals(0, NativeMemory.populate(memory));
            assertTrue(status("VmRSS") - rssBefore > size - NOISE - 2 * MIB, "populating backs every page");
            assertEquals(0, memory.get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(0, memory.get(ValueLayout.JAVA_BYTE, size - 1));
            assertEquals(9, memory.get(ValueLayout.JAVA_BYTE, size / 2 + 7), "what was written stays");
        }
    }

    @Test
    void discardOutsideTheSegmentIsRejected()
    {
        try (Arena arena = Arena.ofShared())
        {
            final MemorySegment memory = NativeMemory.reserve(2 * 4096, arena);
            final MemorySegment neighbour = NativeMemory.reserve(4096, arena);
            memory.fill((byte)1);
            neighbour.fill((byte)2);
            assertThrows(IndexOutOfBoundsException.class, () -> NativeMemory.discard(memory, 4096, 2 * 4096));
            assertThrows(IndexOutOfBoundsException.class, () -> NativeMemory.discard(memory, -4096, 4096));
            assertThrows(IndexOutOfBoundsException.class, () -> NativeMemory.discard(memory, 0, -4096));
            assertEquals(1, memory.get(ValueLayout.JAVA_BYTE, 4096), "nothing discarded");
            assertEquals(2, neighbour.get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(0, NativeMemory.discard(memory, 4096, 4096));
            assertEquals(0, memory.get(ValueLayout.JAVA_BYTE, 4096));
            assertEquals(1, memory.get(ValueLayout.JAVA_BYTE, 4095));
        }
    }

    @Test
    void physicalMemoryOfHundredsOfGibibytesIsCheapUntilUsed()
    {
        final long rssBefore = status("VmRSS");
        try (PhysicalMemory memory = PhysicalMemory.create(256 * GIB))
        {
            assertEquals(256 * GIB / 4096, memory.totalFrames());
            final FrameCache cache = memory.newCache();
            for (int i = 0; i < 1000; i++)
            {
                assertNotEquals(BuddyAllocator.NO_FRAME, memory.allocateData(cache));
            }
            assertEquals(1001, memory.framesInUse());
            assertTrue(status("VmRSS") - rssBefore < NOISE, "a 256 GiB machine with 1000 frames in use is not cheap");
        }
    }

    @Test
    void badReservationsAreRejected()
    {
        try (Arena arena = Arena.ofConfined())
        {
            assertThrows(IllegalArgumentException.class, () -> NativeMemory.reserve(0, arena));
            assertThrows(IllegalArgumentException.class, () -> NativeMemory.reserve(-4096, arena));
            assertThrows(IllegalArgumentException.class, () -> NativeMemory.reserve(4097, arena));
            // beyond the 47-bit user address space: the host refuses, with its errno in the message
            final IllegalStateException refused =
                assertThrows(IllegalStateException.class, () -> NativeMemory.reserve(1L << 48, arena));
            assertTrue(refused.getMessage().contains("errno 12"), refused.getMessage());
        }
    }

    /** A "Key:   value kB" line of /proc/self/status, in bytes. */
    private static long status(final String key)
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/self/status")))
            {
                if (line.startsWith(key + ":"))
                {
                    final String[] parts = line.substring(key.length() + 1).trim().split("\\s+");
                    assertEquals("kB", parts[1]);
                    return Long.parseLong(parts[0]) * KIB;
                }
            }
        }
        catch (final IOException ex)
        {
            throw new AssertionError(ex);
        }
        throw new AssertionError(key + " missing from /proc/self/status");
    }
}
