package io.mmemu.program;

import java.util.List;
import java.util.Map;

import io.mmemu.script.Lexer;
import io.mmemu.script.LineException;
import io.mmemu.script.ParseError;
import io.mmemu.script.ScriptException;
import io.mmemu.script.Token;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The view statements ({@code show}, {@code dump}, {@code html}) and the string literals they
 * take: what each parses to, and every malformed form reported with its line and column.
 */
final class ViewStatementParserTest
{
    private static Node only(final String source)
    {
        final List<Node> body = parse(source);
        assertEquals(1, body.size(), body::toString);
        return body.get(0);
    }

    private static void assertError(final String source, final int line, final int column, final String part)
    {
        final List<ParseError> errors = assertThrows(ScriptException.class, () -> Program.parse("t.mm", source, Map.of()),
            source).errors();
        assertEquals(1, errors.size(), errors::toString);
        final ParseError error = errors.get(0);
        assertTrue(error.reason().contains(part), () -> "reason '" + error.reason() + "' lacks '" + part + "'");
        assertEquals(line, error.line(), () -> "line of: " + error.reason());
        assertEquals(column, error.column(), () -> "column of: " + error.reason());
        assertFalse(error.reason().contains("\n"), "one line");
    }

    @ParameterizedTest
    @CsvSource({"maps, MAPS", "smaps, SMAPS", "ptdump, PTDUMP"})
    void showTakesAViewOfTheWholeSpace(final String word, final Node.View view)
    {
        final Node.Show show = assertInstanceOf(Node.Show.class, only("show " + word + "   # mid-run"));
        assertEquals(view, show.view());
        assertNull(show.address());
        assertNull(show.length());
        assertEquals(1, show.line());
        assertEquals(1, show.column());
    }

    @Test
    void pagemapAndWalkTakeExpressionsOfTheThreadsVariables()
    {
        final List<Node> body = parse("""
            a = mmap(NULL, 64K, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
            show pagemap(a + 4K, 2 * 4K)
            show walk(a)
            """);
        final Node.Show pagemap = assertInstanceOf(Node.Show.class, body.get(1));
        assertEquals(Node.View.PAGEMAP, pagemap.view());
        final long[] frame = new long[8];
        final int slot = ((Node.CallNode)body.get(0)).slot();
        frame[slot] = 0x10000;
        assertEquals(0x11000, pagemap.address().evaluate(frame));
        assertEquals(0x2000, pagemap.length().evaluate(frame));
        final Node.Show walk = assertInstanceOf(Node.Show.class, body.get(2));
        assertEquals(Node.View.WALK, walk.view());
        assertEquals(0x10000, walk.address().evaluate(frame));
        assertNull(walk.length());
    }

    @Test
    void dumpAndHtmlTakeAFileNameInDoubleQuotes()
    {
        final Node.Save dump = assertInstanceOf(Node.Save.class, only("dump \"out/mid.dump\""));
        assertEquals("out/mid.dump", dump.file());
        assertFalse(dump.html());
        assertFalse(dump.withData());
        final Node.Save withData = assertInstanceOf(Node.Save.class, only("  dump \"mid.dump\" data # and the bytes"));
        assertTrue(withData.withData());
        assertEquals(3, withData.column());
        final Node.Save html = assertInstanceOf(Node.Save.class, only("html \"a b#c.html\""));
        assertTrue(html.html());
        assertEquals("a b#c.html", html.file(), "a # inside a string is no comment");
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', quoteCharacter = '\'', value = {
        "'\"plain\"';             'plain'",
        "'\"a\\\\b\"';            'a\\b'",
        "'\"say \\\"hi\\\"\"';    'say \"hi\"'",
        "'\"tab\\there\"';        'tab\there'",
        "'\"line\\n\"';           'line\n'",
        "'\"\"';                  ''",
    })
    void stringEscapesAreDecoded(final String literal, final String text) throws LineException
    {
        final Lexer lexer = new Lexer(literal + " next", Lexer.Dialect.PROGRAM);
        final Token token = lexer.next();
        assertEquals(Token.Kind.STRING, token.kind());
        assertEquals(0, token.start());
        assertEquals(literal.length(), token.end());
        assertEquals(text, lexer.string(token));
        assertEquals("next", lexer.text(lexer.next()));
    }

    @Test
    void stringsAreTokensOfProgramsOnly()
    {
        final LineException ex = assertThrows(LineException.class, () -> new Lexer("\"x\"", Lexer.Dialect.STRACE).next());
        assertEquals(1, ex.column);
    }

    @Test
    void malformedStringsAndViewStatementsAreReportedWithTheirPosition()
    {
        assertError("munmap(0, 4K)\ndump \"mid.dump\n", 2, 6, "unterminated string");
        assertError("dump \"mid.dump\\", 1, 15, "unterminated string: '\\' at the end of the line");
        assertError("html \"a\\qb.html\"", 1, 8, "unknown escape '\\q'");
        assertError("dump \"a\u0001b\"", 1, 8, "control character");
        assertError("dump mid.dump", 1, 6, "expected a file name in double quotes after 'dump'");
        assertError("dump", 1, 5, "expected a file name in double quotes");
        assertError("html \"\"", 1, 6, "empty file name");
        assertError("dump \"a\" \"b\"", 1, 10, "only 'data' may follow");
        assertError("html \"a.html\" data", 1, 15, "unexpected 'data' after 'html \"FILE\"'");
        assertError("show", 1, 5, "expected a view after 'show'");
        assertError("show pmap", 1, 6, "expected a view after 'show': maps, smaps, ptdump");
        assertError("show maps(1)", 1, 10, "unexpected '(' after 'show maps'");
        assertError("show pagemap", 1, 13, "expected '(' after 'pagemap'");
        assertError("show pagemap(0x1000)", 1, 20, "expected ',' and the length");
        assertError("show pagemap(0x1000, 4K", 1, 24, "expected ')' closing pagemap(ADDR, LENGTH)");
        assertError("show walk(b)", 1, 11, "unknown name 'b'");
        assertError("show walk(0x1000, 1)", 1, 17, "expected ')' closing walk(ADDR)");
        assertError("touch(\"a\", 4K, PROT_READ)", 1, 7, "'\"a\"'");
        assertError("x = \"a\"", 1, 5, "expected a number, a name or '(', found '\"a\"'");
        assertError("dump = 1", 1, 1, "'dump' is a reserved word");
        assertError("repeat 2 as show {\n}\n", 1, 13, "'show' is a reserved word");
    }

    private static List<Node> parse(final String source)
    {
        try
        {
            return Program.parse("t.mm", source, Map.of()).body();
        }
        catch (final ScriptException ex)
        {
            return fail("unexpected errors: " + ex.errors());
        }
    }
}
