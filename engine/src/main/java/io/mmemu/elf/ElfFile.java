package io.mmemu.elf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static io.mmemu.elf.ElfLayout.*;

/**
 * A read-only flyweight over an ELF64 x86-64 file's header and program header table, as
 * fs/binfmt_elf.c reads them. Only those bytes are read (never the whole file); every offset is
 * checked against the file's size, and everything load_elf_binary would refuse is refused with the
 * file and the offset named. Segment {@code i}'s fields are read straight from the table's bytes.
 */
public final class ElfFile
{
    private final String name;
    private final long size;
    private final ByteBuffer header;
    private final ByteBuffer phdrs;
    private final int phnum;
    private final String interpreter;
    private final long interpreterOffset;

    private ElfFile(final String name, final long size, final ByteBuffer header, final ByteBuffer phdrs,
        final String interpreter, final long interpreterOffset)
    {
        this.name = name;
        this.size = size;
        this.header = header;
        this.phdrs = phdrs;
        this.phnum = phdrs.capacity() / PHDR_SIZE;
        this.interpreter = interpreter;
        this.interpreterOffset = interpreterOffset;
    }

    /** Reads and checks {@code path}'s headers; {@code name} is what messages call it. */
    public static ElfFile read(final Path path, final String name) throws ExecException
    {
        try (FileChannel in = FileChannel.open(path, StandardOpenOption.READ))
        {
            final long size = in.size();
            if (size < 4)
            {
                throw new ExecException(name + ": offset 0x0: not an ELF file (" + size + " bytes, no ELF magic)");
            }
            final ByteBuffer header = bytes(in, name, 0, (int)Math.min(size, EHDR_SIZE), size, "the ELF header");
            if (header.getInt(0) != 0x464c457f)
            {
                throw new ExecException(name + ": offset 0x0: not an ELF file (no \\177ELF magic)");
            }
            if (size < EHDR_SIZE)
            {
                throw new ExecException(name + ": offset 0x" + Long.toHexString(size) + ": truncated ELF header (" +
                    size + " of " + EHDR_SIZE + " bytes)");
            }
            final int elfClass = header.get(EI_CLASS);
            if (elfClass != ELFCLASS64)
            {
                throw new ExecException(name + ": offset 0x" + Integer.toHexString(EI_CLASS) + ": " +
                    (elfClass == 1 ? "ELFCLASS32" : "ELF class " + elfClass) + " file: only 64-bit ELF runs on x86-64");
            }
            if (header.get(EI_DATA) != ELFDATA2LSB)
            {
                throw new ExecException(name + ": offset 0x" + Integer.toHexString(EI_DATA) +
                    ": not a little-endian ELF file (EI_DATA " + header.get(EI_DATA) + ")");
            }
            final int type = Short.toUnsignedInt(header.getShort(E_TYPE));
            if (type != ET_EXEC && type != ET_DYN)
            {
                throw new ExecException(name + ": offset 0x" + Integer.toHexString(E_TYPE) + ": e_type " + type +
                    " is neither ET_EXEC (2) nor ET_DYN (3): not a program");
            }
            final int machine = Short.toUnsignedInt(header.getShort(E_MACHINE));
            if (machine != EM_X86_64)
            {
                throw new ExecException(name + ": offset 0x" + Integer.toHexString(E_MACHINE) + ": e_machine " +
                    machine + " is not x86-64 (" + EM_X86_64 + ")");
            }
            final int phentsize = Short.toUnsignedInt(header.getShort(E_PHENTSIZE));
            if (phentsize != PHDR_SIZE)
            {
                throw new ExecException(name + ": offset 0x" + Integer.toHexString(E_PHENTSIZE) + ": e_phentsize " +
                    phentsize + " is not sizeof(Elf64_Phdr) (" + PHDR_SIZE + ")");
            }
            final int count = Short.toUnsignedInt(header.getShort(E_PHNUM));
            if (count < 1 || count * PHDR_SIZE > MAX_PHDR_TABLE)
            {
                throw new ExecException(name + ": offset 0x" + Integer.toHexString(E_PHNUM) + ": e_phnum " + count +
                    " is not 1.." + MAX_PHDR_TABLE / PHDR_SIZE);
            }
            final long phoff = header.getLong(E_PHOFF);
            final ByteBuffer phdrs = bytes(in, name, phoff, count * PHDR_SIZE, size, "the program header table");
            String interpreter = null;
            long interpreterOffset = 0;
            boolean loads = false;
            for (int i = 0; i < count; i++)
            {
                final int at = i * PHDR_SIZE;
                final long where = phoff + at;
                final int pType = phdrs.getInt(at + P_TYPE);
                final long offset = phdrs.getLong(at + P_OFFSET);
                final long filesz = phdrs.getLong(at + P_FILESZ);
                if (pType == PT_INTERP && interpreter == null)
                {
                    if (filesz < 2 || filesz > PATH_MAX)
                    {
                        throw new ExecException(name + ": offset 0x" + Long.toHexString(where) +
                            ": PT_INTERP of " + filesz + " bytes (2.." + PATH_MAX + ")");
                    }
                    final ByteBuffer interp = bytes(in, name, offset, (int)filesz, size, "the PT_INTERP path");
                    if (interp.get((int)filesz - 1) != 0)
                    {
                        throw new ExecException(name + ": offset 0x" + Long.toHexString(offset + filesz - 1) +
                            ": PT_INTERP path is not NUL-terminated");
                    }
                    final byte[] text = new byte[(int)filesz - 1];
                    interp.get(0, text);
                    interpreter = new String(text, StandardCharsets.UTF_8);
                    interpreterOffset = offset;
                }
                else if (pType == PT_LOAD)
                {
                    loads = true;
                    final long vaddr = phdrs.getLong(at + P_VADDR);
                    final long memsz = phdrs.getLong(at + P_MEMSZ);
                    if (Long.compareUnsigned(filesz, memsz) > 0)
                    {
                        throw new ExecException(name + ": offset 0x" + Long.toHexString(where) + ": PT_LOAD " + i +
                            " has p_filesz 0x" + Long.toHexString(filesz) + " > p_memsz 0x" + Long.toHexString(memsz));
                    }
                    if (((vaddr - offset) & 4095) != 0)
                    {
                        throw new ExecException(name + ": offset 0x" + Long.toHexString(where) + ": PT_LOAD " + i +
                            " has p_vaddr 0x" + Long.toHexString(vaddr) + " and p_offset 0x" + Long.toHexString(offset) +
                            " in different places of a page: it cannot be mapped");
                    }
                    if (Long.compareUnsigned(offset, size) > 0 || Long.compareUnsigned(filesz, size - offset) > 0)
                    {
                        throw new ExecException(name + ": offset 0x" + Long.toHexString(where) + ": truncated: PT_LOAD " +
                            i + " needs bytes 0x" + Long.toHexString(offset) + "..0x" +
                            Long.toHexString(offset + filesz) + " of a " + size + "-byte file");
                    }
                    if (Long.compareUnsigned(vaddr + memsz, vaddr) < 0 || Long.compareUnsigned(vaddr + memsz, 1L << 47) > 0)
                    {
                        throw new ExecException(name + ": offset 0x" + Long.toHexString(where) + ": PT_LOAD " + i +
                            " ends past the user address space");
                    }
                }
            }
            if (!loads)
            {
                throw new ExecException(name + ": offset 0x" + Long.toHexString(phoff) + ": no PT_LOAD segment");
            }
            return new ElfFile(name, size, header, phdrs, interpreter, interpreterOffset);
        }
        catch (final NoSuchFileException ex)
        {
            throw new ExecException(name + ": no such file", ex);
        }
        catch (final IOException ex)
        {
            throw new ExecException(name + ": cannot read: " + ex.getMessage(), ex);
        }
    }

    private static ByteBuffer bytes(final FileChannel in, final String name, final long offset, final int length,
        final long size, final String what) throws IOException, ExecException
    {
        if (offset < 0 || offset > size || length > size - offset)
        {
            throw new ExecException(name + ": offset 0x" + Long.toHexString(offset) + ": truncated: " + what +
                " needs " + length + " bytes there, the file has " + size);
        }
        final ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (buffer.hasRemaining())
        {
            if (in.read(buffer, offset + buffer.position()) < 0)
            {
                throw new ExecException(name + ": offset 0x" + Long.toHexString(offset + buffer.position()) +
                    ": truncated while reading " + what);
            }
        }
        return buffer;
    }

    public String name()
    {
        return name;
    }

    public long size()
    {
        return size;
    }

    /** ET_DYN (position-independent) rather than ET_EXEC. */
    public boolean isDynamic()
    {
        return Short.toUnsignedInt(header.getShort(E_TYPE)) == ET_DYN;
    }

    public long entry()
    {
        return header.getLong(E_ENTRY);
    }

    /** PT_INTERP's path, or null for a program that needs no loader. */
    public String interpreter()
    {
        return interpreter;
    }

    /** Where the PT_INTERP path lies in the file (for messages about it). */
    public long interpreterOffset()
    {
        return interpreterOffset;
    }

    public int segments()
    {
        return phnum;
    }

    /** Where program header {@code i} lies in the file (for messages about it). */
    public long headerOffset(final int i)
    {
        return header.getLong(E_PHOFF) + (long)i * PHDR_SIZE;
    }

    public boolean isLoad(final int i)
    {
        return phdrs.getInt(i * PHDR_SIZE + P_TYPE) == PT_LOAD;
    }

    /** PF_R/PF_W/PF_X as mmap's PROT_READ/PROT_WRITE/PROT_EXEC bits. */
    public int prot(final int i)
    {
        final int flags = phdrs.getInt(i * PHDR_SIZE + P_FLAGS);
        return ((flags & PF_R) != 0 ? 1 : 0) | ((flags & PF_W) != 0 ? 2 : 0) | ((flags & PF_X) != 0 ? 4 : 0);
    }

    public long offset(final int i)
    {
        return phdrs.getLong(i * PHDR_SIZE + P_OFFSET);
    }

    public long vaddr(final int i)
    {
        return phdrs.getLong(i * PHDR_SIZE + P_VADDR);
    }

    public long filesz(final int i)
    {
        return phdrs.getLong(i * PHDR_SIZE + P_FILESZ);
    }

    public long memsz(final int i)
    {
        return phdrs.getLong(i * PHDR_SIZE + P_MEMSZ);
    }

    public long align(final int i)
    {
        return phdrs.getLong(i * PHDR_SIZE + P_ALIGN);
    }

    /** total_mapping_size: from the first PT_LOAD's page to the end of the last one's memory. */
    public long totalMappingSize()
    {
        int first = -1;
        int last = -1;
        for (int i = 0; i < phnum; i++)
        {
            if (isLoad(i))
            {
                first = first < 0 ? i : first;
                last = i;
            }
        }
        return vaddr(last) + memsz(last) - (vaddr(first) & ~4095L);
    }

    /** maximum_alignment: the largest power-of-two p_align of the PT_LOADs, at least a page. */
    public long maximumAlignment()
    {
        long alignment = 0;
        for (int i = 0; i < phnum; i++)
        {
            final long a = align(i);
            if (isLoad(i) && a > 0 && Long.bitCount(a) == 1)
            {
                alignment = Math.max(alignment, a);
            }
        }
        return (alignment + 4095) & ~4095L;
    }
}
