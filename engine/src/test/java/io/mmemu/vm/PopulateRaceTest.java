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
}
