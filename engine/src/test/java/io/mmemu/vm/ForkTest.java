package io.mmemu.vm;

import java.util.List;

import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.MemoryProbe.exclusive;
import static io.mmemu.vm.MemoryProbe.pfn;
import static io.mmemu.vm.MemoryProbe.read;
import static io.mmemu.vm.MemoryProbe.write;
import static io.mmemu.vm.Mman.MADV_DOFORK;
import static io.mmemu.vm.Mman.MADV_DONTFORK;
import static io.mmemu.vm.Mman.MADV_KEEPONFORK;
import static io.mmemu.vm.Mman.MADV_WIPEONFORK;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_FIXED;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.MAP_SHARED;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * fork with copy-on-write (dup_mmap, copy_page_range, do_wp_page): what each process sees, the
 * frames' counts, pagemap's exclusive bit, the fork advice, and that every frame comes back.
 */
final class ForkTest
{
    private static final long BASE = 0x300000000000L;
    private static final long PAGE = 4096;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

    /**
     * A parent process in fresh memory with its CPU, and the child it forks with the child's CPU;
     * closing the family closes whatever is still open and checks that every frame came back.
     */
    private static final class Family implements AutoCloseable
    {
        final PhysicalMemory memory;
        final long baseline;
        final AddressSpace parent;
        final Cpu p;
        AddressSpace child;
        Cpu c;

        Family(final PhysicalMemory memory, final LockingMode locking)
        {
            this.memory = memory;
            this.baseline = memory.framesInUse();
            this.parent = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION);
            this.p = parent.attachCpu();
        }

        Family()
        {
            this(PhysicalMemory.create(64L << 20), LockingMode.PER_VMA);
        }

        /** fork from the parent's CPU; the child gets a CPU of its own. */
        AddressSpace fork()
        {
            child = p.fork();
            assertNotNull(child, "fork failed");
            c = child.attachCpu();
            return child;
        }

        @Override
        public void close()
        {
            try
            {
                if (c != null)
                {
                    c.close();
                    child.close();
                }
                p.close();
                parent.close();
                assertEquals(baseline, memory.framesInUse(), "every frame came back");
            }
            finally
            {
                memory.close();
            }
        }
    }

    /**
     * Private pages after fork: both see the parent's data; each one's later writes are its own.
     * The page is shared (refcount and mapcount 2, not exclusive in pagemap) until the parent's
     * write copies it (a COW break); the child's page is then mapped once (exclusive again in
     * pagemap) and its write reuses it (no copy). Every frame comes back when both exit.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void privatePagesAreCopiedOnWriteAndReusedOnceUnshared(final LockingMode locking)
    {
        try (Family f = new Family(PhysicalMemory.create(64L << 20), locking))
        {
            final PhysicalMemory memory = f.memory;
            final AddressSpace parent = f.parent;
            final Cpu p = f.p;
            assertEquals(BASE, p.mmap(BASE, 8 * PAGE, RW, ANON, -1, 0));
            for (int i = 0; i < 8; i++)
            {
                write(p, BASE + i * PAGE, 100 + i);
            }
            assertTrue(exclusive(parent, BASE));
            final long page = pfn(parent, BASE);
            final AddressSpace child = f.fork();
            final Cpu c = f.c;
            assertEquals(parent.vmas(), child.vmas());
            assertEquals(page, pfn(child, BASE), "the child maps the parent's page");
            assertEquals(2, memory.refcount(page));
            assertEquals(2, memory.mapcount(page));
            assertTrue(!exclusive(parent, BASE) && !exclusive(child, BASE), "pagemap bit 56 is clear on both sides");
            AddressSpace.checkAll(true, parent, child).assertOk();

            for (int i = 0; i < 8; i++)
            {
                assertEquals(100 + i, read(c, BASE + i * PAGE));
            }
            write(p, BASE, 7);
            assertEquals(1, parent.stats().cowBreaks());
            assertNotEquals(page, pfn(parent, BASE));
            assertEquals(1, memory.refcount(page));
            assertEquals(1, memory.mapcount(page));
            assertTrue(exclusive(parent, BASE) && exclusive(child, BASE), "each side maps its page once");
            assertEquals(100, read(c, BASE), "the parent's write is its own");

            write(c, BASE, 8);
            assertEquals(1, child.stats().cowReuses(), "the child's page, no longer shared, is reused");
            assertEquals(0, child.stats().cowBreaks());
            assertEquals(page, pfn(child, BASE));
            write(c, BASE + PAGE, 9);
            assertEquals(1, child.stats().cowBreaks(), "page 1 is still shared: the child copies it");
            assertEquals(7, read(p, BASE));
            assertEquals(101, read(p, BASE + PAGE), "the child's write is its own");
            assertEquals(8, read(c, BASE));
            assertEquals(1, parent.stats().forks());
            assertEquals(8, parent.stats().forkSharedPages());
            AddressSpace.checkAll(true, parent, child).assertOk();

            c.close();
            child.close();
            parent.check(true).assertOk();
            assertEquals(102, read(p, BASE + 2 * PAGE));
            write(p, BASE + 2 * PAGE, 1);
            assertEquals(1, parent.stats().cowReuses(), "the child is gone: the parent reuses its page");
        }
    }

    /** The parent exits first: the child's pages are its own from then on, and freed with it. */
    @Test
    void parentExitingFirstLeavesTheChildItsPages()
    {
        try (Family f = new Family())
        {
            final AddressSpace parent = f.parent;
            final Cpu p = f.p;
            assertEquals(BASE, p.mmap(BASE, 4 * PAGE, RW, ANON, -1, 0));
            for (int i = 0; i < 4; i++)
            {
                write(p, BASE + i * PAGE, 50 + i);
            }
            final AddressSpace child = f.fork();
            final Cpu c = f.c;
            c.offline();
            p.close();
            parent.close();
            child.check(true).assertOk();
            for (int i = 0; i < 4; i++)
            {
                assertEquals(50 + i, read(c, BASE + i * PAGE));
                write(c, BASE + i * PAGE, i);
            }
            assertEquals(0, child.stats().cowBreaks());
            assertEquals(4, child.stats().cowReuses());
        }
    }

    /** Shared mappings stay shared: each side sees the other's writes, before and after fork. */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void sharedMappingsStayShared(final LockingMode locking)
    {
        try (Family f = new Family(PhysicalMemory.create(64L << 20), locking))
        {
            final AddressSpace parent = f.parent;
            final Cpu p = f.p;
            assertEquals(BASE, p.mmap(BASE, 4 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
            write(p, BASE, 1);
            final AddressSpace child = f.fork();
            final Cpu c = f.c;
            assertEquals(1, read(c, BASE));
            write(c, BASE + PAGE, 2);
            assertEquals(2, read(p, BASE + PAGE));
            write(p, BASE, 3);
            assertEquals(3, read(c, BASE));
            assertEquals(pfn(parent, BASE), pfn(child, BASE));
            assertEquals(0, parent.stats().cowBreaks() + child.stats().cowBreaks());
            assertTrue((parent.pagemap(BASE) & Pagemap.FILE_OR_SHARED_ANON) != 0);
            assertTrue(!exclusive(parent, BASE) && !exclusive(child, BASE), "mapped by both");
            AddressSpace.checkAll(true, parent, child).assertOk();
            c.close();
            child.close();
            assertTrue(exclusive(parent, BASE), "the child's mapping is gone");
        }
    }

    /**
     * The zero page is copied as an entry (nobody's page: no counts); a write on either side gets
     * a fresh page; an untouched private mapping has no anon_vma and nothing to copy.
     */
    @Test
    void zeroPageAndUntouchedMemory()
    {
        try (Family f = new Family())
        {
            final PhysicalMemory memory = f.memory;
            final AddressSpace parent = f.parent;
            final Cpu p = f.p;
            assertEquals(BASE, p.mmap(BASE, 4 * PAGE, RW, ANON, -1, 0));
            write(p, BASE, 5);
            assertEquals(0, read(p, BASE + PAGE));
            assertEquals(memory.zeroPagePfn(), pfn(parent, BASE + PAGE));
            final AddressSpace child = f.fork();
            final Cpu c = f.c;
            assertEquals(memory.zeroPagePfn(), pfn(child, BASE + PAGE), "the zero page's entry is copied");
            assertEquals(0, read(c, BASE + PAGE));
            write(c, BASE + PAGE, 6);
            assertEquals(1, child.stats().zeroPageCow());
            assertEquals(0, read(p, BASE + PAGE));
            assertEquals(memory.zeroPagePfn(), pfn(parent, BASE + PAGE));
            AddressSpace.checkAll(true, parent, child).assertOk();
        }
    }

    /**
     * A private file mapping: its page-cache page is mapped by both (one more mapping, nothing to
     * write-protect: it is read-only already), its own anonymous copy is shared copy-on-write; a
     * write in the child copies either, and the parent's copy, unshared again, is reused.
     */
    @Test
    void privateFileMappingsAfterFork()
    {
        final MappedFile tmp = MappedFile.temporary(2 * PAGE);
        tmp.open();
        try (Family f = new Family())
        {
            final PhysicalMemory memory = f.memory;
            final AddressSpace parent = f.parent;
            final Cpu p = f.p;
            assertEquals(BASE, p.mmap(BASE, 2 * PAGE, RW, MAP_PRIVATE | MAP_FIXED, OpenFile.open(tmp, true), 0));
            assertEquals(0, read(p, BASE));
            write(p, BASE + PAGE, 5);
            final long cached = pfn(parent, BASE);
            final long copy = pfn(parent, BASE + PAGE);
            final int cacheRefs = memory.refcount(cached);
            final AddressSpace child = f.fork();
            final Cpu c = f.c;
            assertEquals(cached, pfn(child, BASE));
            assertEquals(copy, pfn(child, BASE + PAGE));
            assertEquals(cacheRefs + 1, memory.refcount(cached));
            assertEquals(2, memory.mapcount(cached));
            assertEquals(2, memory.mapcount(copy));
            // the page cache holds pages no entry maps: frames are counted at the end
            AddressSpace.checkAll(false, parent, child).assertOk();

            assertEquals(5, read(c, BASE + PAGE));
            write(c, BASE + PAGE, 6);
            write(c, BASE, 7);
            assertEquals(1, child.stats().cowBreaks(), "the shared anonymous copy is copied");
            assertEquals(5, read(p, BASE + PAGE));
            assertEquals(0, read(p, BASE), "the child's write to the file page is its own");
            write(p, BASE + PAGE, 8);
            assertEquals(1, parent.stats().cowReuses(), "the parent's copy is its own again");
            assertEquals(6, read(c, BASE + PAGE));
            // the page cache holds pages no entry maps: frames are counted at the end
            AddressSpace.checkAll(false, parent, child).assertOk();
            f.c.close();
            child.close();
            p.close();
            parent.close();
            // the page cache's pages go with the file, before the family counts the frames
            tmp.close(memory);
        }
    }

    /**
     * mprotect after fork: making the parent's range writable again must not make a shared page
     * writable (can_change_pte_writable: only exclusive anonymous pages), or the parent's next write
     * would land in the child's page.
     */
    @Test
    void mprotectAfterForkKeepsSharedPagesWriteProtected()
    {
        try (Family f = new Family())
        {
            final PhysicalMemory memory = f.memory;
            final AddressSpace parent = f.parent;
            final Cpu p = f.p;
            assertEquals(BASE, p.mmap(BASE, 2 * PAGE, RW, ANON, -1, 0));
            write(p, BASE, 1);
            write(p, BASE + PAGE, 2);
            final AddressSpace child = f.fork();
            final Cpu c = f.c;
            assertEquals(0, p.mprotect(BASE, 2 * PAGE, PROT_READ));
            assertEquals(0, p.mprotect(BASE, 2 * PAGE, RW));
            write(p, BASE, 10);
            assertEquals(1, read(c, BASE), "the parent's write after mprotect is its own");
            assertEquals(1, parent.stats().cowBreaks());
            c.close();
            child.close();
            // the parent's remaining page is exclusive again only after its write fault reuses it
            assertEquals(0, p.mprotect(BASE, 2 * PAGE, PROT_READ));
            assertEquals(0, p.mprotect(BASE, 2 * PAGE, RW));
            write(p, BASE + PAGE, 20);
            assertEquals(1, parent.stats().cowReuses());
            assertEquals(0, p.mprotect(BASE, 2 * PAGE, PROT_READ));
            assertEquals(0, p.mprotect(BASE, 2 * PAGE, RW));
            final long faults = parent.stats().faults();
            write(p, BASE + PAGE, 21);
            assertEquals(faults, parent.stats().faults(), "an exclusive page is made writable by mprotect itself");
            parent.check(true).assertOk();
        }
    }

    /**
     * MADV_DONTFORK leaves the VMA out of the child, MADV_WIPEONFORK gives the child the range
     * empty (zeros), their DO/KEEP counterparts undo them; WIPEONFORK applies only to private
     * anonymous memory (EINVAL otherwise), a hole in the range is ENOMEM.
     */
    @Test
    void forkAdvice()
    {
        try (Family f = new Family())
        {
            final PhysicalMemory memory = f.memory;
            final AddressSpace parent = f.parent;
            final Cpu p = f.p;
            final long dontfork = BASE;
            final long wipe = BASE + 0x10000;
            final long kept = BASE + 0x20000;
            final long shared = BASE + 0x30000;
            assertEquals(dontfork, p.mmap(dontfork, 2 * PAGE, RW, ANON, -1, 0));
            assertEquals(wipe, p.mmap(wipe, 2 * PAGE, RW, ANON, -1, 0));
            assertEquals(kept, p.mmap(kept, 2 * PAGE, RW, ANON, -1, 0));
            assertEquals(shared, p.mmap(shared, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
            for (final long va : new long[] {dontfork, wipe, kept, shared})
            {
                write(p, va, 42);
            }
            assertEquals(0, p.madvise(dontfork, 2 * PAGE, MADV_DONTFORK));
            assertEquals(0, p.madvise(wipe, 2 * PAGE, MADV_WIPEONFORK));
            assertEquals(-Errno.EINVAL, p.madvise(shared, PAGE, MADV_WIPEONFORK), "WIPEONFORK of shared memory");
            assertEquals(-Errno.ENOMEM, p.madvise(wipe, 0x10000 + PAGE, MADV_WIPEONFORK), "a hole in the range");
            assertEquals(0, p.madvise(kept, PAGE, MADV_WIPEONFORK));
            assertEquals(0, p.madvise(kept, PAGE, MADV_KEEPONFORK));
            assertEquals(0, p.madvise(kept, PAGE, MADV_DONTFORK));
            assertEquals(0, p.madvise(kept, PAGE, MADV_DOFORK));

            final AddressSpace child = f.fork();
            final Cpu c = f.c;
            assertEquals(Signal.SEGV_MAPERR, c.readLong(dontfork), "a VM_DONTCOPY VMA is not in the child");
            assertEquals(0, read(c, wipe), "a VM_WIPEONFORK VMA comes back empty");
            assertEquals(0, read(c, wipe + PAGE));
            assertEquals(42, read(p, wipe));
            assertEquals(42, read(c, kept));
            assertEquals(42, read(c, shared));
            final List<VmaInfo> vmas = child.vmas();
            assertEquals(3, vmas.stream().filter(v -> v.start() >= BASE && v.end() <= BASE + 0x40000).count(),
                "wipe, kept (merged back whole) and shared: " + vmas);
            write(c, wipe, 1);
            assertEquals(42, read(p, wipe));
            AddressSpace.checkAll(true, parent, child).assertOk();
        }
    }

    /**
     * anon_vma inheritance: a child VMA's anon_vma is forked from the parent's, so (as Linux's
     * vma_had_uncowed_parents has it) a new mapping next to it merges in the parent but not in the child.
     */
    @Test
    void forkedVmasDoNotMergeWithNewNeighbours()
    {
        try (Family f = new Family())
        {
            final AddressSpace parent = f.parent;
            final Cpu p = f.p;
            assertEquals(BASE, p.mmap(BASE, PAGE, RW, ANON, -1, 0));
            write(p, BASE, 1);
            final AddressSpace child = f.fork();
            final Cpu c = f.c;
            assertEquals(BASE + PAGE, c.mmap(BASE + PAGE, PAGE, RW, ANON, -1, 0));
            assertEquals(BASE + PAGE, p.mmap(BASE + PAGE, PAGE, RW, ANON, -1, 0));
            assertEquals(2, child.mapCount(), "the child's forked VMA does not take in the new neighbour");
            assertEquals(1, parent.mapCount(), "the parent's does");
        }
    }

    /**
     * Tables-only backing: anonymous pages are phantom frames with no counts to share, so the child
     * gets frames of its own at fork (no copy-on-write later), and both sides give them all back.
     */
    @Test
    void tablesOnlyForkGivesTheChildItsOwnFrames()
    {
        try (Family f = new Family(PhysicalMemory.create(256L << 20, Backing.TABLES_ONLY), LockingMode.PER_VMA))
        {
            final PhysicalMemory memory = f.memory;
            final AddressSpace parent = f.parent;
            final Cpu p = f.p;
            assertEquals(BASE, p.mmap(BASE, 64 * PAGE, RW, ANON, -1, 0));
            for (int i = 0; i < 64; i++)
            {
                assertEquals(Signal.NONE, p.writeByte(BASE + i * PAGE, 1));
            }
            final AddressSpace child = f.fork();
            final Cpu c = f.c;
            assertNotEquals(pfn(parent, BASE), pfn(child, BASE));
            assertTrue(exclusive(child, BASE) && exclusive(parent, BASE));
            assertEquals(Signal.NONE, c.writeByte(BASE, 2));
            assertEquals(0, child.stats().cowBreaks() + child.stats().faults(), "the child's page is writable at once");
            AddressSpace.checkAll(true, parent, child).assertOk();
        }
    }

    /** fork when memory is out: ENOMEM (null), nothing leaked, the parent intact. */
    @Test
    void forkWithoutMemoryFailsCleanly()
    {
        try (Family f = new Family(PhysicalMemory.create(256L << 20, Backing.TABLES_ONLY, 4L << 20), LockingMode.PER_VMA))
        {
            final PhysicalMemory memory = f.memory;
            final AddressSpace parent = f.parent;
            final Cpu p = f.p;
            final long size = 192L << 20;
            assertEquals(BASE, p.mmap(BASE, size, RW, ANON, -1, 0));
            long touched = 0;
            for (long va = BASE; va < BASE + size; va += PAGE, touched++)
            {
                if (p.writeByte(va, 1) != Signal.NONE)
                {
                    break;
                }
            }
            assertTrue(touched > (size / PAGE) / 2, "populated more than half of memory: " + touched);
            assertNull(p.fork(), "not enough frames left for the child's copy");
            parent.check(true).assertOk();
            assertEquals(Signal.NONE, p.writeByte(BASE, 3));
        }
    }
}
