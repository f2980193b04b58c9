package io.mmemu.elf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Writes small ELF64 x86-64 files for tests: a header, program headers, and file bytes to cover them. */
public final class ElfImage
{
    /** One program header. */
    public record Segment(int type, int flags, long offset, long vaddr, long filesz, long memsz, long align)
    {
    }

    private int type = 3;
    private int machine = 62;
    private int elfClass = 2;
    private final List<Segment> segments = new ArrayList<>();
    private String interpreter;
    private long size;

    public static ElfImage dynamic()
    {
        return new ElfImage();
    }

    public static ElfImage executable()
    {
        final ElfImage image = new ElfImage();
        image.type = 2;
        return image;
    }

    public ElfImage machine(final int value)
    {
        machine = value;
        return this;
    }

    public ElfImage elfClass(final int value)
    {
        elfClass = value;
        return this;
    }

    /** A PT_LOAD; flags PF_R 4, PF_W 2, PF_X 1. */
    public ElfImage load(final int flags, final long offset, final long vaddr, final long filesz, final long memsz)
    {
        segments.add(new Segment(1, flags, offset, vaddr, filesz, memsz, 4096));
        size = Math.max(size, offset + filesz);
        return this;
    }

    public ElfImage interpreter(final String path)
    {
        interpreter = path;
        return this;
    }

    /** The file size, at least what the segments cover. */
    public ElfImage size(final long bytes)
    {
        size = bytes;
        return this;
    }

    public byte[] bytes()
    {
        final int phnum = segments.size() + (interpreter != null ? 1 : 0);
        final int interpAt = 64 + phnum * 56;
        final byte[] interp = interpreter == null ? new byte[0] : (interpreter + "\0").getBytes(StandardCharsets.UTF_8);
        final ByteBuffer b = ByteBuffer.allocate((int)Math.max(size, interpAt + interp.length)).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 0x464c457f).put(4, (byte)elfClass).put(5, (byte)1).put(6, (byte)1);
        b.putShort(16, (short)type).putShort(18, (short)machine).putInt(20, 1).putLong(24, 0x1000);
        b.putLong(32, 64).putShort(52, (short)64).putShort(54, (short)56).putShort(56, (short)phnum);
        int at = 64;
        if (interpreter != null)
        {
            putPhdr(b, at, new Segment(3, 4, interpAt, interpAt, interp.length, interp.length, 1));
            b.put(interpAt, interp);
            at += 56;
        }
        for (final Segment s : segments)
        {
            putPhdr(b, at, s);
            at += 56;
        }
        return b.array();
    }

    private static void putPhdr(final ByteBuffer b, final int at, final Segment s)
    {
        b.putInt(at, s.type()).putInt(at + 4, s.flags()).putLong(at + 8, s.offset()).putLong(at + 16, s.vaddr())
            .putLong(at + 24, s.vaddr()).putLong(at + 32, s.filesz()).putLong(at + 40, s.memsz()).putLong(at + 48, s.align());
    }

    public Path write(final Path file) throws IOException
    {
        return Files.write(file, bytes());
    }
}
