package io.mmemu.bench.scenario;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** {@link ForkScenario}'s rule for the sides a machine cannot hold: skipped with a line, not failed. */
final class ForkScenarioTest
{
    private static final long GIB = 1L << 30;

    @Test
    void aSideTheMachineCannotHoldNowIsSkippedWithItsReason()
    {
        assertEquals("host.64GiB: skipped: populating 64 GiB, and its COW copies, needs 66.3 GiB of host memory, " +
                "MemAvailable is 21.5 GiB",
            ForkScenario.skipped("host", 64 * GIB, 66 * GIB + 300L * (1 << 20), 21 * GIB + GIB / 2,
                "populating 64 GiB, and its COW copies,"));
        assertNull(ForkScenario.skipped("emulator.full", 16 * GIB, 18 * GIB, 21 * GIB, "populating"), "18 GiB of 21 fits");
        assertNull(ForkScenario.skipped("emulator.full", GIB, 21 * GIB, 21 * GIB, "populating"), "exactly what is available fits");
    }
}
