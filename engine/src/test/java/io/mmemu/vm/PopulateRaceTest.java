package io.mmemu.vm;

import static io.mmemu.vm.Mman.MADV_POPULATE_WRITE;
import static io.mmemu.vm.Mman.MAP_ANONYMOUS;
import static io.mmemu.vm.Mman.MAP_PRIVATE;
import static io.mmemu.vm.Mman.PROT_READ;
import static io.mmemu.vm.Mman.PROT_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

import io.mmemu.phys.PhysicalMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * MADV_POPULATE_WRITE racing an mprotect that takes write permission away and gives it back: every
 * sequential order gives 0 (populate before, or after the write permission came back) or EINVAL
 * (after it went), never ENOMEM, which is for holes. Populate holds no lock across the range, so
 * it sees the change at a page it faults, not in its VMA check (found by the linearizability
 * checker: the fault's SEGV_ACCERR was reported as ENOMEM).
 */
final class PopulateRaceTest
{
    private static final int PAGES = 64;
    private static final int ROUNDS = 4000;

    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void populateRacingMprotectReturnsOnlyWhatSomeOrderGives(final LockingMode locking) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION);
            final long length = PAGES * 4096L;
            final long a;
            try (Cpu cpu = mm.attachCpu())
            {
                a = cpu.mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                assertTrue(a > 0, "mmap: " + a);
            }
            final AtomicBoolean stop = new AtomicBoolean();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            final Thread protector = new Thread(() ->
            {
                try (Cpu cpu = mm.attachCpu())
                {
                    while (!stop.get())
                    {
                        // the back half flips, so a populate meets it after faulting the front half
                        assertEquals(0, cpu.mprotect(a + length / 2, length / 2, PROT_READ));
                        assertEquals(0, cpu.mprotect(a + length / 2, length / 2, PROT_READ | PROT_WRITE));
                    }
                }
                catch (final Throwable ex)
                {
                    errors.add(ex);
                }
            }, "protector");
            protector.start();
            int succeeded = 0;
            int refused = 0;
            try (Cpu cpu = mm.attachCpu())
            {
                for (int round = 0; round < ROUNDS && errors.isEmpty(); round++)
                {
                    final long r = cpu.madvise(a, length, MADV_POPULATE_WRITE);
                    if (r == 0)
                    {
                        succeeded++;
                    }
                    else
                    {
                        assertEquals(-Errno.EINVAL, r, "round " + round + ": populate returned " + r);
                        refused++;
                    }
                    assertEquals(0, cpu.madvise(a, length, Mman.MADV_DONTNEED));
                }
            }
            finally
            {
                stop.set(true);
                protector.join();
            }
            assertTrue(errors.isEmpty(), () -> errors.peek().toString());
            // both orders happened, so the race was there to be lost
            assertTrue(succeeded > 0 && refused > 0, "succeeded " + succeeded + ", refused " + refused);
            mm.check(true).assertOk();
            mm.close();
        }
    }

    /**
     * get_user_pages never grows a stack: an address below a VM_GROWSDOWN VMA is a hole to a
     * populate, while the same address written by the process grows the stack down to it.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void populateDoesNotGrowAStack(final LockingMode locking)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION);
            try (Cpu cpu = mm.attachCpu())
            {
                final long stack = 0x7000_0000_0000L;
                assertEquals(stack, cpu.mmap(stack, 2 * 4096, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | Mman.MAP_FIXED | Mman.MAP_GROWSDOWN, -1, 0));
                final long below = stack - 3 * 4096;
                assertEquals(Signal.SEGV_MAPERR, cpu.faultIn(below, true));
                assertEquals(Signal.SEGV_MAPERR, cpu.faultIn(below, false));
                assertEquals(stack, mm.tree().lookup(stack).start, "a populate grew the stack");
                assertEquals(Signal.NONE, cpu.writeByte(below, 7));
                assertEquals(below, mm.tree().lookup(stack).start, "a user write below the stack grows it");
            }
            mm.check(true).assertOk();
            mm.close();
        }
    }

    /**
     * MAP_POPULATE of the range just below a stack racing its munmap (the soak's violation: the
     * populate went on faulting after the munmap, each fault grew the stack, and a later mremap
     * found the grown stack where every order gives EFAULT). The stack must never move.
     */
    @ParameterizedTest
    @EnumSource(LockingMode.class)
    void populateRacingMunmapBelowAStackNeverGrowsIt(final LockingMode locking) throws Exception
    {
        try (PhysicalMemory memory = PhysicalMemory.create(64L << 20))
        {
            final AddressSpace mm = AddressSpace.create(memory, locking, AddressSpace.DEFAULT_SECTION);
            final long stack = 0x7000_0000_0000L;
            final long length = PAGES * 4096L;
            try (Cpu cpu = mm.attachCpu())
            {
                assertEquals(stack, cpu.mmap(stack, 4096, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | Mman.MAP_FIXED | Mman.MAP_GROWSDOWN, -1, 0));
            }
            final AtomicBoolean stop = new AtomicBoolean();
            final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            final Thread unmapper = new Thread(() ->
            {
                try (Cpu cpu = mm.attachCpu())
                {
                    while (!stop.get())
                    {
                        assertEquals(0, cpu.munmap(stack - length, length));
                        Thread.onSpinWait();
                    }
                }
                catch (final Throwable ex)
                {
                    errors.add(ex);
                }
            }, "unmapper");
            unmapper.start();
            try (Cpu cpu = mm.attachCpu())
            {
                for (int round = 0; round < ROUNDS / 4 && errors.isEmpty(); round++)
                {
                    final long r = cpu.mmap(stack - length, length, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | Mman.MAP_FIXED | Mman.MAP_POPULATE, -1, 0);
                    assertEquals(stack - length, r);
                    final Vma top = mm.tree().find(stack);
                    assertEquals(stack, top.start, "round " + round + ": the stack grew to 0x" + Long.toHexString(top.start));
                }
            }
            finally
            {
                stop.set(true);
                unmapper.join();
            }
            assertTrue(errors.isEmpty(), () -> errors.peek().toString());
            mm.check(true).assertOk();
            mm.close();
        }
    }
}
