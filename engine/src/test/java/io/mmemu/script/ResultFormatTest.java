package io.mmemu.script;

import io.mmemu.vm.Signal;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Result lines against what strace 6.1 printed for the same outcomes on Linux x86-64 (errno values
 * from asm-generic/errno-base.h: ENOMEM 12, EINVAL 22, EFAULT 14, EEXIST 17; signal codes from
 * siginfo.h: SEGV_MAPERR 1, SEGV_ACCERR 2, BUS_ADRERR 2 of SIGBUS).
 */
final class ResultFormatTest
{
    private static final Window NONE = Window.NONE;

    private static Statement statement(final String line) throws ScriptException
    {
        return ScriptParser.parse(line).get(0);
    }

    @Test
    void addressesAreLowerCaseHex()
    {
        assertEquals("0x7f9bd374b000", ResultFormat.result(Call.MREMAP, Outcome.returned(0x7F9BD374B000L), NONE));
        assertEquals("0x100000000000", ResultFormat.result(Call.MMAP, Outcome.returned(0x100000000000L), NONE));
        assertEquals("0x1000", ResultFormat.result(Call.MMAP, Outcome.returned(0x1000), NONE));
    }

    @Test
    void statusesAreZero()
    {
        assertEquals("0", ResultFormat.result(Call.MUNMAP, Outcome.returned(0), NONE));
        assertEquals("0", ResultFormat.result(Call.MPROTECT, Outcome.returned(0), NONE));
        assertEquals("0", ResultFormat.result(Call.MADVISE, Outcome.returned(0), NONE));
        assertEquals("0", ResultFormat.result(Call.TOUCH, Outcome.returned(0), NONE));
    }

    @Test
    void errorsAsStracePrintsThem()
    {
        assertEquals("-1 ENOMEM (Cannot allocate memory)", ResultFormat.result(Call.MMAP, Outcome.returned(-12), NONE));
        assertEquals("-1 EINVAL (Invalid argument)", ResultFormat.result(Call.MUNMAP, Outcome.returned(-22), NONE));
        assertEquals("-1 EFAULT (Bad address)", ResultFormat.result(Call.MREMAP, Outcome.returned(-14), NONE));
        assertEquals("-1 EEXIST (File exists)", ResultFormat.result(Call.MMAP, Outcome.returned(-17), NONE));
        assertEquals("-1 E4095 (Unknown error 4095)", ResultFormat.result(Call.MADVISE, Outcome.returned(-4095), NONE));
    }

    @Test
    void onlyTheLast4095ValuesAreErrors()
    {
        assertEquals(4095, Outcome.returned(-4095).errno());
        assertEquals(1, Outcome.returned(-1).errno());
        assertEquals(0, Outcome.returned(-4096).errno());
        assertEquals(0, Outcome.returned(0).errno());
        assertEquals("0xfffffffffffff000", ResultFormat.result(Call.MMAP, Outcome.returned(-4096), NONE));
    }

    @Test
    void signalsAsStracePrintsThem()
    {
        assertEquals("SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x200000000000}",
            ResultFormat.result(Call.TOUCH, Outcome.raised(Signal.SEGV_MAPERR, 0x200000000000L), NONE));
        assertEquals("SIGSEGV {si_code=SEGV_ACCERR, si_addr=0x100000001000}",
            ResultFormat.result(Call.TOUCH, Outcome.raised(Signal.SEGV_ACCERR, 0x100000001000L), NONE));
        assertEquals("SIGBUS {si_code=BUS_ADRERR, si_addr=0x100000003000}",
            ResultFormat.result(Call.TOUCH, Outcome.raised(Signal.BUS_ADRERR, 0x100000003000L), NONE));
    }

    @Test
    void theWindowHidesOnlyMappingAddressesOutsideIt()
    {
        final Window window = new Window(0x100000000000L, 0x100000400000L);
        assertEquals("0x100000000000", ResultFormat.result(Call.MMAP, Outcome.returned(0x100000000000L), window));
        assertEquals("0x1000003ff000", ResultFormat.result(Call.MREMAP, Outcome.returned(0x1000003ff000L), window));
        assertEquals("<outside window>", ResultFormat.result(Call.MMAP, Outcome.returned(0x100000400000L), window));
        assertEquals("<outside window>", ResultFormat.result(Call.MREMAP, Outcome.returned(0x7ffff7ff0000L), window));
        assertEquals("<outside window>", ResultFormat.result(Call.MMAP, Outcome.returned(0xfffff000L), window));
        assertEquals("-1 ENOMEM (Cannot allocate memory)", ResultFormat.result(Call.MMAP, Outcome.returned(-12), window));
        assertEquals("0", ResultFormat.result(Call.MUNMAP, Outcome.returned(0), window));
        assertEquals("SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x7000}",
            ResultFormat.result(Call.TOUCH, Outcome.raised(Signal.SEGV_MAPERR, 0x7000), window));
    }

    @Test
    void windowRanges()
    {
        final Window window = new Window(0x10000, 0x20000);
        assertTrue(window.showsAnyOf(0xf000, 0x11000));
        assertTrue(window.showsAnyOf(0x1f000, 0x30000));
        assertTrue(window.showsAnyOf(0x0, 0x100000));
        assertFalse(window.showsAnyOf(0x0, 0x10000), "ends where the window starts");
        assertFalse(window.showsAnyOf(0x20000, 0x21000), "starts where the window ends");
        assertTrue(Window.NONE.showsAnyOf(0x20000, 0x21000));
        assertTrue(Window.NONE.shows(0x7ffffffff000L));
        final Window top = new Window(0x7fff00000000L, 0xffffffffffffffffL);
        assertTrue(top.shows(0x7ffffffff000L), "unsigned: the end is 2^64 - 1");
        assertThrows(IllegalArgumentException.class, () -> new Window(0x20000, 0x10000));
    }

    @Test
    void theLineIsTheCallAsWrittenWithoutTheRecordedResult() throws ScriptException
    {
        assertEquals("munmap(0x7f9bd3746000, 34547) = 0",
            ResultFormat.line(statement("munmap(0x7f9bd3746000, 34547)           = 0"), Outcome.returned(0), NONE));
        assertEquals("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffe000",
            ResultFormat.line(statement("  mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000  "),
                Outcome.returned(0x7ffff7ffe000L), NONE));
        assertEquals("mprotect(0x7, 4096, PROT_READ) = -1 EINVAL (Invalid argument)",
            ResultFormat.line(statement("mprotect(0x7, 4096, PROT_READ)"), Outcome.returned(-22), NONE));
    }

    @Test
    void pagemapLines()
    {
        // present (63) and exclusively mapped (56): a written private anonymous page
        assertEquals("0x100000000000 0x8100000000000000", ResultFormat.pagemapLine(0x100000000000L, 0x8100000000000000L));
        // present only: the shared zero page after a read fault
        assertEquals("0x100000001000 0x8000000000000000", ResultFormat.pagemapLine(0x100000001000L, 1L << 63));
        assertEquals("0x1000 0x0000000000000000", ResultFormat.pagemapLine(0x1000, 0));
        // present, file page or shared anonymous (61), soft-dirty (55)
        assertEquals("0x7ffffffee000 0xa080000000000000", ResultFormat.pagemapLine(0x7ffffffee000L, 0xa080000000000000L));
    }

    @Test
    void optionsRejectBadRanges()
    {
        final long g = Replay.DEFAULT_PHYSICAL_MEMORY;
        assertEquals(4L << 30, g);
        assertThrows(IllegalArgumentException.class, () -> new Replay.Options(false, 0x1001, 0x2000, true, 0, 0, g));
        assertThrows(IllegalArgumentException.class, () -> new Replay.Options(false, 0x1000, 0x2001, true, 0, 0, g));
        assertThrows(IllegalArgumentException.class, () -> new Replay.Options(false, 0x3000, 0x2000, true, 0, 0, g));
        assertThrows(IllegalArgumentException.class, () -> new Replay.Options(false, 0, 0, false, 0x3000, 0x2000, g));
        assertThrows(IllegalArgumentException.class, () -> new Replay.Options(false, 0, 0, false, 0, 0, 0));
        // without --pagemap its range is not looked at
        assertEquals(Window.NONE, new Replay.Options(true, 0x1001, 0, false, 0, 0, g).window());
        assertEquals(new Window(0x1000, 0x2000), new Replay.Options(true, 0, 0x1000, true, 0x1000, 0x2000, g).window());
    }
}
