package io.mmemu.inspect;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.List;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.pgtable.PagingMode;
import io.mmemu.pgtable.SwapEntry;
import io.mmemu.phys.FrameFlags;
import io.mmemu.vm.Pagemap;
import io.mmemu.vm.VmFlags;
import io.mmemu.vm.VmaInfo;

import static io.mmemu.pgtable.PageTableEntry.LEVEL_PTE;

/**
 * /proc/PID/pagemap words of a range, computed from a {@link Snapshot}'s tables and frame
 * descriptors as fs/proc/task_mmu.c's pagemap_pmd_range/pagemap_pte_range does, for an
 * unprivileged reader (PFN field zero): bit 63 present (a present or PROT_NONE entry), 61 a shmem
 * page, 56 mapped exactly once (phantom frames of a tables-only machine count as once), 55
 * soft-dirty (the entry's bit, or the VMA's VM_SOFTDIRTY for every page of it) when the kernel
 * has soft-dirty tracking. The zero page is present but neither exclusive nor a file page.
 * <p>
 * The binary form is byte for byte what {@code pread(pagemap_fd, buf, n * 8, start / 4096 * 8)}
 * returns: one little-endian 64-bit word per page.
 */
public final class PagemapView
{
    /** Receives the word of each page of a range, in address order. */
    @FunctionalInterface
    public interface WordConsumer
    {
        void accept(long va, long word) throws IOException;
    }

    private static final long PAGE = 4096;

    private PagemapView()
    {
    }

    /**
     * Checks a pagemap range as the commands take it.
     *
     * @throws IllegalArgumentException naming what is wrong: unaligned bounds, or start above end
     */
    public static void checkRange(final long start, final long end)
    {
        if (((start | end) & (PAGE - 1)) != 0)
        {
            throw new IllegalArgumentException(String.format("pagemap range 0x%x-0x%x must be page aligned (4096)", start, end));
        }
        if (Long.compareUnsigned(start, end) > 0)
        {
            throw new IllegalArgumentException(String.format("pagemap start 0x%x is above its end 0x%x", start, end));
        }
    }

    /** The word of the page containing {@code va}. */
    public static long word(final Snapshot snapshot, final long va)
    {
        final long page = va & ~(PAGE - 1);
        final long[] out = new long[1];
        try
        {
            forEach(snapshot, page, page + PAGE, (a, w) -> out[0] = w);
        }
        catch (final IOException ex)
        {
            throw new AssertionError(ex); // the consumer does no I/O
        }
        return out[0];
    }

    /** Hands the word of every page of {@code [start, end)} (page aligned, user half) to {@code consumer}. */
    public static void forEach(final Snapshot snapshot, final long start, final long end, final WordConsumer consumer)
        throws IOException
    {
        final Emitter emitter = new Emitter(snapshot, start, end, consumer);
        final long walkEnd = Math.min(end, PagingMode.userEnd(snapshot.paging()));
        try
        {
            TableWalk.walk(snapshot.memory(), snapshot.cr3(), Math.min(start, walkEnd), walkEnd, emitter);
        }
        catch (final UncheckedIOException ex)
        {
            throw ex.getCause();
        }
        emitter.fillTo(end);
    }

    /** Writes the binary pagemap of {@code [start, end)}: 8 little-endian bytes per page. */
    public static void write(final Snapshot snapshot, final long start, final long end, final OutputStream out)
        throws IOException
    {
        final byte[] buffer = new byte[8 * 512];
        final int[] used = {0};
        forEach(snapshot, start, end, (va, word) ->
        {
            for (int i = 0; i < 8; i++)
            {
                buffer[used[0]++] = (byte)(word >>> (8 * i));
            }
            if (used[0] == buffer.length)
            {
                out.write(buffer, 0, used[0]);
                used[0] = 0;
            }
        });
        out.write(buffer, 0, used[0]);
    }

    /** Walks the tables and emits words in order, filling the pages the walk skips (holes). */
    private static final class Emitter implements TableWalk.Visitor
    {
        private final Snapshot snapshot;
        private final List<VmaInfo> vmas;
        private final boolean softDirty;
        private final WordConsumer consumer;
        private final long limit;
        private long next;
        private int vmaIndex;

        Emitter(final Snapshot snapshot, final long start, final long limit, final WordConsumer consumer)
        {
            this.limit = limit;
            this.snapshot = snapshot;
            this.vmas = snapshot.vmas();
            this.softDirty = snapshot.kernel().softDirty();
            this.consumer = consumer;
            this.next = start;
        }

        @Override
        public void pte(final long va, final long entry)
        {
            fillTo(va);
            emit(va, entry, LEVEL_PTE, 0);
        }

        @Override
        public void entry(final long va, final long entry, final int level)
        {
            if (level != LEVEL_PTE && PageTableEntry.isLeaf(entry, level) && PageTableEntry.isMapped(entry))
            {
                fillTo(va);
                final long base = va & ~(PageTableEntry.coverage(level) - 1);
                final long end = base + PageTableEntry.coverage(level);
                for (long a = va; a < Math.min(end, limit); a += PAGE)
                {
                    emit(a, entry, level, (a - base) >>> 12);
                }
            }
        }

        /** Emits the words of pages below {@code upTo} that no entry maps. */
        void fillTo(final long upTo)
        {
            while (Long.compareUnsigned(next, upTo) < 0)
            {
                send(next, base(next));
                next += PAGE;
            }
        }

        private void emit(final long va, final long entry, final int level, final long pageInLeaf)
        {
            if (va != next)
            {
                return; // before the range start (a large leaf straddling it)
            }
            final VmaInfo vma = vmaAt(va);
            final long pfn = (PageTableEntry.leafAddress(entry, level) >>> 12) + pageInLeaf;
            final MemoryImage memory = snapshot.memory();
            final boolean mapped = vma != null && PageTableEntry.isMapped(entry);
            if (mapped && level != LEVEL_PTE && memory.isBacked(pfn) && pfn != memory.zeroPagePfn()
                && (memory.flags(pfn) & FrameFlags.STATE_MASK) == FrameFlags.ZERO_PAGE)
            {
                send(va, Pagemap.hugeZeroWord(vma.flags(), softDirty, entry));
                next = va + PAGE;
                return;
            }
            if (level == LEVEL_PTE && SwapEntry.isSwap(entry))
            {
                // a swap entry: PM_SWAP (its type and offset only for a privileged reader)
                send(va, Pagemap.word(vma == null ? -1 : vma.flags(), softDirty, entry, false, false));
                next = va + PAGE;
                return;
            }
            send(va, Pagemap.word(vma == null ? -1 : vma.flags(), softDirty, mapped ? entry : 0,
                pfn == memory.zeroPagePfn(), mapped && (!memory.isBacked(pfn) || memory.mapcount(pfn) == 1)));
            next = va + PAGE;
        }

        /** The word of a page without an entry: VM_SOFTDIRTY of its VMA, if soft-dirty is tracked. */
        private long base(final long va)
        {
            final VmaInfo vma = vmaAt(va);
            return Pagemap.word(vma == null ? -1 : vma.flags(), softDirty, 0, false, false);
        }

        /** The VMA containing {@code va}; addresses only grow, so a cursor suffices. */
        private VmaInfo vmaAt(final long va)
        {
            while (vmaIndex < vmas.size() && Long.compareUnsigned(vmas.get(vmaIndex).end(), va) <= 0)
            {
                vmaIndex++;
            }
            if (vmaIndex < vmas.size() && Long.compareUnsigned(vmas.get(vmaIndex).start(), va) <= 0)
            {
                return vmas.get(vmaIndex);
            }
            return null;
        }

        private void send(final long va, final long word)
        {
            try
            {
                consumer.accept(va, word);
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        }
    }
}
