import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.xml.parsers.DocumentBuilderFactory;

import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * CI's check of skipped tests, run by .ci/run after the README's test command: lists every test
 * that Surefire reports skipped, with its reason, and fails when one is not in the allow-list (a
 * test that must run on CI's machine did not). Usage: java SkippedTests.java ALLOW-LIST DIR...
 * (the Surefire report directories). The allow-list's lines are {@code CLASS#METHOD  REGEX}: that
 * test may skip for a reason in which REGEX is found; '#' starts a comment line.
 */
public final class SkippedTests
{
    private record Skip(String test, String reason)
    {
    }

    public static void main(final String[] args) throws Exception
    {
        final Map<String, Pattern> allowed = allowList(Path.of(args[0]));
        final List<Skip> skips = new ArrayList<>();
        int reports = 0;
        for (int i = 1; i < args.length; i++)
        {
            final Path dir = Path.of(args[i]);
            if (!Files.isDirectory(dir))
            {
                continue;
            }
            try (Stream<Path> files = Files.list(dir))
            {
                for (final Path file : files.filter(f -> f.getFileName().toString().matches("TEST-.*\\.xml")).sorted().toList())
                {
                    reports++;
                    skips.addAll(skipsIn(file));
                }
            }
        }
        if (reports == 0)
        {
            System.out.println("ci: no Surefire reports found in " + String.join(" ", List.of(args).subList(1, args.length)));
            System.exit(1);
        }
        int forbidden = 0;
        System.out.println("ci: " + skips.size() + " skipped test" + (skips.size() == 1 ? "" : "s")
            + (skips.isEmpty() ? "" : ", with their reasons:"));
        for (final Skip skip : skips)
        {
            final Pattern reasons = allowed.get(method(skip.test()));
            final boolean ok = reasons != null && reasons.matcher(skip.reason()).find();
            System.out.println((ok ? "  allowed     " : "  NOT ALLOWED ") + skip.test() + ": " + skip.reason());
            if (!ok)
            {
                forbidden++;
            }
        }
        if (forbidden > 0)
        {
            System.out.println("ci: " + forbidden + " skipped test" + (forbidden == 1 ? "" : "s")
                + " must run here (" + args[0] + " lists those that may skip, and why)");
            System.exit(1);
        }
    }

    /** CLASS#METHOD, without a dynamic or parameterised test's index. */
    private static String method(final String test)
    {
        final int paren = test.indexOf('(');
        return paren < 0 ? test : test.substring(0, paren);
    }

    private static Map<String, Pattern> allowList(final Path file) throws IOException
    {
        final Map<String, Pattern> allowed = new LinkedHashMap<>();
        for (final String line : Files.readAllLines(file))
        {
            final String entry = line.strip();
            if (!entry.isEmpty() && !entry.startsWith("#"))
            {
                final String[] words = entry.split("\\s+", 2);
                if (words.length < 2)
                {
                    throw new IOException(file + ": '" + entry + "' names no reason (a regular expression)");
                }
                allowed.put(words[0], Pattern.compile(words[1]));
            }
        }
        return allowed;
    }

    private static List<Skip> skipsIn(final Path report) throws Exception
    {
        final List<Skip> skips = new ArrayList<>();
        final NodeList cases = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(report.toFile())
            .getElementsByTagName("testcase");
        for (int i = 0; i < cases.getLength(); i++)
        {
            final Element testcase = (Element)cases.item(i);
            final NodeList skipped = testcase.getElementsByTagName("skipped");
            if (skipped.getLength() > 0)
            {
                skips.add(new Skip(testcase.getAttribute("classname") + "#" + testcase.getAttribute("name"),
                    reason((Element)skipped.item(0))));
            }
        }
        return skips;
    }

    /** The message attribute, or the first line of the aborted assumption's trace without its class. */
    private static String reason(final Element skipped)
    {
        final String message = skipped.getAttribute("message");
        final String text = message.isEmpty() ? skipped.getTextContent().strip().lines().findFirst().orElse("") : message;
        final String reason = text.replaceFirst("^[\\w.$]+(Exception|Error): ", "").replaceFirst("^Assumption failed: ", "");
        return reason.isEmpty() ? "(no reason given: give the assumption a message)" : reason;
    }
}
