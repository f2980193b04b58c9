package io.mmemu.script;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import io.mmemu.elf.ElfImage;
import io.mmemu.elf.ExecException;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.FileSystem;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.LockingMode;
import io.mmemu.vm.VdsoImage;
import io.mmemu.vm.VmaInfo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Layouts of synthetic ELF files, checked against load_elf_binary's arithmetic. */
final class ExecLayoutTest
{
    private static final long MIB = 1L << 20;
    private static final VdsoImage VDSO = VdsoImage.LINUX_6_18;

    @TempDir
    Path dir;
    private PhysicalMemory memory;
    private FileSystem files;

    @BeforeEach
    void setUp()
    {
        memory = PhysicalMemory.create(16 * MIB);
        files = new FileSystem(memory);
    }

    @AfterEach
    void tearDown()
    {
        files.close();
        memory.close();
    }

    private static String range(final InitialMaps.Line line)
    {
        return String.format("%x-%x %s", line.start(), line.end(), line.name() == null ? "" : line.name());
    }

    @Test
    void mmapBaseIsTaskSizeLessTheStackRlimitAndGuardGapClampedTo128MiB()
    {
        assertEquals(0x7ffff7fff000L, ExecLayout.mmapBase(8 * MIB), "8 MiB + 1 MiB of guard is below the 128 MiB floor");
        assertEquals(AddressSpace.TASK_SIZE - 1024 * MIB - AddressSpace.STACK_GUARD_GAP, ExecLayout.mmapBase(1024 * MIB));
        assertEquals((AddressSpace.TASK_SIZE - AddressSpace.TASK_SIZE / 6 * 5 + 4095) & ~4095L, ExecLayout.mmapBase(Long.MAX_VALUE),
            "unlimited: the 5/6 TASK_SIZE ceiling");
    }

    @Test
    void aStaticExecutableAtItsAddressesWithBssAndTheBreakAfterIt() throws Exception
    {
        final Path prog = ElfImage.executable().load(5, 0, 0x400000, 0x1800, 0x1800).load(6, 0x1800, 0x402800, 0x300, 0x3000)
            .write(dir.resolve("static"));
        final ExecLayout.Layout layout = ExecLayout.compute(prog.toString(), List.of("static"), List.of(), 8 * MIB, VDSO, files);
        final List<String> ranges = layout.lines().stream().map(ExecLayoutTest::range).toList();
        final String real = prog.toRealPath().toString();
        assertEquals(8, ranges.size(), ranges::toString);
        assertEquals("400000-402000 " + real, ranges.get(0));
        assertEquals(0x1000, layout.lines().get(1).offset(), "the data page maps file offset 0x1000 (0x1800 rounded down)");
        assertEquals("403000-406000 ", ranges.get(2), "bss: the pages past the file's bytes, anonymous");
        assertEquals(0x406000, layout.startBrk(), "start_brk: the page-aligned end of the bss");
        assertEquals("7ffff7ff7000-7ffff7ffb000 [vvar]", ranges.get(3), "vdso and vvar top down from mmap_base");
        assertEquals("7ffff7ffd000-7ffff7fff000 [vdso]", ranges.get(5));
        assertEquals("7ffffffde000-7ffffffff000 [stack]", ranges.get(6), "one page of strings plus 128 KiB");
    }

    @Test
    void aPieWithALoaderAtEtDynBaseTheLoaderTopDownAndTheVdsoBelowIt() throws Exception
    {
        final Path loader = ElfImage.dynamic().load(4, 0, 0, 0x1000, 0x1000).load(5, 0x1000, 0x1000, 0x3000, 0x3000)
            .load(6, 0x4000, 0x5000, 0x1000, 0x2000).write(dir.resolve("ld.so"));
        final Path prog = ElfImage.dynamic().interpreter(loader.toString()).load(4, 0, 0, 0x1000, 0x1000)
            .load(5, 0x1000, 0x1000, 0x2000, 0x2000).write(dir.resolve("pie"));
        final String longArgument = "x".repeat(6000);
        final ExecLayout.Layout layout = ExecLayout.compute(prog.toString(), List.of("pie", longArgument), List.of("A=B"),
            8 * MIB, VDSO, files);
        final List<String> ranges = layout.lines().stream().map(ExecLayoutTest::range).toList();
        final String pie = prog.toRealPath().toString();
        final String ld = loader.toRealPath().toString();
        assertEquals(List.of(
            "555555554000-555555555000 " + pie,
            "555555555000-555555557000 " + pie,
            "7ffff7ff0000-7ffff7ff4000 [vvar]",
            "7ffff7ff4000-7ffff7ff6000 [vvar_vclock]",
            "7ffff7ff6000-7ffff7ff8000 [vdso]",
            "7ffff7ff8000-7ffff7ff9000 " + ld,
            "7ffff7ff9000-7ffff7ffc000 " + ld,
            "7ffff7ffd000-7ffff7ffe000 " + ld,
            "7ffff7ffe000-7ffff7fff000 ",
            "7ffffffdd000-7ffffffff000 [stack]",
            "ffffffffff600000-ffffffffff601000 [vsyscall]"), ranges,
            "the loader's 0x7000 bytes end at mmap_base, the page between its second and third segments stays a hole " +
            "(total_mapping_size was mapped, then all but the first segment unmapped); 6000+ bytes of strings reach " +
            "the second page below STACK_TOP");
    }

    @Test
    void theLayoutInstallsAndPrintsAsMaps() throws Exception
    {
        final Path prog = ElfImage.executable().load(5, 0, 0x400000, 0x1000, 0x1000).write(dir.resolve("tiny"));
        final ExecLayout.Layout layout = ExecLayout.compute(prog.toString(), List.of("tiny"), List.of(), 8 * MIB, VDSO, files);
        try (AddressSpace space = AddressSpace.create(memory, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION,
            KernelConfig.MAINLINE))
        {
            layout.install(space, files, false);
            final List<String> maps = space.vmas().stream().map(VmaInfo::mapsLine).toList();
            assertEquals(layout.lines().size(), maps.size());
            assertTrue(maps.get(0).startsWith("00400000-00401000 r-xp 00000000 "), maps.get(0));
            assertTrue(maps.get(0).endsWith(prog.toRealPath().toString()), maps.get(0));
            assertEquals(0x401000, space.brk());
            assertEquals(0x401000, space.startBrk());
        }
    }

    @Test
    void aSegmentExecveCannotPlaceIsNamedWithItsProgramHeader() throws Exception
    {
        final Path low = ElfImage.executable().load(5, 0, 0, 0x1000, 0x1000).write(dir.resolve("low"));
        assertEquals(low + ": offset 0x40: PT_LOAD 0 at 0x0-0x1000 is outside the user address space",
            assertThrows(ExecException.class, () -> ExecLayout.compute(low.toString(), List.of(), List.of(), 8 * MIB, VDSO,
                files)).getMessage());
        final Path onStack = ElfImage.executable().load(5, 0, 0x7ffffffe0000L, 0x1000, 0x1000).write(dir.resolve("onstack"));
        assertEquals(onStack + ": offset 0x40: PT_LOAD 0 at 0x7ffffffe0000-0x7ffffffe1000 overlaps another mapping",
            assertThrows(ExecException.class, () -> ExecLayout.compute(onStack.toString(), List.of(), List.of(), 8 * MIB, VDSO,
                files)).getMessage());
    }

    @Test
    void aMissingLoaderIsNamedWithThePtInterpOffset() throws Exception
    {
        final Path prog = ElfImage.dynamic().interpreter("/nonexistent/ld.so").load(4, 0, 0, 0x1000, 0x1000)
            .write(dir.resolve("orphan"));
        final ExecException ex = assertThrows(ExecException.class,
            () -> ExecLayout.compute(prog.toString(), List.of("orphan"), List.of(), 8 * MIB, VDSO, files));
        assertEquals(prog + ": offset 0xb0: interpreter /nonexistent/ld.so: no such file (execve: ENOENT)", ex.getMessage());
        final Path notElfLoader = Files.writeString(dir.resolve("fake-ld.so"), "not a loader");
        final Path prog2 = ElfImage.dynamic().interpreter(notElfLoader.toString()).load(4, 0, 0, 0x1000, 0x1000)
            .write(dir.resolve("orphan2"));
        assertEquals(notElfLoader + ": offset 0x0: not an ELF file (no \\177ELF magic)", assertThrows(ExecException.class,
            () -> ExecLayout.compute(prog2.toString(), List.of("orphan2"), List.of(), 8 * MIB, VDSO, files)).getMessage());
        assertEquals(dir.resolve("none") + ": no such file (execve: ENOENT)", assertThrows(ExecException.class,
            () -> ExecLayout.compute(dir.resolve("none").toString(), List.of(), List.of(), 8 * MIB, VDSO, files)).getMessage());
        final Path tiny = ElfImage.executable().load(5, 0, 0x400000, 0x1000, 0x1000).write(dir.resolve("tiny"));
        assertTrue(assertThrows(ExecException.class, () -> ExecLayout.compute(tiny.toString(), List.of("x".repeat(3 * (int)MIB)),
            List.of(), 8 * MIB, VDSO, files)).getMessage().contains("argument list too long"));
    }
}
