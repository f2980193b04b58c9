package io.mmemu.vm;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Lockless readers against one writer, as {@link AddressSpace} runs them: the writer publishes
 * each new {@link VmaTree} with a release store, readers load it with an acquire and search it
 * with no lock while the writer keeps editing. Even slots hold permanent VMAs (the same objects in
 * every version); the writer re-creates, drops and restores the odd ones in ranges of one to a few
 * hundred slots, so versions differ by splits and merges of runs. Every lookup must return a VMA
 * that some version published, that ends above the address, that is the permanent VMA when the
 * address is inside one, and that is the first VMA ending above the address in the version the
 * reader loaded; a sample of versions has its whole shape checked by the reader that loaded it.
 */
class VmaTreeConcurrentTest
{
    private static final long PAGE = 4096;
    /** Slot s covers pages [4s + 1, 4s + 3): two pages, one-page gaps either side. */
    private static final int SLOTS = 12_000;
    private static final int EDITS = 6_000;
    private static final int READERS = 2;
    private static final VarHandle CURRENT;

    static
    {
        try
        {
            CURRENT = MethodHandles.lookup().findVarHandle(VmaTreeConcurrentTest.class, "current", VmaTree.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    @SuppressWarnings("unused") // accessed through CURRENT
    private volatile VmaTree current;

    private static long slotStart(final int slot)
    {
        return (4L * slot + 1) * PAGE;
    }

    private static Vma slotVma(final int slot)
    {
        return new Vma(slotStart(slot), slotStart(slot) + 2 * PAGE, VmFlags.VM_READ, slot, null, null, null);
    }

    @Test
    void readersSeeWholeVersionsWhileTheWriterEdits() throws Exception
    {
        final Vma[] permanent = new Vma[SLOTS];
        final List<Vma> initial = new ArrayList<>();
        final Set<Vma> published = ConcurrentHashMap.newKeySet();
        for (int slot = 0; slot < SLOTS; slot++)
        {
            if (slot % 2 == 0)
            {
                permanent[slot] = slotVma(slot);
            }
            final Vma vma = permanent[slot] != null ? permanent[slot] : slotVma(slot);
            initial.add(vma);
            published.add(vma);
        }
        CURRENT.setRelease(this, VmaTree.build(initial.toArray(new Vma[0])));
        final AtomicBoolean done = new AtomicBoolean();
        final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        final long[] lookups = new long[READERS];
        final List<Thread> readers = new ArrayList<>();
        for (int t = 0; t < READERS; t++)
        {
            final int id = t;
            readers.add(new Thread(() ->
            {
                final SplittableRandom random = new SplittableRandom(100 + id);
                long n = 0;
                while (!done.get() && errors.isEmpty())
                {
                    // acquire: pairs with the writer's release store, so the tree's arrays are seen filled
                    final VmaTree tree = (VmaTree)CURRENT.getAcquire(this);
                    for (int i = 0; i < 64; i++)
                    {
                        // below the end of the last permanent VMA, so every lookup finds one
                        final long addr = random.nextLong(slotStart(SLOTS - 2) + 2 * PAGE);
                        final String error = checkLookup(tree, addr, permanent, published);
                        if (error != null)
                        {
                            errors.add(error);
                        }
                        n++;
                    }
                    if (random.nextInt(200) == 0)
                    {
                        final String shape = tree.checkShape();
                        if (!shape.isEmpty())
                        {
                            errors.add("a published tree is malformed: " + shape);
                        }
                    }
                }
                lookups[id] = n;
            }));
        }
        readers.forEach(Thread::start);
        final SplittableRandom random = new SplittableRandom(7);
        int maxSize = 0;
        int minSize = Integer.MAX_VALUE;
        for (int edit = 0; edit < EDITS && errors.isEmpty(); edit++)
        {
            final VmaTree tree = (VmaTree)CURRENT.getAcquire(this);
            final int first = random.nextInt(SLOTS);
            final int last = Math.min(SLOTS - 1, first + (random.nextInt(10) == 0 ? random.nextInt(600) : random.nextInt(6)));
            // odd slots stay present with a probability that drifts, so the tree grows and shrinks
            final int presentPercent = (edit / 1_000) % 2 == 0 ? 15 : 85;
            final List<Vma> with = new ArrayList<>();
            for (int slot = first; slot <= last; slot++)
            {
                if (permanent[slot] != null)
                {
                    with.add(permanent[slot]);
                }
                else if (random.nextInt(100) < presentPercent)
                {
                    final Vma vma = slotVma(slot);
                    published.add(vma);
                    with.add(vma);
                }
            }
            final int from = tree.indexAfter(slotStart(first));
            final int to = tree.indexAfter(slotStart(last) + 2 * PAGE);
            final VmaTree next = tree.replace(from, to, with.toArray(new Vma[0]));
            // release store: a reader that loads next sees its arrays and VMAs fully built
            CURRENT.setRelease(this, next);
            maxSize = Math.max(maxSize, next.size());
            minSize = Math.min(minSize, next.size());
        }
        done.set(true);
        for (final Thread reader : readers)
        {
            reader.join();
        }
        assertTrue(errors.isEmpty(), () -> errors.size() + " bad lookups, first: " + errors.peek());
        assertEquals("", ((VmaTree)CURRENT.getAcquire(this)).checkShape());
        for (final long n : lookups)
        {
            assertTrue(n > 0, "a reader never ran");
        }
        // the edits crossed run boundaries many times over: several runs at the smallest size
        assertTrue(minSize > 2 * VmaTree.RUN_MAX && maxSize - minSize > VmaTree.RUN_MAX,
            "sizes " + minSize + ".." + maxSize);
    }

    /** Null if the lookup of {@code addr} in {@code tree} is right, else what is wrong. */
    private static String checkLookup(final VmaTree tree, final long addr, final Vma[] permanent, final Set<Vma> published)
    {
        final Vma vma = tree.find(addr);
        final String at = "find(0x" + Long.toHexString(addr) + ") = " + vma;
        if (vma == null)
        {
            return at + ": nothing, below the last permanent VMA";
        }
        if (!published.contains(vma))
        {
            return at + ": never published";
        }
        if (vma.end <= addr)
        {
            return at + ": ends at or below the address";
        }
        final int slot = (int)((addr / PAGE - 1) / 4);
        final long inSlot = addr - slotStart(slot);
        if (permanent[slot] != null && inSlot >= 0 && inSlot < 2 * PAGE && vma != permanent[slot])
        {
            return at + ": not the permanent VMA " + permanent[slot];
        }
        final int index = tree.indexAfter(addr);
        if (tree.get(index) != vma || (index > 0 && tree.get(index - 1).end > addr))
        {
            return at + ": not the first VMA ending above the address in its version";
        }
        return null;
    }
}
