package io.mmemu.bench.workload;

import io.mmemu.phys.Backing;
import io.mmemu.vm.LockingMode;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * page_fault1_guard's point is that the threads' VMAs never meet: with small mappings the threads
 * map, fault and unmap side by side thousands of times a second, and no fault may ever find its
 * VMA locked by the other thread's mmap or mprotect (a mapping made writable whole and then
 * guarded merges with the neighbour's for a moment, and the neighbour's faults wait).
 */
final class EmulatorLoopsTest
{
    @Test
    void guardedMappingsNeverMakeTheOtherThreadsFaultsWait()
    {
        // the claim needs both threads to go round their loops many times together; on a loaded
        // machine 0.3 s may not be enough, so the run gets longer until it is (never a speed bound)
        final int minimumOps = 10 * 64;
        long fewest = 0;
        for (double seconds = 0.3; seconds <= 4.8 && fewest <= minimumOps; seconds *= 2)
        {
            try (EmulatorLoops loops = new EmulatorLoops())
            {
                final RunResult result = loops.run(new BenchSpec(Workload.PAGE_FAULT1_GUARD, 2, seconds, 64 * 4096, 0, 0,
                    LockingMode.PER_VMA, Backing.TABLES_ONLY));
                assertEquals(0, result.faultWaits(), "faults that waited for the other thread's call");
                fewest = Math.min(result.ops()[0], result.ops()[1]);
            }
        }
        assertTrue(fewest > minimumOps, "both threads went round their loops together: " + fewest);
    }
}
