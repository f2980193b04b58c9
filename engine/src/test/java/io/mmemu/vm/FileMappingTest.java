package io.mmemu.vm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MAP_SHARED;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** File-backed mappings (page cache, private copy-on-write, shared writes, SIGBUS, fd modes) and brk. */
final class FileMappingTest
{
    private static final long BASE = 0x200000000000L;
    private static final int RW = PROT_READ | PROT_WRITE;

    @TempDir
    Path dir;

    private PhysicalMemory memory;
    private AddressSpace mm;
    private Cpu cpu;
    private FileSystem files;

    @BeforeEach
    void setUp()
    {
        memory = PhysicalMemory.create(256L << 20);
        mm = AddressSpace.create(memory);
        cpu = mm.attachCpu();
        files = new FileSystem(memory);
    }

    @AfterEach
    void tearDown()
    {
        mm.check(false).assertOk();
        cpu.close();
        mm.close();
        files.close();
        assertEquals(1, memory.framesInUse(), "every frame but the zero page returns after close");
        memory.close();
    }

    /** A real file of {@code pages} pages whose word at every offset is offset * 3 + 7. */
    private OpenFile realFile(final int pages, final boolean writable) throws IOException
    {
        final ByteBuffer bytes = ByteBuffer.allocate(pages * 4096).order(ByteOrder.LITTLE_ENDIAN);
        for (int off = 0; off < pages * 4096; off += 8)
        {
            bytes.putLong(off, off * 3L + 7);
        }
        final Path path = dir.resolve("data.bin");
        Files.write(path, bytes.array());
        return OpenFile.open(files.lookup(path.toString()), writable);
    }

    private long read(final long va)
    {
        assertEquals(Signal.NONE, cpu.readLong(va), () -> String.format("read of 0x%x", va));
        return cpu.value();
    }

    @Test
    void privateMappingReadsTheFileAndWritesStayPrivate() throws IOException
    {
        final OpenFile file = realFile(4, false);
        assertEquals(BASE, cpu.mmap(BASE, 4 * 4096, RW, MAP_PRIVATE | MAP_FIXED, file, 0));
        final long other = cpu.mmap(0, 4 * 4096, PROT_READ, MAP_PRIVATE, file, 0);
        assertEquals((4096 + 8) * 3L + 7, read(BASE + 4096 + 8));
        assertEquals(8 * 3 + 7, read(BASE + 8));
        assertEquals(Signal.NONE, cpu.writeLong(BASE + 8, 42));
        assertEquals(42, read(BASE + 8));
        assertEquals(8 * 3 + 7, read(other + 8), "a private write never reaches the page cache");
        // MADV_DONTNEED drops the private copy: the file's bytes come back
        assertEquals(0, cpu.madvise(BASE, 4096, Mman.MADV_DONTNEED));
        assertEquals(8 * 3 + 7, read(BASE + 8));
    }

    @Test
    void sharedWritesOutliveTheMappingWhileTheFileIsKnown() throws IOException
    {
        final OpenFile file = realFile(1, true);
        final long a = cpu.mmap(0, 4096, RW, MAP_SHARED, file, 0);
        assertEquals(Signal.NONE, cpu.writeLong(a + 64, 777));
        assertEquals(0, cpu.munmap(a, 4096));
        final long b = cpu.mmap(0, 4096, PROT_READ, MAP_SHARED, file, 0);
        assertEquals(777, read(b + 64), "the page cache kept the written page");
        assertEquals(7, read(b), "the rest of the page is still the file's");
    }

    @Test
    void aTemporaryFileReadsAsZeroes()
    {
        final MappedFile tmp = MappedFile.temporary(8 * 4096);
        tmp.open();
        final long a = cpu.mmap(0, 8 * 4096, RW, MAP_PRIVATE, OpenFile.open(tmp, true), 0);
        assertEquals(0, read(a + 4096 * 5 + 8));
        assertEquals(0, cpu.munmap(a, 8 * 4096));
        tmp.close(memory);
    }

    @Test
    void mprotectToWritableKeepsCachePagesCopyOnWrite() throws IOException
    {
        final OpenFile file = realFile(2, false);
        assertEquals(BASE, cpu.mmap(BASE, 2 * 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, file, 0));
        final long other = cpu.mmap(0, 2 * 4096, PROT_READ, MAP_PRIVATE, file, 0);
        assertEquals(7, read(BASE));
        assertEquals(0, cpu.mprotect(BASE, 2 * 4096, RW));
        assertEquals(Signal.NONE, cpu.writeLong(BASE, 99));
        assertEquals(99, read(BASE));
        assertEquals(7, read(other), "the write copied the page instead of writing the cached one");
    }

    @Test
    void sharedMappingsOfOneFileSeeEachOthersWrites() throws IOException
    {
        final OpenFile file = realFile(2, true);
        final long a = cpu.mmap(0, 2 * 4096, RW, MAP_SHARED, file, 0);
        final long b = cpu.mmap(0, 4096, PROT_READ, MAP_SHARED, file, 4096);
        assertEquals(Signal.NONE, cpu.writeLong(a + 4096 + 16, 1234));
        assertEquals(1234, read(b + 16));
        assertEquals((4096 + 8) * 3L + 7, read(b + 8));
    }

    @Test
    void pagesPastTheEndOfTheFileRaiseSigbus() throws IOException
    {
        final OpenFile file = realFile(1, false);
        final long a = cpu.mmap(0, 3 * 4096, PROT_READ, MAP_PRIVATE, file, 0);
        assertEquals(7, read(a));
        assertEquals(Signal.BUS_ADRERR, cpu.readLong(a + 4096));
    }

    @Test
    void aFileWithoutContentsHereReadsAsThePattern()
    {
        final OpenFile file = OpenFile.open(files.lookup("/nonexistent/mmemu/lib.so"), false);
        final long a = cpu.mmap(0, 2 * 4096, PROT_READ, MAP_PRIVATE, file, 0x3000);
        assertEquals(MappedFile.patternWord(0x3000 + 4096 + 24), read(a + 4096 + 24));
        assertEquals(FileSystem.SYNTHETIC_DEV, file.inode().dev());
    }

    @Test
    void fdModesAndFileKindsGiveTheKernelsErrors() throws IOException
    {
        final OpenFile readOnly = realFile(1, false);
        assertEquals(-Errno.EACCES, cpu.mmap(0, 4096, RW, MAP_SHARED, readOnly, 0));
        final long shared = cpu.mmap(0, 4096, PROT_READ, MAP_SHARED, readOnly, 0);
        assertEquals(-Errno.EACCES, cpu.mprotect(shared, 4096, RW), "no VM_MAYWRITE through a read-only fd");
        assertEquals(-Errno.ENODEV, cpu.mmap(0, 4096, PROT_READ, MAP_PRIVATE,
            OpenFile.open(files.lookup(dir.toString()), false), 0));
        assertEquals(-Errno.EBADF, cpu.mmap(0, 4096, PROT_READ, MAP_PRIVATE, (OpenFile)null, 0));
        assertEquals(-Errno.EINVAL, cpu.mmap(0, 4096, PROT_READ, MAP_PRIVATE, readOnly, 100));
        assertEquals(-Errno.EINVAL, cpu.mmap(0, 4096, PROT_READ, MAP_PRIVATE | Mman.MAP_HUGETLB, readOnly, 0));
    }

    @Test
    void mapsShowsPathOffsetAndOneOpenMerges() throws IOException
    {
        final OpenFile file = realFile(4, false);
        final MappedFile inode = file.inode();
        assertEquals(BASE, cpu.mmap(BASE, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, file, 0));
        assertEquals(BASE + 4096, cpu.mmap(BASE + 4096, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, file, 4096));
        // a second open of the same file is another struct file: no merge
        final OpenFile again = OpenFile.open(inode, false);
        assertEquals(BASE + 8192, cpu.mmap(BASE + 8192, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, again, 8192));
        final List<VmaInfo> vmas = mm.vmas();
        assertEquals(2, vmas.size());
        final String expected = String.format("%x-%x r--p %08x %02x:%02x %d ", BASE, BASE + 8192, 0,
            Dev.major(inode.dev()), Dev.minor(inode.dev()), inode.inode());
        assertTrue(vmas.get(0).mapsLine().startsWith(expected), vmas.get(0).mapsLine());
        assertTrue(vmas.get(0).mapsLine().endsWith(" " + inode.path()));
        assertTrue(vmas.get(1).mapsLine().contains(" 00002000 "));
    }

    @Test
    void devZeroPrivateIsAnonymousMemoryNamedDevZero()
    {
        final OpenFile zero = OpenFile.open(files.lookup("/dev/zero"), true);
        final long a = cpu.mmap(0, 2 * 4096, RW, MAP_PRIVATE, zero, 0);
        assertEquals(0, read(a + 8));
        assertEquals(Signal.NONE, cpu.writeLong(a + 8, 5));
        assertEquals(5, read(a + 8));
        assertTrue(mm.vmas().get(0).mapsLine().endsWith(" /dev/zero"), mm.vmas().get(0).mapsLine());
        final long s = cpu.mmap(0, 4096, RW, MAP_SHARED, zero, 0);
        assertTrue(mm.vmas().stream().anyMatch(v -> v.start() == s && v.mapsLine().endsWith("/dev/zero (deleted)")));
    }

    @Test
    void brkGrowsShrinksAndRefusesAsTheKernelDoes()
    {
        final long bss = BASE + 0x10000;
        mm.install(BASE, bss, VmFlags.VM_READ | VmFlags.VM_WRITE | VmFlags.VM_MAYREAD | VmFlags.VM_MAYWRITE, 0, null, null, true);
        mm.setBrk(bss, bss);
        assertEquals(bss, cpu.brk(0), "brk(NULL) reads the break");
        assertEquals(bss, cpu.brk(bss - 1), "below the start: the old break");
        assertEquals(bss + 0x2100, cpu.brk(bss + 0x2100));
        assertTrue(mm.vmas().stream().anyMatch(v -> v.start() == bss && v.end() == bss + 0x3000 && "[heap]".equals(v.name())),
            () -> mm.vmas().toString());
        assertEquals(2, mm.mapCount(), "the heap does not merge with the bss below its start");
        assertEquals(Signal.NONE, cpu.writeLong(bss + 0x2000, 1));
        // a mapping 0x10000 above the heap: growth must leave one page free below it
        final long wall = bss + 0x10000;
        assertEquals(wall, cpu.mmap(wall, 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
        assertEquals(bss + 0x2100, cpu.brk(wall), "up to the next mapping: refused");
        assertEquals(wall - 4096, cpu.brk(wall - 4096));
        assertEquals(bss + 0x1000, cpu.brk(bss + 0x1000), "shrinking unmaps");
        assertEquals(Signal.SEGV_MAPERR, cpu.readByte(bss + 0x2000));
        assertEquals(bss, cpu.brk(bss));
        assertTrue(mm.vmas().stream().noneMatch(v -> "[heap]".equals(v.name())));
    }
}
