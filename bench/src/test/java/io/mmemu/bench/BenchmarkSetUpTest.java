package io.mmemu.bench;

import java.util.HashSet;
import java.util.Set;

import io.mmemu.pgtable.PageTableChecker;
import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.Backing;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The benchmarks measure what they claim: walks that translate, ranges that populate and come back. */
class BenchmarkSetUpTest
{
    @Test
    void everyWalkOfTheHotSetTranslatesAndCoversEveryPage()
    {
        final PageWalkBenchmark bench = new PageWalkBenchmark();
        bench.pages = 64;
        bench.setUp();
        try
        {
            final Set<Long> frames = new HashSet<>();
            for (int i = 0; i < 64; i++)
            {
                final long pa = bench.translate();
                assertNotEquals(PageWalker.NO_TRANSLATION, pa);
                frames.add(pa >>> 12);
            }
            assertEquals(64, frames.size(), "64 walks visit 64 distinct pages");
        }
        finally
        {
            bench.tearDown();
        }
    }

    @Test
    void populateUnmapMapsAndUnmapsAGibEveryOp()
    {
        final PopulateBenchmark bench = new PopulateBenchmark();
        bench.setUp();
        try
        {
            assertEquals(PopulateBenchmark.PAGES, bench.populateUnmap());
            assertEquals(PopulateBenchmark.PAGES, bench.populateUnmap());
        }
        finally
        {
            bench.tearDown();
        }
    }

    @Test
    void theFixtureUnmapsToAnEmptyRoot()
    {
        try (PageTableFixture tables = new PageTableFixture(1L << 30, Backing.TABLES_ONLY))
        {
            final long before = tables.memory().framesInUse();
            final long end = PageTableFixture.BASE + (8L << 20);
            tables.populate(PageTableFixture.BASE, end);
            assertEquals(2048, tables.done());
            assertTrue(PageTableChecker.check(tables.memory(), tables.cr3()).ok());
            tables.unmap(PageTableFixture.BASE, end);
            assertEquals(2048, tables.done());
            assertEquals(before, tables.memory().framesInUse(), "data frames and tables all returned");
            assertTrue(PageTableChecker.check(tables.memory(), tables.cr3()).ok());
        }
    }
}
