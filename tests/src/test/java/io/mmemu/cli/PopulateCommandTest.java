package io.mmemu.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code mmemu populate}: the tables are filled, checked, zapped, and every frame comes back; bad input exits 2. */
final class PopulateCommandTest
{
    @Test
    void populatesChecksAndReturnsEveryFrame()
    {
        final CommandOutput r = CommandOutput.run("populate", "--size", "64M", "--physmem", "256M", "--backing", "tables-only");
        assertEquals(0, r.exitCode(), r.out() + r.err());
        assertEquals("", r.err());
        assertTrue(r.out().contains("populated         64.0 MiB: 16384 pages"), r.out());
        // PML4, PDPT, PD and 32 PTs
        assertTrue(r.out().contains("invariants        ok (35 tables, 16384 leaves reachable from CR3 0x"), r.out());
        assertTrue(r.out().contains("after zap         ok: every frame returned"), r.out());
    }

    @Test
    void badInputExitsTwoWithOneLine()
    {
        for (final String[] bad : new String[][] {{"--backing", "some"}, {"--size", "3"}, {"--physmem", "100P"}})
        {
            final String[] args = new String[bad.length + 1];
            args[0] = "populate";
            System.arraycopy(bad, 0, args, 1, bad.length);
            final CommandOutput r = CommandOutput.run(args);
            assertEquals(2, r.exitCode(), String.join(" ", bad));
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().startsWith("mmemu populate: "), r.err());
        }
    }
}
