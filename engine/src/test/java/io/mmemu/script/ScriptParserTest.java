package io.mmemu.script;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The script syntax. Expected flag values are literals from the x86-64 kernel headers
 * (include/uapi/asm-generic/mman-common.h, mman.h, linux/mman.h), never taken from the code under
 * test: PROT_READ 0x1, PROT_WRITE 0x2, PROT_EXEC 0x4, PROT_SEM 0x8, PROT_GROWSDOWN 0x01000000;
 * MAP_SHARED 0x01, MAP_PRIVATE 0x02, MAP_FIXED 0x10, MAP_ANONYMOUS 0x20, MAP_NORESERVE 0x4000,
 * MAP_FIXED_NOREPLACE 0x100000, MAP_HUGE_SHIFT 26; MREMAP_MAYMOVE 1, MREMAP_FIXED 2,
 * MREMAP_DONTUNMAP 4; MADV_DONTNEED 4, MADV_FREE 8, MADV_COLLAPSE 25. Many lines are verbatim strace
 * 6.1 output.
 */
final class ScriptParserTest
{
    private static Statement only(final String script)
    {
        final List<Statement> statements = parse(script);
        assertEquals(1, statements.size(), () -> "statements of: " + script);
        return statements.get(0);
    }

    private static List<Statement> parse(final String script)
    {
        try
        {
            return ScriptParser.parse(script);
        }
        catch (final ScriptException ex)
        {
            return fail("unexpected errors in '" + script + "': " + ex.errors());
        }
    }

    private static long[] arguments(final Statement statement)
    {
        final long[] values = new long[statement.call().parameters().size()];
        for (int i = 0; i < values.length; i++)
        {
            values[i] = statement.argument(i);
        }
        return values;
    }

    /** An expected value: decimal (maybe negative) or 0x-hex up to 64 bits. */
    private static long literal(final String text)
    {
        return text.startsWith("0x") ? Long.parseUnsignedLong(text.substring(2), 16) : Long.parseLong(text);
    }

    private static List<ParseError> errors(final String script)
    {
        return assertThrows(ScriptException.class, () -> ScriptParser.parse(script), script).errors();
    }

    /** The single error of a one-line script: its column and a reason containing {@code reasonPart}. */
    private static void assertError(final String line, final int column, final String reasonPart)
    {
        final List<ParseError> errors = errors(line);
        assertEquals(1, errors.size(), () -> errors.toString());
        final ParseError error = errors.get(0);
        assertEquals(1, error.line());
        assertTrue(error.reason().contains(reasonPart), () -> "reason '" + error.reason() + "' lacks '" + reasonPart + "'");
        assertEquals(column, error.column(), () -> "column of: " + error.reason());
        assertTrue(!error.reason().contains("\n"), "one line");
    }

    @Test
    void mmapAsStracePrintsIt()
    {
        final Statement s = only("mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7fc0000");
        assertEquals(Call.MMAP, s.call());
        assertArrayEquals(new long[] {0, 8192, 0x3, 0x22, -1, 0}, arguments(s));
        assertEquals("mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)", s.text());
        assertEquals("0x7ffff7fc0000", s.recordedResult());
        assertEquals(1, s.line());
    }

    @Test
    void everyCall()
    {
        final List<Statement> s = parse("""
            mmap(0x100000000000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
            mprotect(0x100000001000, 4096, PROT_READ)
            mremap(0x100000000000, 8192, 16384, MREMAP_MAYMOVE|MREMAP_FIXED, 0x100000200000)
            mremap(0x100000200000, 16384, 4096, 0)
            madvise(0x100000200000, 4096, MADV_DONTNEED)
            munmap(0x100000000000, 4096)
            touch(0x100000200000, 8192, PROT_WRITE)
            """);
        assertEquals(List.of(Call.MMAP, Call.MPROTECT, Call.MREMAP, Call.MREMAP, Call.MADVISE, Call.MUNMAP, Call.TOUCH),
            s.stream().map(Statement::call).toList());
        assertArrayEquals(new long[] {0x100000000000L, 8192, 0x3, 0x32, -1, 0}, arguments(s.get(0)));
        assertArrayEquals(new long[] {0x100000001000L, 4096, 0x1}, arguments(s.get(1)));
        assertArrayEquals(new long[] {0x100000000000L, 8192, 16384, 0x3, 0x100000200000L}, arguments(s.get(2)));
        assertArrayEquals(new long[] {0x100000200000L, 16384, 4096, 0, 0}, arguments(s.get(3)), "absent new_address is 0");
        assertArrayEquals(new long[] {0x100000200000L, 4096, 4}, arguments(s.get(4)));
        assertArrayEquals(new long[] {0x100000000000L, 4096}, arguments(s.get(5)));
        assertArrayEquals(new long[] {0x100000200000L, 8192, 0x2}, arguments(s.get(6)));
        for (int i = 0; i < s.size(); i++)
        {
            assertEquals(i + 1, s.get(i).line());
            assertNull(s.get(i).recordedResult());
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "PROT_NONE; 0",
        "PROT_READ; 1",
        "PROT_WRITE; 2",
        "PROT_EXEC; 4",
        "PROT_SEM; 8",
        "PROT_GROWSDOWN; 0x1000000",
        "PROT_GROWSUP; 0x2000000",
        "PROT_READ|PROT_WRITE|PROT_EXEC; 7",
        "PROT_READ|0x10; 0x11",
        "0x10 /* PROT_??? */; 0x10",
        "0x1 /* PROT_READ */; 1",
        "5; 5",
        "PROT_NONE|PROT_READ; 1",
        "NULL; 0",
        "4294967295; 0xffffffff",
    })
    void protFlags(final String prot, final String expected)
    {
        assertEquals(literal(expected), only("mprotect(0x1000, 4096, " + prot + ")").argument(2));
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "MAP_SHARED; 0x1",
        "MAP_PRIVATE; 0x2",
        "MAP_SHARED_VALIDATE; 0x3",
        "MAP_FILE|MAP_ANONYMOUS; 0x20",
        "MAP_ANON; 0x20",
        "MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS; 0x32",
        "MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE; 0x4022",
        "MAP_PRIVATE|MAP_FIXED_NOREPLACE; 0x100002",
        "MAP_PRIVATE|MAP_ANONYMOUS|MAP_32BIT|MAP_NORESERVE|MAP_POPULATE|MAP_LOCKED|MAP_STACK; 0x2e062",
        "MAP_FILE|MAP_ANONYMOUS|4<<MAP_HUGE_SHIFT; 0x10000020",
        "MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT; 0x54040022",
        "MAP_PRIVATE|0x80000000; 0x80000002",
        "0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */; 0x22",
    })
    void mapFlags(final String flags, final String expected)
    {
        assertEquals(literal(expected), only("mmap(NULL, 4096, PROT_READ, " + flags + ", -1, 0)").argument(3));
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "0; 0",
        "MREMAP_MAYMOVE; 1",
        "MREMAP_MAYMOVE|MREMAP_FIXED; 3",
        "MREMAP_MAYMOVE|MREMAP_DONTUNMAP; 5",
        "MREMAP_MAYMOVE|0x40; 0x41",
    })
    void mremapFlags(final String flags, final String expected)
    {
        assertEquals(literal(expected), only("mremap(0x1000, 4096, 8192, " + flags + ")").argument(3));
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "MADV_NORMAL; 0",
        "MADV_DONTNEED; 4",
        "MADV_FREE; 8",
        "MADV_COLLAPSE; 25",
        "MADV_HWPOISON; 100",
        "0x4d /* MADV_??? */; 0x4d",
        "77; 77",
    })
    void advice(final String advice, final String expected)
    {
        assertEquals(literal(expected), only("madvise(0x1000, 4096, " + advice + ")").argument(2));
    }

    @Test
    void everyNameOfEveryFamilyParsesToItsValue()
    {
        for (final Call call : Call.values())
        {
            for (int i = 0; i < call.parameters().size(); i++)
            {
                final Call.Parameter parameter = call.parameters().get(i);
                long all = 0;
                for (final Map.Entry<String, Long> name : parameter.kind().names().entrySet())
                {
                    final Statement s = only(callWith(call, i, name.getKey()));
                    assertEquals(name.getValue(), s.argument(i), name.getKey());
                    all |= name.getValue();
                }
                if (parameter.kind().combinable() && !parameter.kind().names().isEmpty())
                {
                    final String joined = String.join("|", parameter.kind().names().keySet());
                    assertEquals(all, only(callWith(call, i, joined)).argument(i), joined);
                }
            }
        }
    }

    /** A call of {@code call} with {@code argument} at {@code index} and 0 elsewhere. */
    private static String callWith(final Call call, final int index, final String argument)
    {
        final StringBuilder sb = new StringBuilder(call.callName()).append('(');
        for (int i = 0; i < call.parameters().size(); i++)
        {
            sb.append(i > 0 ? ", " : "").append(i == index ? argument : "0");
        }
        return sb.append(')').toString();
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "0; 0",
        "4096; 4096",
        "0x1000; 4096",
        "0X1000; 4096",
        "0xABCdef; 0xabcdef",
        "0x7ffffffff000; 0x7ffffffff000",
        "0x00000000000000000001; 1",
        "9223372036854775807; 0x7fffffffffffffff",
        "18446744073709551615; -1",
        "0xffffffffffffffff; -1",
        "0x8000000000000000; -9223372036854775808",
        "-1; -1",
        "-4096; -4096",
        "-9223372036854775808; -9223372036854775808",
        "NULL; 0",
    })
    void numbers(final String number, final String expected)
    {
        assertEquals(literal(expected), only("munmap(" + number + ", 4096)").argument(0));
    }

    @Test
    void fdIsAnIntSignedOrUnsigned()
    {
        assertEquals(-1, only("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, -1, 0)").argument(4));
        assertEquals(3, only("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3, 0)").argument(4));
        assertEquals(-2147483648L, only("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, -2147483648, 0)").argument(4));
        assertEquals(0xffffffffL, only("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 4294967295, 0)").argument(4));
        assertError("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 4294967296, 0)", 42, "does not fit in 32 bits (mmap's fd)");
        assertError("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, -2147483649, 0)", 42, "does not fit in 32 bits");
    }

    @Test
    void whitespaceIsFreeAndTheTextIsTrimmed()
    {
        final Statement s = only(" \t munmap (  0x1000 ,\t4096\t)   \t");
        assertArrayEquals(new long[] {0x1000, 4096}, arguments(s));
        assertEquals("munmap (  0x1000 ,\t4096\t)", s.text());
        final Statement flags = only("mprotect(0x1000,4096,PROT_READ | PROT_WRITE)");
        assertEquals(3, flags.argument(2));
        assertEquals("mprotect(0x1000,4096,PROT_READ | PROT_WRITE)", flags.text());
    }

    @Test
    void anythingAfterEqualsIsIgnoredAndKept()
    {
        // strace pads short calls to a column before " = "
        final Statement padded = only("munmap(0x7f9bd3746000, 34547)           = 0");
        assertEquals("munmap(0x7f9bd3746000, 34547)", padded.text());
        assertEquals("0", padded.recordedResult());
        assertEquals("-1 ENOMEM (Cannot allocate memory)",
            only("mremap(0x1000, 4096, 8192, 0)   = -1 ENOMEM (Cannot allocate memory)").recordedResult());
        assertEquals("? <unparsed> ((( ))) /* = */ # x",
            only("munmap(0x1000, 4096) = ? <unparsed> ((( ))) /* = */ # x").recordedResult());
        assertEquals("", only("munmap(0x1000, 4096)=").recordedResult());
        assertEquals("SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x1000}",
            only("touch(0x1000, 4096, PROT_READ) = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x1000}").recordedResult());
    }

    @Test
    void commentsAndBlankLinesAreSkippedAndLinesKeepTheirNumbers()
    {
        final List<Statement> s = parse("""
            # a comment
               # an indented comment

            \t
            munmap(0x1000, 4096)
            #munmap(garbage
            munmap(/* a comment */ 0x2000, 4096 /* another */)
            """);
        assertEquals(2, s.size());
        assertEquals(5, s.get(0).line());
        assertEquals(7, s.get(1).line());
        assertEquals(0x2000, s.get(1).argument(0));
        assertEquals("munmap(/* a comment */ 0x2000, 4096 /* another */)", s.get(1).text());
        assertEquals(List.of(), parse(""));
        assertEquals(List.of(), parse("# only\n\n"));
    }

    @Test
    void windowsAndOldMacLineEndings()
    {
        final List<Statement> s = parse("munmap(0x1000, 4096)\r\n\r\nmunmap(0x2000, 4096) = 0\r\nmunmap(0x3000, 4096)\rmunmap(0x4000, 4096)");
        assertEquals(List.of(1, 3, 4, 5), s.stream().map(Statement::line).toList());
        assertEquals("0", s.get(1).recordedResult());
    }

    @Test
    void touchAccesses()
    {
        assertEquals(0, only("touch(0x1000, 4096, PROT_NONE)").argument(2));
        assertEquals(1, only("touch(0x1000, 4096, PROT_READ)").argument(2));
        assertEquals(2, only("touch(0x1000, 4096, PROT_WRITE)").argument(2));
        assertEquals(3, only("touch(0x1000, 4096, PROT_READ|PROT_WRITE)").argument(2));
        assertEquals(3, only("touch(0x1000, 4096, 3)").argument(2));
        assertEquals(0, only("touch(0x1000, 0, PROT_WRITE)").argument(1));
    }

    // ---- malformed lines: one class each, the error at the right column with a useful reason ----

    @Test
    void unknownCall()
    {
        assertError("mmapp(0, 4096)", 1, "unknown call 'mmapp'");
        assertError("  mlock(0x1000, 4096) = 0", 3, "unknown call 'mlock'");
        assertEquals(Call.BRK, only("brk(NULL) = 0x555555559000").call());
        assertError("MMAP(NULL, 4096, PROT_READ, MAP_PRIVATE, -1, 0)", 1, "unknown call 'MMAP'");
    }

    @Test
    void notACall()
    {
        assertError("42", 1, "expected a call such as mmap(...), found '42'");
        assertError("(mmap)", 1, "expected a call");
        assertError("munmap 0x1000, 4096", 8, "expected '(' after 'munmap', found '0x1000'");
        assertError("munmap", 7, "expected '(' after 'munmap', found the end of the line");
        assertError("= 0", 1, "expected a call");
    }

    @Test
    void wrongArgumentCount()
    {
        assertError("munmap(0x1000)", 1, "munmap takes 2 arguments, not 1: munmap(addr, length)");
        assertError("munmap()", 1, "munmap takes 2 arguments, not 0");
        assertError("munmap(0x1000, 4096, 0)", 1, "munmap takes 2 arguments, not 3");
        assertError("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, -1)", 1, "mmap takes 6 arguments, not 5");
        assertError("mremap(0x1000, 4096, 8192)", 1,
            "mremap takes 4 or 5 arguments, not 3: mremap(old_address, old_size, new_size, flags[, new_address])");
        assertError("mremap(0x1000, 4096, 8192, 3, 0x2000, 0)", 1, "mremap takes 4 or 5 arguments, not 6");
        assertError("  touch(0x1000, 4096)", 3, "touch takes 3 arguments, not 2");
    }

    @Test
    void unknownFlagName()
    {
        assertError("mprotect(0x1000, 4096, PROT_RAED)", 24, "unknown PROT_* name 'PROT_RAED' in mprotect's prot");
        assertError("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMUS, -1, 0)", 41,
            "unknown MAP_* name 'MAP_ANONYMUS' in mmap's flags");
        assertError("mprotect(0x1000, 4096, MAP_FIXED)", 24, "'MAP_FIXED' is a MAP_* name, mprotect's prot takes PROT_* names");
        assertError("mremap(0x1000, 4096, 8192, MAP_FIXED)", 28, "'MAP_FIXED' is a MAP_* name, mremap's flags takes MREMAP_* names");
        assertError("madvise(0x1000, 4096, MADV_DONTNED)", 23, "unknown MADV_* name 'MADV_DONTNED' in madvise's advice");
        assertError("madvise(0x1000, 4096, PROT_READ)", 23, "'PROT_READ' is a PROT_* name");
        assertError("mprotect(0x1000, 4096, read)", 24, "unknown PROT_* name 'read'");
        assertError("mprotect(0x1000, 4096, null)", 24, "unknown PROT_* name 'null'");
    }

    @Test
    void nameWhereANumberBelongs()
    {
        assertError("munmap(PROT_READ, 4096)", 8, "expected a number for munmap's addr, found 'PROT_READ'");
        assertError("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, STDIN, 0)", 42, "expected a number for mmap's fd");
        assertError("munmap(0x1000|0x2000, 4096)", 15, "munmap's addr takes one number, not a '|' combination");
    }

    @Test
    void adviceIsOneNameOrNumber()
    {
        assertError("madvise(0x1000, 4096, MADV_DONTNEED|MADV_FREE)", 37, "madvise's advice takes one name or number, not a '|' combination");
    }

    @Test
    void touchAccessIsReadWriteOrNone()
    {
        assertError("touch(0x1000, 4096, PROT_EXEC)", 21, "touch's access must be PROT_NONE, PROT_READ, PROT_WRITE or a combination, not 'PROT_EXEC'");
        assertError("touch(0x1000, 4096, PROT_READ|4)", 21, "touch's access must be");
        assertError("touch(0x1000, 4096, MADV_FREE)", 21, "touch's access must be");
    }

    @Test
    void badNumbers()
    {
        assertError("munmap(0x, 4096)", 8, "bad number '0x'");
        assertError("munmap(0x10g0, 4096)", 8, "bad number '0x10g0'");
        assertError("munmap(0x1000, 4K)", 16, "bad number '4K'");
        assertError("munmap(0x1000, 4096L)", 16, "bad number '4096L'");
        assertError("munmap(0x1000, 010)", 16, "bad number '010': a leading 0 would be octal");
        assertError("munmap(-0x1000, 4096)", 8, "bad number '-0x1000': negative numbers are decimal");
        assertError("munmap(- 1, 4096)", 8, "'-' must be followed by a decimal number");
        assertError("munmap(0x1000, 1.5)", 17, "unexpected character '.'");
        assertError("munmap(0x1000, +4096)", 16, "unexpected character '+'");
        assertError("munmap(0x1000, \"4096\")", 16, "unexpected character '\"'");
        assertError("munmap(0x1000, 4096\u00a0)", 20, "unexpected character '\\u00a0'");
    }

    @Test
    void numbersOutOfRange()
    {
        assertError("munmap(18446744073709551616, 4096)", 8, "number out of range '18446744073709551616': it must fit in 64 bits");
        assertError("munmap(0x10000000000000000, 4096)", 8, "number out of range");
        assertError("munmap(-9223372036854775809, 4096)", 8, "number out of range");
        assertError("mprotect(0x1000, 4096, 0x100000000)", 24, "'0x100000000' does not fit in 32 bits (mprotect's prot)");
        assertError("mprotect(0x1000, 4096, -2147483649)", 24, "does not fit in 32 bits");
    }

    @Test
    void shifts()
    {
        assertError("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|64<<MAP_HUGE_SHIFT, -1, 0)", 41, "'64<<MAP_HUGE_SHIFT' out of range: at most 63<<MAP_HUGE_SHIFT");
        assertError("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|4<<MAP_HUGE, -1, 0)", 44, "unknown shift 'MAP_HUGE' in mmap's flags");
        assertError("mprotect(0x1000, 4096, 4<<MAP_HUGE_SHIFT)", 27, "unknown shift 'MAP_HUGE_SHIFT' in mprotect's prot");
        assertError("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE<<MAP_HUGE_SHIFT, -1, 0)", 40, "'<<' must follow a number");
        assertError("mmap(NULL, 4096, PROT_READ, 4<<21, -1, 0)", 32, "expected a name after '<<', found '21'");
        assertError("mmap(NULL, 4096, PROT_READ, 4<MAP_HUGE_SHIFT, -1, 0)", 30, "unexpected '<'");
    }

    @Test
    void unbalancedParentheses()
    {
        assertError("munmap(0x1000, 4096", 20, "unbalanced parentheses: missing ')'");
        assertError("munmap(0x1000,", 15, "unbalanced parentheses: missing ')'");
        assertError("munmap(", 8, "unbalanced parentheses: missing ')'");
        assertError("munmap(0x1000, 4096))", 21, "unbalanced parentheses: extra ')'");
        assertError("munmap((0x1000), 4096)", 8, "unbalanced parentheses: unexpected '(' in argument 1");
        assertError("munmap(0x1000, 4096 = 0", 21, "expected ',' or ')' after argument 2, found '='");
    }

    @Test
    void missingArgumentsAndSeparators()
    {
        assertError("munmap(0x1000, , 4096)", 16, "missing argument 2");
        assertError("munmap(, 4096)", 8, "missing argument 1");
        assertError("munmap(0x1000,)", 15, "missing argument 2");
        assertError("munmap(0x1000 4096)", 15, "expected ',' or ')' after argument 1, found '4096'");
        assertError("mprotect(0x1000, 4096, PROT_READ|)", 34, "expected a name or number after '|', found ')'");
        assertError("mprotect(0x1000, 4096, PROT_READ|", 34, "expected a name or number after '|', found the end of the line");
        assertError("mprotect(0x1000, 4096, |PROT_READ)", 24, "expected argument 3, found '|'");
    }

    @Test
    void trailingGarbage()
    {
        assertError("munmap(0x1000, 4096) junk", 22, "unexpected 'junk' after the call (only ' = RESULT' may follow it)");
        assertError("munmap(0x1000, 4096);", 21, "unexpected character ';' after the call");
        assertError("munmap(0x1000, 4096) # trailing comment", 22, "unexpected character '#' after the call");
        assertError("munmap(0x1000, 4096) munmap(0x2000, 4096)", 22, "unexpected 'munmap' after the call");
        assertError("munmap(0x1000, 4096), 0", 21, "unexpected ',' after the call");
    }

    @Test
    void unterminatedComment()
    {
        assertError("mprotect(0x1000, 4096, 0x10 /* PROT_???)", 29, "unterminated comment");
    }

    @Test
    void everyMalformedLineIsReportedInOrderAndNothingIsReturned()
    {
        final ScriptException ex = assertThrows(ScriptException.class, () -> ScriptParser.parse("""
            mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
            mmapp(NULL, 8192)
            # fine
            munmap(0x1000, 4096)
            mprotect(0x1000, 4096, PROT_RAED) = 0
            munmap(0x1000, 4096 junk junk

            munmap(0x1000)
            """));
        final List<ParseError> errors = ex.errors();
        assertEquals(List.of(2, 5, 6, 8), errors.stream().map(ParseError::line).toList());
        assertTrue(errors.get(0).reason().startsWith("unknown call 'mmapp'"));
        assertTrue(errors.get(1).reason().startsWith("unknown PROT_* name 'PROT_RAED'"));
        assertTrue(errors.get(2).reason().startsWith("expected ',' or ')' after argument 2, found 'junk'"), "only a line's first error");
        assertTrue(errors.get(3).reason().startsWith("munmap takes 2 arguments, not 1"));
        assertTrue(ex.getMessage().startsWith("4 malformed lines, first: line 2: unknown call"));
    }

    @Test
    void errorsFormatAsNameLineReason()
    {
        assertEquals("x.strace:12: unknown call 'brk' (column 3)", new ParseError(12, 3, "unknown call 'brk'").format("x.strace"));
    }

    @Test
    void signaturesListOptionalParameters()
    {
        assertEquals("mmap(addr, length, prot, flags, fd, offset)", Call.MMAP.signature());
        assertEquals("mremap(old_address, old_size, new_size, flags[, new_address])", Call.MREMAP.signature());
        assertEquals("touch(addr, length, access)", Call.TOUCH.signature());
    }
}
