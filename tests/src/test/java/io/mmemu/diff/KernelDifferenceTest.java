package io.mmemu.diff;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The table of known kernel differences: each names fixtures that exist, and is found only where present. */
class KernelDifferenceTest
{
    private static final KernelDifference.Host CURRENT = new KernelDifference.Host(6, 18, 65530);

    @Test
    void everyDifferenceExcusesSomeFixtureAndNoneOnTheKernelTheEmulatorModels() throws IOException
    {
        final List<String> fixtures = Fixture.all().stream().map(Fixture::name).toList();
        for (final KernelDifference difference : KernelDifference.ALL)
        {
            assertTrue(fixtures.stream().anyMatch(difference.fixtures()), difference.name() + " names no fixture");
        }
        for (final String fixture : fixtures)
        {
            assertEquals(Optional.empty(), KernelDifference.excusing(fixture, CURRENT), fixture);
        }
    }

    @Test
    void eachDifferenceIsFoundWhereItIsPresent()
    {
        final KernelDifference.Host older = new KernelDifference.Host(6, 16, 65530);
        assertEquals("mremap-multiple-vmas", KernelDifference.excusing("mremap-move-multiple-vmas", older)
            .map(KernelDifference::name).orElse(null));
        assertEquals(Optional.empty(), KernelDifference.excusing("mremap-move-pte", older));
        assertEquals("max_map_count", KernelDifference.excusing("max-map-count", new KernelDifference.Host(6, 18, 262144))
            .map(KernelDifference::name).orElse(null));
        assertTrue(KernelDifference.excusing("max-map-count", older).isEmpty());
    }

    @Test
    void theLiveHostIsRead() throws IOException
    {
        final KernelDifference.Host live = KernelDifference.Host.live();
        assertTrue(live.major() >= 3 && live.maxMapCount() > 0, live.toString());
    }
}
