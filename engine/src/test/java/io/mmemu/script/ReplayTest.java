package io.mmemu.script;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Replay#run}'s contract for scripts that must not run. */
final class ReplayTest
{
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(final Reader script, final Replay.Options options)
    {
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8))
        {
            return Replay.run("t.strace", script, options, o, e);
        }
    }

    @Test
    void aMalformedScriptPrintsEveryErrorAndRunsNothing()
    {
        final String script = """
            mmap(0x100000000000, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
            munmap(0x100000000000)
            touch(0x100000000000, 4096, PROT_WRITE)
            mprotect(0x100000000000, 4096, PROT_READ) junk
            """;
        assertEquals(2, run(new StringReader(script), Replay.Options.resultsOnly()));
        assertEquals("", out.toString(StandardCharsets.UTF_8), "nothing ran, nothing printed");
        assertEquals("""
            t.strace:2: munmap takes 2 arguments, not 1: munmap(addr, length) (column 1)
            t.strace:4: unexpected 'junk' after the call (only ' = RESULT' may follow it) (column 43)
            """, err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aScriptThatCannotBeReadIsAnError()
    {
        final Reader failing = new Reader()
        {
            @Override
            public int read(final char[] buffer, final int offset, final int length) throws IOException
            {
                throw new IOException("Is a directory");
            }

            @Override
            public void close()
            {
            }
        };
        assertEquals(2, run(failing, Replay.Options.resultsOnly()));
        assertEquals("t.strace: cannot read: Is a directory\n", err.toString(StandardCharsets.UTF_8));
        assertEquals("", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void physicalMemoryTheMachineCannotHaveIsAnError()
    {
        assertEquals(2, run(new StringReader("# nothing\n"), new Replay.Options(false, 0, 0, false, 0, 0, 4097)));
        final String message = err.toString(StandardCharsets.UTF_8);
        assertTrue(message.startsWith("mmemu replay: physical memory") && message.contains("4097"), message);
        assertEquals("", out.toString(StandardCharsets.UTF_8));
    }
}
