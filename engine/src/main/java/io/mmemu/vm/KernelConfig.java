package io.mmemu.vm;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import io.mmemu.pgtable.PagingMode;
import io.mmemu.phys.NativeMemory;

/**
 * Build options of the kernel being emulated that change what a program can observe.
 *
 * @param zeroPage  read faults on private anonymous memory map the shared zero page (mainline);
 *                  without it they get a fresh page each, as on kernels that forbid the zero page
 * @param softDirty CONFIG_MEM_SOFT_DIRTY: new VMAs are VM_SOFTDIRTY and pagemap reports bit 55
 * @param paging    page-table levels, 4 or 5 ({@link PagingMode}): five is a CONFIG_X86_5LEVEL kernel
 *                  on an LA57 CPU, whose processes may map up to TASK_SIZE = 2^56 - 4 KiB (above
 *                  2^47 only when they ask with a hint, {@link UnmappedArea})
 */
public record KernelConfig(boolean zeroPage, boolean softDirty, int paging)
{
    /** A mainline x86-64 build (distribution configs): zero page and soft-dirty tracking, four levels. */
    public static final KernelConfig MAINLINE = new KernelConfig(true, true);

    public KernelConfig
    {
        PagingMode.checked(paging);
    }

    /** A four-level build. */
    public KernelConfig(final boolean zeroPage, final boolean softDirty)
    {
        this(zeroPage, softDirty, PagingMode.FOUR_LEVEL);
    }

    /** This build with {@code levels}-level paging. */
    public KernelConfig withPaging(final int levels)
    {
        return new KernelConfig(zeroPage, softDirty, levels);
    }

    /**
     * Probes the kernel this JVM runs on, so a differential test compares like with like: a
     * read-faulted private page that is mapped exclusively means no zero page; a written page
     * without bit 55 means no soft-dirty. Falls back to {@link #MAINLINE} when pagemap is unreadable.
     */
    public static KernelConfig host()
    {
        try (Arena arena = Arena.ofConfined();
             FileChannel pagemap = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ))
        {
            final MemorySegment pages = NativeMemory.reserve(2 * 4096, arena);
            final byte read = pages.get(ValueLayout.JAVA_BYTE, 0);
            pages.set(ValueLayout.JAVA_BYTE, 4096, (byte)(read + 1));
            final long readEntry = entry(pagemap, pages.address());
            final long writtenEntry = entry(pagemap, pages.address() + 4096);
            if (readEntry >= 0 || writtenEntry >= 0)
            {
                return MAINLINE;
            }
            return new KernelConfig((readEntry & Pagemap.EXCLUSIVE) == 0, (writtenEntry & Pagemap.SOFT_DIRTY) != 0);
        }
        catch (final IOException | RuntimeException ex)
        {
            return MAINLINE;
        }
    }

    private static long entry(final FileChannel pagemap, final long address) throws IOException
    {
        final ByteBuffer buffer = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        pagemap.read(buffer, (address >>> 12) * 8);
        return buffer.getLong(0);
    }
}
