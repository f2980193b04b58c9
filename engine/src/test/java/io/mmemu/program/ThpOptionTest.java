package io.mmemu.program;

import java.util.Map;

import io.mmemu.inspect.Inspection;
import io.mmemu.phys.Backing;
import io.mmemu.vm.ThpMode;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code option thp} and {@code --thp}: the policy a run's address space follows. */
final class ThpOptionTest
{
    @Test
    void theOptionSetsThePolicyAndTheRunsAddressSpaceFollowsIt()
    {
        assertEquals(ThpMode.NEVER, RunOptions.defaults().thp(), "the same on every host unless asked");
        assertEquals(ThpMode.MADVISE, RunOptions.defaults().with("thp", "madvise").thp());
        assertEquals(ThpMode.ALWAYS, RunOptions.defaults().with("thp", " always ").thp());
        assertEquals(ThpMode.host(), RunOptions.defaults().with("thp", "host").thp());
        assertEquals(ThpMode.MADVISE, RunOptions.defaults().with("thp", "madvise").withThreads(2).withLocking(
            io.mmemu.vm.LockingMode.MMAP_LOCK).thp(), "kept by the other options' copies");
        final IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
            () -> RunOptions.defaults().with("thp", "sometimes"));
        assertEquals("THP mode must be always, madvise or never, not 'sometimes'", bad.getMessage());
        assertTrue(RunOptions.NAMES.contains("thp"));

    }

    @Test
    void aProgramsOptionReachesItsAddressSpace() throws Exception
    {
        final Program program = Program.parse("t.mm", """
            option thp always
            m = mmap(0x40000000, 2M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) expect ok
            touch(m, 2M, PROT_WRITE) expect ok
            """, Map.of());
        final RunOptions options = program.applyOptions(RunOptions.defaults().withPhysicalMemory(64L << 20, Backing.FULL));
        final ThpMode[] seen = new ThpMode[1];
        final String[] smaps = new String[1];
        final Report report = new Run(program, options).execute(Run.Progress.NONE, space ->
        {
            seen[0] = space.thp();
            smaps[0] = Inspection.of(space, space.thp()).smaps();
        });
        assertEquals(ThpMode.ALWAYS, seen[0]);
        assertTrue(smaps[0].contains("AnonHugePages:      2048 kB"), smaps[0]);
        assertEquals(1, report.stats().faults(), "one 2 MiB fault");
        assertEquals(1, report.stats().thpFaultAlloc());
        assertEquals(0, report.stats().thpFaultFallback());
        final java.io.ByteArrayOutputStream json = new java.io.ByteArrayOutputStream();
        report.writeJson(json);
        final String text = json.toString().replaceAll("\\s", "");
        assertTrue(text.contains("\"thp_fault_alloc\":1,\"thp_fault_fallback\":0,\"thp_zero_page\":0"), text);
    }
}
