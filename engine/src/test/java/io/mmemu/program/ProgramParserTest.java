package io.mmemu.program;

import java.util.List;
import java.util.Map;

import io.mmemu.script.Call;
import io.mmemu.script.ParseError;
import io.mmemu.script.ScriptException;
import io.mmemu.vm.Signal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The program language: every construct parses to what it means, every error is reported with its
 * line and column and nothing else. Flag values are the kernel headers' (PROT_READ 1, PROT_WRITE 2,
 * MAP_PRIVATE 2, MAP_ANONYMOUS 0x20, MAP_FIXED 0x10); ENOMEM is 12, EINVAL 22.
 */
final class ProgramParserTest
{
    private static final String MAP = "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)";

    private static Program parse(final String source)
    {
        return parse(source, Map.of());
    }

    private static Program parse(final String source, final Map<String, String> overrides)
    {
        try
        {
            return Program.parse("t.mm", source, overrides);
        }
        catch (final ScriptException ex)
        {
            return fail("unexpected errors: " + ex.errors());
        }
    }

    private static Node only(final String source)
    {
        final List<Node> body = parse(source).body();
        assertEquals(1, body.size(), () -> body.toString());
        return body.get(0);
    }

    private static List<ParseError> errors(final String source)
    {
        return assertThrows(ScriptException.class, () -> Program.parse("t.mm", source, Map.of()), source).errors();
    }

    /** The single error of a program: its line, column and a reason containing {@code part}, on one line. */
    private static void assertError(final String source, final int line, final int column, final String part)
    {
        final List<ParseError> errors = errors(source);
        assertEquals(1, errors.size(), () -> errors.toString());
        final ParseError error = errors.get(0);
        assertTrue(error.reason().contains(part), () -> "reason '" + error.reason() + "' lacks '" + part + "'");
        assertEquals(line, error.line(), () -> "line of: " + error.reason());
        assertEquals(column, error.column(), () -> "column of: " + error.reason());
        assertTrue(!error.reason().contains("\n"), "one line");
        assertEquals("t.mm:" + line + ":" + column + ": " + error.reason(), error.formatWithColumn("t.mm"));
    }

    private static long constant(final Expr expr)
    {
        assertTrue(expr.isConstant(), () -> expr + " is constant");
        return expr.evaluate(null);
    }

    // ---------------------------------------------------------------- calls, results, expectations

    @Test
    void aReplayLineIsAStatementWithItsResultAsExpectation()
    {
        final Node.CallNode c = assertInstanceOf(Node.CallNode.class,
            only("mmap(0x100000000000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x100000000000"));
        assertEquals(Call.MMAP, c.call());
        assertEquals(0x100000000000L, constant(c.arguments().get(0)));
        assertEquals(8192, constant(c.arguments().get(1)));
        assertEquals(3, constant(c.arguments().get(2)));
        assertEquals(0x32, constant(c.arguments().get(3)));
        assertEquals(-1, constant(c.arguments().get(4)));
        assertEquals(List.of(Expectation.value(new Expr.Constant(0x100000000000L))), c.expectations());
        assertEquals(Node.NO_SLOT, c.slot());
        assertEquals(1, c.line());
        assertEquals(1, c.column());
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "munmap(0x1000, 4096) = 0;                                   VALUE;  0; -1",
        "munmap(0x1000, 4096) = -1 EINVAL (Invalid argument);        ERRNO;  22; -1",
        "munmap(0x1000, 4096) = -1 ENOMEM (Cannot allocate memory) <0.000012>; ERRNO; 12; -1",
        "touch(0x1000, 4096, PROT_READ) = SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x1000}; SIGNAL; 1; 4096",
        "touch(0x1000, 4096, PROT_WRITE) = SIGSEGV {si_code=SEGV_ACCERR, si_addr=0x1000}; SIGNAL; 2; 4096",
        "touch(0x1000, 4096, PROT_WRITE) = SIGBUS {si_code=BUS_ADRERR, si_addr=0x1000}; SIGNAL; 3; 4096",
        "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = <outside window>; OK; 0; -1",
        "munmap(0x1000, 4096) = 0   # a comment after the result;  VALUE;  0; -1",
    })
    void straceResultsBecomeExpectations(final String line, final Expectation.Kind kind, final long number, final long address)
    {
        final Node.CallNode c = (Node.CallNode)only(line);
        assertEquals(1, c.expectations().size());
        final Expectation e = c.expectations().get(0);
        assertEquals(kind, e.kind());
        if (kind == Expectation.Kind.VALUE)
        {
            assertEquals(number, constant(e.value()));
        }
        else if (kind != Expectation.Kind.OK)
        {
            assertEquals(number, e.number());
            assertEquals(address, e.address());
        }
    }

    @Test
    void unknownResultIsNoExpectation()
    {
        assertEquals(List.of(), ((Node.CallNode)only("munmap(0x1000, 4096) = ?")).expectations());
    }

    @Test
    void expectClauses()
    {
        final Node.CallNode c = (Node.CallNode)only("touch(0x1000, 4096, PROT_READ) expect ok or SIGSEGV SEGV_MAPERR or " +
            "SIGSEGV or SIGBUS or errno ENOMEM or value 7 * 6");
        assertEquals(List.of(Expectation.ok(), Expectation.signal(Signal.SEGV_MAPERR, Expectation.ANY_ADDRESS),
            Expectation.signal(Expectation.ANY_SEGV, Expectation.ANY_ADDRESS),
            Expectation.signal(Signal.BUS_ADRERR, Expectation.ANY_ADDRESS), Expectation.errno(12),
            Expectation.value(new Expr.Constant(42))), c.expectations());
        assertEquals(List.of(Expectation.signal(Signal.SI_KERNEL, Expectation.ANY_ADDRESS)),
            ((Node.CallNode)only("touch(0x1000, 1, PROT_READ) expect SIGSEGV SI_KERNEL")).expectations());
        assertEquals(List.of(Expectation.signal(Signal.SEGV_ACCERR, Expectation.ANY_ADDRESS)),
            ((Node.CallNode)only("touch(0x1000, 1, PROT_READ) expect SIGSEGV SEGV_ACCERR")).expectations());
    }

    @Test
    void namedResultsAndExpressions()
    {
        final List<Node> body = parse("""
            a = %s
            b = a + 2 * 4K - (8K - 4096) / 2 %% 3
            munmap(a + 1G, b)
            """.formatted(MAP)).body();
        final Node.CallNode map = (Node.CallNode)body.get(0);
        final Node.Assign assign = (Node.Assign)body.get(1);
        final Node.CallNode unmap = (Node.CallNode)body.get(2);
        assertEquals(2, map.slot(), "slots 0 and 1 are tid and nthreads");
        assertEquals(3, assign.slot());
        final long[] frame = new long[parse("a = " + MAP + "\nb = a").slots()];
        frame[2] = 0x7000_0000_0000L;
        // 2 * 4K = 8192; (8K - 4096) / 2 = 2048; 2048 % 3 = 2
        assertEquals(0x7000_0000_0000L + 8192 - 2, assign.value().evaluate(frame));
        frame[3] = 99;
        assertEquals(0x7000_0000_0000L + (1L << 30), unmap.arguments().get(0).evaluate(frame));
        assertEquals(99, unmap.arguments().get(1).evaluate(frame));
    }

    @Test
    void sizesAndUnsignedArithmetic()
    {
        final Node.Assign a = (Node.Assign)only("x = 1K + 1M + 1G + 1T + 1P");
        assertEquals((1L << 10) + (1L << 20) + (1L << 30) + (1L << 40) + (1L << 50), constant(a.value()));
        assertEquals(Long.divideUnsigned(-2, 2), constant(((Node.Assign)only("x = 0xfffffffffffffffe / 2")).value()));
        assertEquals(5, constant(((Node.Assign)only("x = 8-3")).value()), "binary minus without spaces");
        assertEquals(-1, constant(((Node.Assign)only("x = -1")).value()));
        assertEquals(2, constant(((Node.Assign)only("x = 3 + -1")).value()));
        assertEquals(14, constant(((Node.Assign)only("x = 2 + 3 * 4")).value()), "precedence");
        assertEquals(20, constant(((Node.Assign)only("x = (2 + 3) * 4")).value()));
    }

    @Test
    void touchModifiers()
    {
        final Node.CallNode c = (Node.CallNode)only("touch(0x1000, 1G, PROT_READ|PROT_WRITE) value 0x5a random 100 seed 7 stride 2M expect ok");
        assertEquals(3, constant(c.arguments().get(2)));
        assertEquals(0x5a, constant(c.pattern().value()));
        assertEquals(100, constant(c.pattern().random()));
        assertEquals(7, constant(c.pattern().seed()));
        assertEquals(2L << 20, constant(c.pattern().stride()));
        final Node.CallNode plain = (Node.CallNode)only("touch(0x1000, 4096, PROT_READ)");
        assertEquals(new TouchPattern(null, null, null, null), plain.pattern());
        assertNull(((Node.CallNode)only(MAP)).pattern());
    }

    // ---------------------------------------------------------------- blocks and threads

    @Test
    void blocksNestAndNameTheirIndexes()
    {
        final List<Node> body = parse("""
            param N = 3
            repeat N as i {
                for 250ms {
                    parallel 2 {
                        touch(0x1000 + i * 4K + tid, nthreads, PROT_READ)
                        barrier
                    }
                }
            }
            parallel {
                sleep 1s
            }
            """).body();
        final Node.Repeat repeat = (Node.Repeat)body.get(0);
        assertEquals(3, constant(repeat.count()));
        assertEquals(2, repeat.indexSlot());
        final Node.For loop = (Node.For)repeat.body().get(0);
        assertEquals(250_000_000L, loop.nanos());
        final Node.Parallel parallel = (Node.Parallel)loop.body().get(0);
        assertEquals(2, constant(parallel.count()));
        final Node.CallNode touch = (Node.CallNode)parallel.body().get(0);
        final long[] frame = {5, 9, 4};
        assertEquals(0x1000 + 4 * 4096 + 5, touch.arguments().get(0).evaluate(frame));
        assertEquals(9, touch.arguments().get(1).evaluate(frame));
        assertInstanceOf(Node.Barrier.class, parallel.body().get(1));
        final Node.Parallel defaultCount = (Node.Parallel)body.get(1);
        assertNull(defaultCount.count());
        assertEquals(1_000_000_000L, ((Node.Sleep)defaultCount.body().get(0)).nanos());
    }

    @Test
    void threadsEventsAndJoins()
    {
        final Program program = parse("""
            thread writer {
                wait go
                post done
                signals fatal
            }
            post go
            until done {
                touch(0x1000, 4096, PROT_READ) expect SIGSEGV
            }
            join writer
            signals continue
            """);
        assertEquals(List.of("go", "done"), program.events());
        assertEquals(List.of("writer"), program.threads());
        final Node.Thread thread = (Node.Thread)program.body().get(0);
        assertEquals("writer", thread.name());
        assertEquals(0, ((Node.Wait)thread.body().get(0)).event());
        assertEquals(1, ((Node.Post)thread.body().get(1)).event());
        assertEquals(true, ((Node.Signals)thread.body().get(2)).fatal());
        assertEquals(1, ((Node.Until)program.body().get(2)).event());
        assertEquals(0, ((Node.Join)program.body().get(3)).index());
        assertEquals(false, ((Node.Signals)program.body().get(4)).fatal());
    }

    @Test
    void commentsAndBlankLinesAreSkipped()
    {
        final Program program = parse("""
            # a comment line

               # an indented one
            munmap(0x1000, 4096)   # after a statement
            munmap(0x1000, /* strace's comment */ 4096)
            """);
        assertEquals(2, program.body().size());
        assertEquals(5, program.body().get(1).line());
    }

    @Test
    void paramsOptionsAndOverrides()
    {
        final String source = """
            option physmem 64G
            option backing tables-only    # comment
            option locking mmap-lock
            param SIZE = 1G
            param HALF = SIZE / 2
            param TIME = 5s
            for TIME {
                munmap(0x1000, HALF)
            }
            """;
        final Program program = parse(source);
        assertEquals(Map.of("SIZE", Long.toString(1L << 30), "HALF", Long.toString(1L << 29), "TIME", "5000000000ns"),
            program.parameters());
        assertEquals(Map.of("physmem", "64G", "backing", "tables-only", "locking", "mmap-lock"), program.options());
        final RunOptions applied = program.applyOptions(RunOptions.defaults());
        assertEquals(64L << 30, applied.physicalMemory());
        assertEquals(io.mmemu.phys.Backing.TABLES_ONLY, applied.backing());
        assertEquals(io.mmemu.vm.LockingMode.MMAP_LOCK, applied.locking());

        final Program set = parse(source, Map.of("SIZE", "4M", "TIME", "10ms"));
        final Node.For loop = (Node.For)set.body().get(0);
        assertEquals(10_000_000L, loop.nanos());
        assertEquals(2L << 20, constant(((Node.CallNode)loop.body().get(0)).arguments().get(1)), "HALF follows SIZE");
    }

    @Test
    void badOverridesAreRejected()
    {
        final String source = "param SIZE = 1G\nparam TIME = 1s\n";
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Program.parse("t.mm", source, Map.of("SIZ", "1")))
            .getMessage().contains("declares no 'param SIZ'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Program.parse("t.mm", source, Map.of("SIZE", "1s")))
            .getMessage().contains("a number, not a duration"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Program.parse("t.mm", source, Map.of("TIME", "5")))
            .getMessage().contains("duration"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Program.parse("t.mm", source, Map.of("SIZE", "1G 2")))
            .getMessage().contains("one number"));
    }

    @Test
    void variablesAreVisibleInInnerBlocksNotOuter()
    {
        final List<ParseError> errors = errors("""
            repeat 2 {
                x = 1
            }
            munmap(x, 4096)
            """);
        assertEquals(1, errors.size());
        assertEquals(4, errors.get(0).line());
        assertEquals(8, errors.get(0).column());
        assertTrue(errors.get(0).reason().contains("unknown name 'x'"));
    }

    // ---------------------------------------------------------------- errors

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        // statements
        "42 = 1|1|expected a statement",
        "frobnicate 3|1|unknown statement 'frobnicate'",
        "mmapp(0, 4096)|1|unknown call 'mmapp'",
        "munmap(0x1000)|1|munmap takes 2 arguments, not 1",
        "munmap(0x1000, 4096) expect|28|expected an outcome after 'expect'",
        "munmap(0x1000, 4096) extra|22|only 'expect ...' or '= RESULT' may follow it",
        "touch(0x1000, 4096, PROT_READ) bogus 3|32|it takes stride, random, seed, value",
        "munmap(0x1000, 4096) = banana|24|cannot read the result 'banana'",
        "munmap(0x1000, 4096) = -1 EBOGUS (x)|27|unknown errno 'EBOGUS'",
        "touch(0x1000, 1, PROT_READ) = SIGBUS {si_code=SEGV_MAPERR, si_addr=0x1000}|31|does not go with SIGBUS",
        "munmap(0x1000, 4096) expect errno EBOGUS|35|expected an errno name",
        "munmap(0x1000, 4096) expect SIGSEGV BUS_ADRERR|37|SIGSEGV's codes are",
        "munmap(0x1000, 4096) expect SIGBUS SEGV_MAPERR|36|SIGBUS's code is BUS_ADRERR",
        "munmap(0x1000, 4096) expect ok ok|32|unexpected 'ok' after the expectation",
        // expressions and numbers
        "munmap(y, 4096)|8|unknown name 'y'",
        "munmap(1 +, 4096)|11|expected a number, a name or '('",
        "munmap((1 + 2, 4096)|14|unbalanced parentheses: expected ')'",
        "x = 1 / 0|7|division by zero",
        "x = 4 % 0|7|division by zero",
        "x = 4Q|5|a size takes K, M, G, T or P",
        "x = 9999999999999999K|5|size out of range",
        "x = 0x10K|5|bad number '0x10K'",
        "x = 5s|5|a duration where a number belongs",
        "x = 1 $ 2|7|unexpected character '$'",
        "munmap(PROT_READ, 4096)|8|unknown name 'PROT_READ'",
        "mprotect(0x1000, 4096, PROT_RAED)|24|unknown PROT_* name 'PROT_RAED'",
        "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, -1 + 1, 0)|45|expected ',' or ')' after argument 5",
        "munmap(0x1000, 4096))|21|extra ')'",
        // touch modifiers
        "touch(0x1000, 4096, PROT_READ) stride 0|32|stride must be at least 1",
        "touch(0x1000, 4096, PROT_WRITE) value 256|33|value must be a byte",
        "touch(0x1000, 4096, PROT_READ) seed 3|32|'seed' goes with 'random N'",
        "touch(0x1000, 4096, PROT_READ) random 2 random 3|41|'random' given twice",
        "touch(0x1000, 4096, PROT_EXEC)|21|touch's access must be",
        // names
        "mmap = 3|1|'mmap' is a reserved word",
        "tid = 3|1|'tid' is a reserved word",
        "repeat 3 as for {|13|'for' is a reserved word",
        // blocks
        "repeat 3|9|expected '{' at the end of 'repeat N'",
        "repeat 3 { munmap(0, 1)|12|the block starts on the next line",
        "for 3 {|5|expected a duration after 'for'",
        "sleep 10|7|expected a duration after 'sleep'",
        "parallel 0 {|10|parallel takes 1 to 1024 threads, not 0",
        "parallel 2000 {|10|parallel takes 1 to 1024 threads, not 2000",
        "}|1|'}' without a block to close",
        "barrier|1|barrier outside a parallel block",
        "join nobody|6|no thread 'nobody' started above",
        "wait nobody|6|nobody posts event 'nobody'",
        "until nobody {|7|nobody posts event 'nobody'",
        "post|5|expected an event name after 'post'",
        "signals maybe|9|expected 'fatal' or 'continue'",
        "thread 3 {|8|expected a name for a thread",
        // params and options
        "param 3 = 4|7|expected a name for a param",
        "param X 4|9|expected '=' after 'param X'",
                "option physmem|15|option physmem needs a value",
        "option bogus 3|8|expected an option name",
        "option backing fully|16|backing must be full or tables-only",
        "option locking none|16|mmap-lock or per-vma",
        "option threads 0|16|threads must be 1 to 1024",
        "option duration 5|17|positive duration",
        "option physmem 4Q|16|physmem takes a number or size",
    })
    void oneLineErrors(final String line, final int column, final String reason)
    {
        // a block opener gets its closing line, so that the one error is the line's own
        assertError(line.endsWith("{") ? line + "\n}\n" : line, 1, column, reason);
    }

    @Test
    void errorsInsideBlocksAndAcrossLines()
    {
        assertError("repeat 2 {\n    munmap(1, 2, 3)\n}\n", 2, 5, "munmap takes 2 arguments");
        assertError("parallel 2 {\n    x = 1\n", 1, 1, "block opened here is never closed");
        assertError("param A = 1\nrepeat 2 {\n    param B = 2\n}\n", 3, 5, "param only at the top level");
        assertError("repeat 2 {\n    option seed 3\n}\n", 2, 5, "option only at the top level");
        assertError("param A = 1\nparam A = 2\n", 2, 7, "'A' is already defined");
        assertError("option seed 1\noption seed 2\n", 2, 8, "option seed is already set above");
        assertError("param A = 1\nA = 2\n", 2, 1, "params cannot be assigned");
        assertError("thread t {\n}\nthread t {\n}\n", 3, 8, "thread 't' is already declared");
        assertError("parallel 2 {\n    thread t {\n        barrier\n    }\n}\n", 3, 9, "barrier outside a parallel block");
        assertError("thread t {\n}\nparallel 2 {\n    join t\n}\n", 4, 10, "no thread 't' started above");
        assertError("repeat 2 {\n} junk\n", 2, 3, "unexpected 'junk' after '}'");
        assertError("x = 1\nparam X = x\n", 2, 11, "must be a constant");
    }

    @Test
    void everyMalformedLineIsReportedAndBlocksOfBadLinesAreStillChecked()
    {
        final List<ParseError> errors = errors("""
            munmap(0x1000)
            repeat y {
                munmap(z, 1)
            }
            sleep 1s
            mprotect(0x1000, 4096, PROT_RAED)
            """);
        assertEquals(List.of(1, 2, 3, 6), errors.stream().map(ParseError::line).toList());
        assertTrue(errors.get(1).reason().contains("unknown name 'y'"));
        assertTrue(errors.get(2).reason().contains("unknown name 'z'"));
    }
}
