package io.mmemu.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code mmemu replay} end to end on small scripts whose every output line follows from Linux's
 * rules by hand (mm/mmap.c, mm/vma.c, mm/mprotect.c, mm/mremap.c, mm/madvise.c, the x86 fault
 * handler, fs/proc/task_mmu.c). Each was also run on the host kernel (Linux 6.18 x86-64, through
 * the differential harness's reference runner): results and maps agree line for line.
 * <p>
 * Pagemap words are compared without bit 55 (soft-dirty): whether it shows depends on the kernel's
 * CONFIG_MEM_SOFT_DIRTY, which is a build choice, not a semantic.
 */
final class ReplayEndToEndTest
{
    private static final String FIXED_RW = "PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)";
    private static final long SOFT_DIRTY = 1L << 55;
    private static final long PRESENT = 1L << 63;
    private static final long FILE_OR_SHARED = 1L << 61;
    private static final long EXCLUSIVE = 1L << 56;

    @TempDir
    Path dir;

    private CommandOutput replay(final String script, final String... options) throws IOException
    {
        final Path path = Files.writeString(dir.resolve("t.strace"), script);
        final List<String> args = new ArrayList<>(List.of("replay", path.toString(), "--physmem", "64M"));
        args.addAll(List.of(options));
        final CommandOutput r = CommandOutput.run(args.toArray(String[]::new));
        assertEquals("", r.err());
        assertEquals(0, r.exitCode());
        return r;
    }

    /** The pagemap lines at the end of the output, words without the soft-dirty bit. */
    private static List<String> pagemap(final CommandOutput r, final int pages)
    {
        final String[] lines = r.out().split("\n");
        final List<String> words = new ArrayList<>();
        for (int i = lines.length - pages; i < lines.length; i++)
        {
            final String[] fields = lines[i].split(" ");
            assertEquals(2, fields.length, lines[i]);
            assertEquals(18, fields[1].length(), "0x and 16 digits: " + lines[i]);
            final long word = Long.parseUnsignedLong(fields[1].substring(2), 16);
            words.add(fields[0] + " " + Long.toHexString(word & ~SOFT_DIRTY));
        }
        return words;
    }

    private static String entry(final long va, final long word)
    {
        return "0x" + Long.toHexString(va) + " " + Long.toHexString(word);
    }

    @Test
    void munmapOfTheMiddleOfAFixedMappingLeavesTwoVmas() throws IOException
    {
        final CommandOutput r = replay("""
            # comments and recorded results are not echoed
            mmap(0x100000000000, 12288, %s = 0x100000000000
            munmap(0x100000001000, 4096)           = 0
            """.formatted(FIXED_RW), "--maps");
        assertEquals("""
            mmap(0x100000000000, 12288, %s = 0x100000000000
            munmap(0x100000001000, 4096) = 0
            100000000000-100000001000 rw-p 00000000 00:00 0\s
            100000002000-100000003000 rw-p 00000000 00:00 0\s
            """.formatted(FIXED_RW), r.out());
    }

    @Test
    void touchOfAnUnmappedPageRaisesMaperrThere() throws IOException
    {
        final CommandOutput r = replay("""
            touch(0x200000000000, 4096, PROT_READ)
            mmap(0x100000000000, 8192, %s
            munmap(0x100000001000, 4096)
            touch(0x100000000000, 8192, PROT_READ|PROT_WRITE)
            """.formatted(FIXED_RW), "--pagemap", "0x100000000000", "0x100000002000");
        final String[] lines = r.out().split("\n");
        assertEquals("touch(0x200000000000, 4096, PROT_READ) = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x200000000000}", lines[0]);
        assertEquals("touch(0x100000000000, 8192, PROT_READ|PROT_WRITE) = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x100000001000}",
            lines[3]);
        // the first page was read then written: a page of its own, mapped once
        assertEquals(List.of(entry(0x100000000000L, PRESENT | EXCLUSIVE), entry(0x100000001000L, 0)), pagemap(r, 2));
    }

    @Test
    void writeToReadOnlyRaisesAccerrAndTouchStopsThere() throws IOException
    {
        final CommandOutput r = replay("""
            mmap(0x100000000000, 12288, %s
            mprotect(0x100000001000, 4096, PROT_READ)
            touch(0x100000000000, 12288, PROT_WRITE)
            """.formatted(FIXED_RW), "--maps", "--pagemap", "0x100000000000", "0x100000003000");
        final String[] lines = r.out().split("\n");
        assertEquals("mprotect(0x100000001000, 4096, PROT_READ) = 0", lines[1]);
        assertEquals("touch(0x100000000000, 12288, PROT_WRITE) = SIGSEGV {si_code=SEGV_ACCERR, si_addr=0x100000001000}", lines[2]);
        assertEquals("100000000000-100000001000 rw-p 00000000 00:00 0 ", lines[3]);
        assertEquals("100000001000-100000002000 r--p 00000000 00:00 0 ", lines[4]);
        assertEquals("100000002000-100000003000 rw-p 00000000 00:00 0 ", lines[5]);
        // the third page was never reached: touch stops at the first signal
        assertEquals(List.of(entry(0x100000000000L, PRESENT | EXCLUSIVE), entry(0x100000001000L, 0), entry(0x100000002000L, 0)),
            pagemap(r, 3));
    }

    @Test
    void readingProtNoneIsAccerr() throws IOException
    {
        final CommandOutput r = replay("""
            mmap(0x100000040000, 4096, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
            touch(0x100000040000, 4096, PROT_READ)
            """, "--maps");
        assertEquals("""
            mmap(0x100000040000, 4096, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x100000040000
            touch(0x100000040000, 4096, PROT_READ) = SIGSEGV {si_code=SEGV_ACCERR, si_addr=0x100000040000}
            100000040000-100000041000 ---p 00000000 00:00 0\s
            """, r.out());
    }

    @Test
    void errnosAsLinuxReturnsThem() throws IOException
    {
        final CommandOutput r = replay("""
            mmap(0x100000000000, 4096, %s
            mprotect(0x100000000001, 4096, PROT_READ)
            munmap(0x100000000000, 0)
            mmap(NULL, 0, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
            mmap(NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0)
            mprotect(0x100000100000, 4096, PROT_READ)
            mmap(0x100000000000, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0)
            mremap(0x100000100000, 4096, 8192, MREMAP_MAYMOVE)
            mremap(0x100000000000, 4096, 8192, MREMAP_FIXED, 0x100000200000)
            mprotect(0x100000000000, 4096, PROT_READ|0x10)
            madvise(0x100000000000, 4096, 77)
            madvise(0x100000100000, 4096, MADV_DONTNEED)
            """.formatted(FIXED_RW));
        final String[] lines = r.out().split("\n");
        final String einval = "-1 EINVAL (Invalid argument)";
        final String enomem = "-1 ENOMEM (Cannot allocate memory)";
        final String[] expected = {
            "0x100000000000",
            einval, // unaligned address
            einval, // zero length
            einval, // zero length
            einval, // neither MAP_PRIVATE nor MAP_SHARED
            enomem, // nothing mapped there
            "-1 EEXIST (File exists)",
            "-1 EFAULT (Bad address)", // the old range is not mapped
            einval, // MREMAP_FIXED without MREMAP_MAYMOVE
            einval, // unknown prot bit
            einval, // unknown advice
            enomem, // advice on an unmapped range
        };
        assertEquals(expected.length, lines.length, r.out());
        for (int i = 0; i < expected.length; i++)
        {
            assertTrue(lines[i].endsWith(") = " + expected[i]), "line " + (i + 1) + ": " + lines[i]);
        }
    }

    @Test
    void growingInPlaceIntoANeighbourNeedsMaymove() throws IOException
    {
        final CommandOutput r = replay("""
            mmap(0x100000000000, 8192, %s
            mremap(0x100000000000, 4096, 8192, 0)
            mremap(0x100000000000, 4096, 8192, MREMAP_MAYMOVE)
            """.formatted(FIXED_RW), "--window", "0x100000000000", "0x100000100000", "--maps");
        final String[] lines = r.out().split("\n");
        assertEquals("mremap(0x100000000000, 4096, 8192, 0) = -1 ENOMEM (Cannot allocate memory)", lines[1]);
        // it moved somewhere the window does not reach, leaving the second page behind
        assertEquals("mremap(0x100000000000, 4096, 8192, MREMAP_MAYMOVE) = <outside window>", lines[2]);
        assertEquals("100000001000-100000002000 rw-p 00000000 00:00 0 ", lines[3]);
        assertEquals(4, lines.length, r.out());
    }

    @Test
    void theWindowHidesWhatTheHostWouldPlaceElsewhere() throws IOException
    {
        final String script = """
            mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
            mmap(0x100000000000, 4096, %s
            """.formatted(FIXED_RW);
        final CommandOutput windowed = replay(script, "--window", "0x100000000000", "0x100001000000", "--maps");
        assertEquals("""
            mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = <outside window>
            mmap(0x100000000000, 4096, %s = 0x100000000000
            100000000000-100000001000 rw-p 00000000 00:00 0\s
            """.formatted(FIXED_RW), windowed.out());

        // without a window: an empty address space places top-down from mmap_base 0x7ffff7fff000
        final CommandOutput whole = replay(script, "--maps");
        assertEquals("""
            mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffd000
            mmap(0x100000000000, 4096, %s = 0x100000000000
            100000000000-100000001000 rw-p 00000000 00:00 0\s
            7ffff7ffd000-7ffff7fff000 r--p 00000000 00:00 0\s
            """.formatted(FIXED_RW), whole.out());
    }

    @Test
    void madviseDropsPagesAndMremapCarriesTheRest() throws IOException
    {
        final CommandOutput r = replay("""
            mmap(0x100000020000, 8192, %s
            touch(0x100000020000, 8192, PROT_WRITE)
            madvise(0x100000020000, 4096, MADV_DONTNEED)
            mremap(0x100000020000, 8192, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x100000030000)
            """.formatted(FIXED_RW), "--maps", "--pagemap", "0x100000020000", "0x100000022000",
            "--window", "0x100000000000", "0x100001000000");
        final String[] lines = r.out().split("\n");
        assertEquals("touch(0x100000020000, 8192, PROT_WRITE) = 0", lines[1]);
        assertEquals("madvise(0x100000020000, 4096, MADV_DONTNEED) = 0", lines[2]);
        assertEquals("mremap(0x100000020000, 8192, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x100000030000) = 0x100000030000", lines[3]);
        assertEquals("100000030000-100000032000 rw-p 00000000 00:00 0 ", lines[4]);
        assertEquals(List.of(entry(0x100000020000L, 0), entry(0x100000021000L, 0)), pagemap(r, 2), "the old range is empty");

        final CommandOutput moved = replay(Files.readString(dir.resolve("t.strace")),
            "--pagemap", "0x100000030000", "0x100000032000");
        assertEquals(List.of(entry(0x100000030000L, 0), entry(0x100000031000L, PRESENT | EXCLUSIVE)), pagemap(moved, 2),
            "the dropped page stays empty, the written one moved");
    }

    @Test
    void sharedAnonymousMemoryIsShmem() throws IOException
    {
        final CommandOutput r = replay("""
            mmap(0x100000010000, 8192, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
            touch(0x100000010000, 4096, PROT_WRITE)
            """, "--maps", "--pagemap", "0x100000010000", "0x100000012000");
        final String[] lines = r.out().split("\n");
        assertEquals("touch(0x100000010000, 4096, PROT_WRITE) = 0", lines[1]);
        assertTrue(lines[2].startsWith("100000010000-100000012000 rw-s 00000000 "), lines[2]);
        assertTrue(lines[2].endsWith(" /dev/zero (deleted)"), lines[2]);
        assertEquals(73, lines[2].indexOf("/dev/zero"), "the name starts at column 74, as task_mmu.c pads it");
        assertEquals(List.of(entry(0x100000010000L, PRESENT | FILE_OR_SHARED | EXCLUSIVE), entry(0x100000011000L, 0)),
            pagemap(r, 2));
    }

    @Test
    void aReadFaultMapsTheSharedZeroPage() throws IOException
    {
        final CommandOutput r = replay("""
            mmap(0x100000000000, 4096, %s
            touch(0x100000000000, 4096, PROT_READ)
            """.formatted(FIXED_RW), "--pagemap", "0x100000000000", "0x100000001000");
        // present but not exclusive: the zero page is mapped everywhere (mainline do_anonymous_page)
        assertEquals(List.of(entry(0x100000000000L, PRESENT)), pagemap(r, 1));
    }

    @Test
    void touchWithoutAccessOrLengthTouchesNothing() throws IOException
    {
        final CommandOutput r = replay("""
            mmap(0x100000000000, 8192, %s
            touch(0x100000000000, 4096, PROT_NONE)
            touch(0x100000001000, 0, PROT_WRITE)
            touch(0x200000000000, 0, PROT_WRITE)
            """.formatted(FIXED_RW), "--pagemap", "0x100000000000", "0x100000002000");
        final String[] lines = r.out().split("\n");
        assertEquals("touch(0x100000000000, 4096, PROT_NONE) = 0", lines[1]);
        assertEquals("touch(0x100000001000, 0, PROT_WRITE) = 0", lines[2]);
        assertEquals("touch(0x200000000000, 0, PROT_WRITE) = 0", lines[3]);
        assertEquals(List.of(entry(0x100000000000L, 0), entry(0x100000001000L, 0)), pagemap(r, 2));
    }

    @Test
    void exhaustedEmulatedMemoryIsTheOomKillersSigkill() throws IOException
    {
        // 16 MiB on a 1 MiB machine: the overcommit heuristic refuses it unless MAP_NORESERVE
        final Path path = Files.writeString(dir.resolve("big.strace"), """
            mmap(0x100000000000, 16777216, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)
            mmap(0x100000000000, 16777216, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x100000000000
            touch(0x100000000000, 16777216, PROT_WRITE)
            munmap(0x100000000000, 16777216) = 0
            """);
        final CommandOutput r = CommandOutput.run("replay", path.toString(), "--physmem", "1M");
        assertEquals(0, r.exitCode(), r.err());
        final String[] lines = r.out().split("\n");
        assertEquals("mmap(0x100000000000, 16777216, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = " +
            "-1 ENOMEM (Cannot allocate memory)", lines[0]);
        assertEquals(4, lines.length, r.out());
        assertEquals("+++ killed by SIGKILL +++", lines[3], "nothing runs after the kill");
        final String touch = lines[2];
        final String prefix = "touch(0x100000000000, 16777216, PROT_WRITE) = SIGKILL {si_code=SI_KERNEL, si_addr=0x";
        assertTrue(touch.startsWith(prefix) && touch.endsWith("}"), touch);
        final long address = Long.parseUnsignedLong(touch.substring(prefix.length(), touch.length() - 1), 16);
        // 1 MiB is 256 frames: fewer than that were written before memory ran out, and at page starts
        assertTrue(address > 0x100000000000L && address < 0x100000000000L + (256 << 12), touch);
        assertEquals(0, address & 4095, touch);
    }

    @Test
    void standardInputRuns()
    {
        final CommandOutput r = CommandOutput.runWithInput("munmap(0x100000000000, 4096)\n", "replay", "-", "--physmem", "64M");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("munmap(0x100000000000, 4096) = 0\n", r.out());
    }
}
