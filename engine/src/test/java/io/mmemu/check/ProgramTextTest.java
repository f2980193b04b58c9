package io.mmemu.check;

import java.util.Map;
import java.util.SplittableRandom;

import io.mmemu.phys.Backing;
import io.mmemu.program.Program;
import io.mmemu.script.Call;
import io.mmemu.script.Outcome;
import io.mmemu.vm.LockingMode;
import org.junit.jupiter.api.Test;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every generated scenario prints as a program {@code mmemu run} accepts, in the calls' own syntax. */
class ProgramTextTest
{
    @Test
    void everyScenarioIsAProgram() throws Exception
    {
        final SplittableRandom random = new SplittableRandom(11);
        int fiveLevel = 0;
        for (int k = 0; k < 300; k++)
        {
            final Scenario scenario = ScenarioGenerator.standard().next(random,
                k % 2 == 0 ? LockingMode.PER_VMA : LockingMode.MMAP_LOCK, k % 3 == 0 ? Backing.TABLES_ONLY : Backing.FULL);
            final String text = ProgramText.program(scenario, null);
            Program.parse("scenario-" + k + ".mm", text, Map.of()); // throws with FILE:LINE:COL on any error
            assertEquals(scenario, ProgramText.parse("scenario-" + k + ".mm", text), text);
            if (scenario.paging() == 5)
            {
                fiveLevel++;
                assertTrue(text.contains("\noption paging 5\n"), text);
            }
        }
        // a quarter are drawn with five levels: far outside [40, 110] of 300 is a broken draw
        assertTrue(fiveLevel >= 40 && fiveLevel <= 110, "scenarios on five-level tables: " + fiveLevel);
    }

    @Test
    void readingBackNamesTheLine()
    {
        final IllegalArgumentException ex = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> ProgramText.parse("bad.mm", "option locking per-vma\nthread t0 {\n    wait go\n    munmap(0x1000)\n}\n"));
        assertTrue(ex.getMessage().startsWith("bad.mm:4: "), ex.getMessage());
        assertThrows(() -> ProgramText.parse("open.mm", "thread t0 {\n"), "open.mm: a thread block is not closed");
        assertThrows(() -> ProgramText.parse("none.mm", "munmap(0x1000, 4096)\n"), "none.mm: no thread block");
    }

    private static void assertThrows(final org.junit.jupiter.api.function.Executable run, final String message)
    {
        assertEquals(message, org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, run).getMessage());
    }

    @Test
    void callsPrintAsStraceWritesThem()
    {
        assertEquals("mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_FIXED|MAP_ANONYMOUS, -1, 0)",
            ProgramText.op(Op.syscall(Call.MMAP, 0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0)));
        assertEquals("mremap(0x1000, 4096, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x5000)",
            ProgramText.op(Op.syscall(Call.MREMAP, 0x1000, 4096, 8192, MREMAP_MAYMOVE | MREMAP_FIXED, 0x5000)));
        assertEquals("mremap(0x1000, 4096, 8192, 0)", ProgramText.op(Op.syscall(Call.MREMAP, 0x1000, 4096, 8192, 0, 0)));
        assertEquals("mprotect(0x1000, 4096, PROT_NONE)", ProgramText.op(Op.syscall(Call.MPROTECT, 0x1000, 4096, PROT_NONE)));
        assertEquals("madvise(0x1000, 4096, MADV_DONTNEED)", ProgramText.op(Op.syscall(Call.MADVISE, 0x1000, 4096, MADV_DONTNEED)));
        assertEquals("touch(0x1800, 1, PROT_WRITE) value 9", ProgramText.op(Op.write(0x1800, 9)));
        assertEquals("read 0x09", ProgramText.result(Op.read(0x1800), Outcome.returned(9)));
        assertTrue(ProgramText.result(Op.read(0x1800), Outcome.raised(io.mmemu.vm.Signal.SEGV_MAPERR, 0x1800))
            .startsWith("SIGSEGV {si_code=SEGV_MAPERR"));
    }
}
