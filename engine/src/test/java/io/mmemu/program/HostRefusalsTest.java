package io.mmemu.program;

import java.util.List;
import java.util.Map;

import io.mmemu.script.ScriptException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the host is refused before a run: the memory bound is followed through values known before the run. */
final class HostRefusalsTest
{
    private static final long GIB = 1L << 30;

    private static List<String> refusals(final String source, final long hostMemory) throws ScriptException
    {
        final Program program = Program.parse("t.mm", source, Map.of());
        return HostRefusals.of(program, program.applyOptions(RunOptions.defaults()), hostMemory);
    }

    @Test
    void writesAreCountedPerStatementAndThreadAndFollowedThroughAssignments() throws ScriptException
    {
        final String source = """
            param SIZE = 4G
            a = mmap(NULL, SIZE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0)
            parallel 4 {
                part = SIZE / nthreads
                touch(a + tid * part, part, PROT_WRITE)
            }
            """;
        // 4 threads x 1 GiB (+ a page or two each for unaligned ends)
        assertEquals(List.of(), refusals(source, 5 * GIB));
        final List<String> refused = refusals(source, 4 * GIB);
        assertEquals(1, refused.size(), refused.toString());
        assertTrue(refused.get(0).startsWith("t.mm:5:5: cannot run on the host: by here the program writes up to 4.0 GiB"),
            refused.get(0));
    }

    @Test
    void readsStridesAndRandomTouchesCountOnlyThePagesTheyCanWrite() throws ScriptException
    {
        assertEquals(List.of(), refusals("""
            a = mmap(NULL, 1T, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0)
            touch(a, 1T, PROT_READ)
            touch(a, 1T, PROT_WRITE) stride 1G
            touch(a, 1T, PROT_WRITE) random 1000
            """, GIB));
        assertEquals(1, refusals("""
            a = mmap(NULL, 1T, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0)
            touch(a, 1T, PROT_WRITE) stride 64K
            """, GIB).size());
    }

    @Test
    void loopsCountTheirBodyOnceAndWhatTheyChangeIsUnknown() throws ScriptException
    {
        // page_fault1's shape: 100 rounds of 512 MiB, but the same 512 MiB at a time
        assertEquals(List.of(), refusals("""
            repeat 100 {
                a = mmap(NULL, 512M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
                touch(a, 512M, PROT_WRITE)
                munmap(a, 512M)
            }
            """, GIB));
        // a size that grows in the loop is not known before the run: not counted
        assertEquals(List.of(), refusals("""
            size = 4K
            repeat 40 {
                size = size * 2
                a = mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
                touch(a, size, PROT_WRITE)
            }
            """, GIB));
    }

    @Test
    void populatedAndLockedMappingsAreBackedReservedOnesAreNot() throws ScriptException
    {
        assertEquals(List.of(), refusals("mmap(NULL, 100G, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0)\n",
            GIB));
        assertEquals(1, refusals("mmap(NULL, 2G, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE, -1, 0)\n",
            GIB).size());
        assertEquals(1, refusals("""
            a = mmap(NULL, 2G, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
            madvise(a, 2G, MADV_POPULATE_WRITE)
            """, GIB).size());
    }

    @Test
    void viewsBrkAndPoisonAreRefusedEachWithItsPosition() throws ScriptException
    {
        final List<String> refused = refusals("""
            a = mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
            show walk(a)
            html "x.html"
            brk(0)
            madvise(a, 4096, MADV_HWPOISON)
            madvise(a, 4096, MADV_DONTNEED)
            """, GIB);
        assertEquals(4, refused.size(), refused.toString());
        assertTrue(refused.get(0).startsWith("t.mm:2:1: cannot run on the host: 'show walk'"), refused.get(0));
        assertTrue(refused.get(1).startsWith("t.mm:3:1: cannot run on the host: 'html'"), refused.get(1));
        assertTrue(refused.get(2).startsWith("t.mm:4:1: cannot run on the host: brk"), refused.get(2));
        assertTrue(refused.get(3).startsWith("t.mm:5:1: cannot run on the host: MADV_HWPOISON"), refused.get(3));
    }
}
