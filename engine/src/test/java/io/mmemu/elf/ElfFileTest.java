package io.mmemu.elf;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

final class ElfFileTest
{
    @TempDir
    Path dir;

    private ExecException refused(final byte[] bytes) throws IOException
    {
        final Path file = Files.write(dir.resolve("bad"), bytes);
        return assertThrows(ExecException.class, () -> ElfFile.read(file, "bad"));
    }

    private static ElfImage program()
    {
        return ElfImage.dynamic().interpreter("/lib/ld.so").load(4, 0, 0, 0x2000, 0x2000).load(6, 0x2000, 0x3000, 0x800, 0x5000);
    }

    @Test
    void readsTheHeaderAndEveryProgramHeader() throws Exception
    {
        final ElfFile elf = ElfFile.read(program().write(dir.resolve("prog")), "prog");
        assertTrue(elf.isDynamic());
        assertEquals("/lib/ld.so", elf.interpreter());
        assertEquals(3, elf.segments());
        assertFalse(elf.isLoad(0));
        assertTrue(elf.isLoad(2));
        assertEquals(0x3000, elf.vaddr(2));
        assertEquals(0x800, elf.filesz(2));
        assertEquals(0x5000, elf.memsz(2));
        assertEquals(1 | 2, elf.prot(2), "PF_R|PF_W is PROT_READ|PROT_WRITE");
        assertEquals(0x8000, elf.totalMappingSize());
        assertEquals(4096, elf.maximumAlignment());
        final ElfFile noLoader = ElfFile.read(ElfImage.executable().load(5, 0, 0x400000, 0x1000, 0x1000).write(dir.resolve("s")), "s");
        assertFalse(noLoader.isDynamic());
        assertNull(noLoader.interpreter());
    }

    @Test
    void refusesWhatExecveRefusesNamingFileAndOffset() throws IOException
    {
        assertEquals("bad: offset 0x0: not an ELF file (no \\177ELF magic)",
            refused("#!/bin/sh\necho hello\n".getBytes()).getMessage());
        assertEquals("bad: offset 0x0: not an ELF file (2 bytes, no ELF magic)", refused(new byte[2]).getMessage());
        assertEquals("bad: offset 0x28: truncated ELF header (40 of 64 bytes)",
            refused(Arrays.copyOf(program().bytes(), 40)).getMessage());
        assertEquals("bad: offset 0x4: ELFCLASS32 file: only 64-bit ELF runs on x86-64",
            refused(program().elfClass(1).bytes()).getMessage());
        assertEquals("bad: offset 0x12: e_machine 183 is not x86-64 (62)", refused(program().machine(183).bytes()).getMessage());
        final byte[] noPhdrs = program().bytes();
        noPhdrs[56] = 0;
        assertEquals("bad: offset 0x38: e_phnum 0 is not 1..1170", refused(noPhdrs).getMessage());
        final byte[] badEntry = program().bytes();
        badEntry[54] = 32;
        assertEquals("bad: offset 0x36: e_phentsize 32 is not sizeof(Elf64_Phdr) (56)", refused(badEntry).getMessage());
        assertEquals("bad: offset 0x40: truncated: the program header table needs 168 bytes there, the file has 100",
            refused(Arrays.copyOf(program().bytes(), 100)).getMessage());
        final byte[] unterminated = program().bytes();
        unterminated[64 + 3 * 56 + "/lib/ld.so".length()] = 'x';
        assertEquals("bad: offset 0xf2: PT_INTERP path is not NUL-terminated", refused(unterminated).getMessage());
        assertEquals("bad: offset 0xb0: truncated: PT_LOAD 2 needs bytes 0x2000..0x2800 of a 9000-byte file",
            refused(Arrays.copyOf(program().bytes(), 9000)).getMessage());
        assertEquals("bad: offset 0x40: PT_LOAD 0 has p_filesz 0x2000 > p_memsz 0x1000",
            refused(ElfImage.dynamic().load(4, 0, 0, 0x2000, 0x1000).bytes()).getMessage());
        assertEquals("bad: offset 0x40: PT_LOAD 0 has p_vaddr 0x1010 and p_offset 0x0 in different places of a page: it cannot be mapped",
            refused(ElfImage.dynamic().load(4, 0, 0x1010, 0x100, 0x100).bytes()).getMessage());
    }

    @Test
    void aMissingOrUnreadableFileIsNamed()
    {
        assertEquals("nowhere: no such file",
            assertThrows(ExecException.class, () -> ElfFile.read(dir.resolve("nowhere"), "nowhere")).getMessage());
        assertTrue(assertThrows(ExecException.class, () -> ElfFile.read(dir, "dir")).getMessage().startsWith("dir: "));
    }
}
