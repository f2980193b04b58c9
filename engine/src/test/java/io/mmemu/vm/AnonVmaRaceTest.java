package io.mmemu.vm;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A VMA's first anonymous fault (anon_vma_prepare) against a writer merging that VMA with a new
 * neighbour: the anon_vma is assigned only under the mmap lock (vmf_anon_prepare), so the writer,
 * which decides the merge under the mmap write lock from the anon_vmas it reads then, never merges
 * a VMA whose draining fault gives it an anon_vma of its own (is_mergeable_anon_vma), and every page
 * of a merged VMA names the merged VMA's anon_vma (the LRU invariant {@link LruCheck} checks).
 */
class AnonVmaRaceTest
{
    private static final long BASE = 0x100000000000L;
    private static final long PAGE = 4096;
    private static final int RW = PROT_READ | PROT_WRITE;
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

    /**
     * Per-VMA mode, the interleaving itself: a fault holds the read lock of a VMA without an
     * anon_vma while a writer, which saw none there, merges the VMA with its neighbours and drains
     * it. The fault's anon_vma_prepare, now, must not give the VMA one (the writer has decided on
     * the merge from the none it saw): it asks for the retry under the mmap lock, which finds the
     * merged VMA and its anon_vma.
     */
    @Test
    void aFaultDrainedByAMergeGivesItsVmaNoAnonVmaOfItsOwn() throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION);
            try (Cpu cpu = mm.attachCpu())
            {
                // left faulted (it has an anon_vma), right only mapped, a page apart
                assertEquals(BASE, cpu.mmap(BASE, PAGE, RW, ANON, -1, 0));
                assertEquals(Signal.NONE, cpu.writeLong(BASE, 1));
                assertEquals(BASE + 2 * PAGE, cpu.mmap(BASE + 2 * PAGE, PAGE, RW, ANON, -1, 0));
                final AnonVma left = mm.tree().find(BASE).anonVma();
                final Vma right = mm.tree().find(BASE + 2 * PAGE);
                assertNotNull(left);
                assertNull(right.anonVma());
                // a first fault in flight in the right VMA: its read lock held, its anon_vma not prepared yet
                assertTrue(right.tryReadLock());
                cpu.offline();
                final AtomicLong mapped = new AtomicLong();
                final Thread writer = new Thread(() ->
                {
                    try (Cpu w = mm.attachCpu())
                    {
                        // the hole: merges with both neighbours, so drains the right VMA (waits for the fault)
                        mapped.set(w.mmap(BASE + PAGE, PAGE, RW, ANON, -1, 0));
                    }
                });
                writer.start();
                while (!right.isLocked())
                {
                    // the writer decided to merge and drains: it holds the mmap lock
                    Thread.onSpinWait();
                }
                final boolean prepared = Faults.prepareAnonVma(mm, right);
                assertFalse(prepared, "anon_vma_prepare under the VMA lock alone while a writer holds the mmap lock");
                assertNull(right.anonVma(), "a VMA being merged got an anon_vma the merge did not see");
                right.readUnlock();
                writer.join();
                assertEquals(BASE + PAGE, mapped.get());
                final Vma merged = mm.tree().find(BASE);
                assertEquals(BASE + 3 * PAGE, merged.end, "one VMA");
                assertSame(left, merged.anonVma());
                // the fault's retry: its page names the merged VMA's anon_vma
                assertEquals(Signal.NONE, cpu.writeLong(BASE + 2 * PAGE, 3));
                assertSame(left, mm.tree().find(BASE + 2 * PAGE).anonVma());
                mm.check(true).assertOk();
                assertEquals(0, cpu.munmap(BASE, 3 * PAGE));
            }
            mm.close();
        }
    }

    /**
     * A first anonymous fault while a writer holds the mmap lock (between two steps of its
     * syscall) waits for it: in mmap-lock mode for the whole fault, in per-VMA mode for its
     * anon_vma (its mmap_read_trylock fails, VM_FAULT_RETRY, and the retry takes the mmap lock).
     * Then it completes, and its page names the VMA's anon_vma.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void aFirstFaultTakesItsAnonVmaOnlyOnceTheWriterLetsGo(final LockingMode locking) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION);
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(BASE, cpu.mmap(BASE, 4 * PAGE, RW, ANON, -1, 0));
                final Vma vma = mm.tree().find(BASE);
                final AtomicInteger signal = new AtomicInteger(-1);
                final AtomicReference<Throwable> failure = new AtomicReference<>();
                final AtomicInteger go = new AtomicInteger();
                final Thread faulter = new Thread(() ->
                {
                    try (Cpu f = mm.attachCpu())
                    {
                        while (go.get() == 0)
                        {
                            Thread.onSpinWait();
                        }
                        signal.set(f.writeLong(BASE + PAGE, 7));
                    }
                    catch (final Throwable ex)
                    {
                        failure.set(ex);
                    }
                });
                faulter.start();
                cpu.offline();
                mm.rangeLock().lockTree(cpu);
                try
                {
                    go.set(1);
                    // the faulter runs until it blocks (on the mmap lock) or ends
                    Thread.State state;
                    while ((state = faulter.getState()) != Thread.State.WAITING && state != Thread.State.TERMINATED)
                    {
                        Thread.onSpinWait();
                    }
                    assertNotEquals(Thread.State.TERMINATED, state, "a first fault completed while a writer held the mmap lock");
                    assertNull(vma.anonVma(), "an anon_vma assigned while a writer held the mmap lock");
                }
                finally
                {
                    mm.rangeLock().unlockTree(cpu);
                }
                faulter.join();
                assertNull(failure.get());
                assertEquals(Signal.NONE, signal.get());
                assertNotNull(mm.tree().find(BASE).anonVma());
                assertEquals(Signal.NONE, cpu.readLong(BASE + PAGE));
                assertEquals(7, cpu.value());
                mm.check(true).assertOk();
                assertEquals(0, cpu.munmap(BASE, 4 * PAGE));
            }
            mm.close();
        }
    }

    /**
     * Many rounds of three threads released together: two map and write a slot each, the third
     * maps the hole between them, which merges with whichever neighbours it may while their first
     * faults run. Afterwards every value reads back and every page names its VMA's anon_vma.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void firstFaultsRacingAMergeNameTheMergedVmasAnonVma(final LockingMode locking) throws Exception
    {
        final long slotPages = 8;
        final long slot = slotPages * PAGE;
        final int rounds = 400;
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION);
            int threeWay = 0;
            try (Cpu cpu = mm.attachCpu())
            {
                cpu.offline();
                for (int round = 0; round < rounds; round++)
                {
                    final long base = BASE + round * 4 * slot;
                    CpuThreads.run(mm, 3, (index, c) ->
                    {
                        // slots 0 and 2 first-faulted by threads 0 and 1, slot 1 (the hole) by thread 2
                        final int s = index == 2 ? 1 : 2 * index;
                        final long at = base + s * slot;
                        assertEquals(at, c.mmap(at, slot, RW, ANON, -1, 0));
                        for (long p = 0; p < slotPages; p++)
                        {
                            assertEquals(Signal.NONE, c.writeLong(at + p * PAGE, at + p * PAGE));
                        }
                    });
                    final Vma first = mm.tree().find(base);
                    threeWay += first.start == base && first.end == base + 3 * slot ? 1 : 0;
                    for (long va = base; va < base + 3 * slot; va += PAGE)
                    {
                        assertEquals(Signal.NONE, cpu.readLong(va));
                        assertEquals(va, cpu.value());
                    }
                    cpu.offline();
                    mm.check(true).assertOk();
                    assertEquals(0, cpu.munmap(base, 3 * slot));
                }
            }
            // the race ran: some rounds merged all three slots (the hole came before the first faults)
            assertTrue(threeWay > 0, "no round merged the three slots");
            mm.close();
        }
    }
}
