package io.mmemu.elf;

/**
 * The one written-down layout of the ELF64 structures exec reads (include/uapi/linux/elf.h):
 * Elf64_Ehdr and Elf64_Phdr, little-endian, with the constants whose values mmemu checks.
 */
final class ElfLayout
{
    /** sizeof(Elf64_Ehdr). */
    static final int EHDR_SIZE = 64;
    static final int EI_CLASS = 4;
    static final int EI_DATA = 5;
    static final int E_TYPE = 16;
    static final int E_MACHINE = 18;
    static final int E_ENTRY = 24;
    static final int E_PHOFF = 32;
    static final int E_PHENTSIZE = 54;
    static final int E_PHNUM = 56;

    /** sizeof(Elf64_Phdr). */
    static final int PHDR_SIZE = 56;
    static final int P_TYPE = 0;
    static final int P_FLAGS = 4;
    static final int P_OFFSET = 8;
    static final int P_VADDR = 16;
    static final int P_FILESZ = 32;
    static final int P_MEMSZ = 40;
    static final int P_ALIGN = 48;

    static final int ELFCLASS64 = 2;
    static final int ELFDATA2LSB = 1;
    static final int ET_EXEC = 2;
    static final int ET_DYN = 3;
    static final int EM_X86_64 = 62;

    static final int PT_LOAD = 1;
    static final int PT_INTERP = 3;

    static final int PF_X = 1;
    static final int PF_W = 2;
    static final int PF_R = 4;

    /** load_elf_phdrs refuses a program header table larger than ELF_MIN_ALIGN (one 64 KiB page at most). */
    static final int MAX_PHDR_TABLE = 65536;
    /** PATH_MAX: the longest PT_INTERP the kernel reads. */
    static final int PATH_MAX = 4096;

    private ElfLayout()
    {
    }
}
