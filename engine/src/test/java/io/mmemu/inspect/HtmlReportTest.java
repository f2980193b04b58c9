package io.mmemu.inspect;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.xml.parsers.DocumentBuilderFactory;

import io.mmemu.pgtable.PageTableEntry;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.ThpMode;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The HTML picture without a browser: self-contained (nothing fetched, no script), each SVG
 * well-formed XML, one VMA element per VMA and one table element per table. The browser check is
 * HtmlInBrowserTest in the tests module.
 */
class HtmlReportTest
{
    @Test
    void thePageIsSelfContainedAndItsPicturesCountWhatTheyShow() throws Exception
    {
        try (Scenario s = new Scenario(KernelConfig.MAINLINE))
        {
            final Snapshot snapshot = Snapshot.of(s.space, ThpMode.ALWAYS);
            final String html = HtmlReport.render(snapshot, "a <test> & \"title\"");
            assertTrue(html.startsWith("<!DOCTYPE html>"));
            assertTrue(html.contains("<title>a &lt;test&gt; &amp; &quot;title&quot;</title>"), "the title is escaped");
            for (final String fetch : new String[] {"<script", "<link", "<img", "<iframe", "url(", "@import", "src=", "href="})
            {
                assertFalse(html.contains(fetch), "nothing to fetch or run: " + fetch);
            }
            assertEquals(count(html, "http://"), count(html, "xmlns=\"http://www.w3.org/2000/svg\""), "only SVG namespaces");
            final Matcher svg = Pattern.compile("<svg .*?</svg>", Pattern.DOTALL).matcher(html);
            int svgs = 0;
            while (svg.find())
            {
                final Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                    .parse(new ByteArrayInputStream(svg.group().getBytes(StandardCharsets.UTF_8)));
                assertEquals("svg", doc.getDocumentElement().getTagName());
                svgs++;
            }
            assertEquals(3, svgs, "address space, table tree, fault latency");
            assertEquals(snapshot.vmas().size(), (int)count(html, "<g class=\"vma "));
            assertEquals(tables(snapshot), (int)count(html, "<g class=\"table\">"));
            assertFalse(html.contains("NaN") || html.contains("Infinity"), "every number is finite");
        }
    }

    private static int tables(final Snapshot snapshot)
    {
        final int[] n = {1};
        TableWalk.walk(snapshot.memory(), snapshot.cr3(), 0, Ptdump.USER_END, new TableWalk.Visitor()
        {
            @Override
            public void entry(final long va, final long entry, final int level)
            {
                if (PageTableEntry.isPresent(entry) && !PageTableEntry.isLeaf(entry, level))
                {
                    n[0]++;
                }
            }
        });
        return n[0];
    }

    private static long count(final String text, final String part)
    {
        return Pattern.compile(Pattern.quote(part)).matcher(text).results().count();
    }
}
