package io.mmemu.program;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import io.mmemu.phys.Backing;
import io.mmemu.script.ParseError;
import io.mmemu.script.ScriptException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Random programs, and random mutations of them and of the examples, fed to the parser and the
 * runner: nothing but a {@link ScriptException} with positioned one-line errors comes out of the
 * parser; every program that parses runs to a report (a deadlock or a program error is a report,
 * an internal error is a failure) within a bounded time — loops are capped by a short duration
 * and a watchdog stops any run after two seconds. Seeded, so a failure names a reproducible case.
 */
@Timeout(120)
final class ProgramFuzzTest
{
    private static final long SEED = Long.getLong("mmemu.fuzz.seed", 0x5eedL);
    private static final int PROGRAMS = Integer.getInteger("mmemu.fuzz.programs", 160);
    private static final long WATCHDOG_NANOS = 2_000_000_000L;
    private static final RunOptions OPTIONS = RunOptions.defaults().withPhysicalMemory(64L << 20, Backing.FULL)
        .withDuration(20_000_000L).withThreads(2);

    private static final String[] SIZES = {"4K", "8K", "64K", "1M", "2M + 4K", "0", "1G", "3", "SIZE", "SIZE / 2"};
    private static final String[] PROTS = {"PROT_NONE", "PROT_READ", "PROT_WRITE", "PROT_READ|PROT_WRITE", "PROT_EXEC", "0x10"};
    private static final String[] FLAGS = {"MAP_PRIVATE|MAP_ANONYMOUS", "MAP_SHARED|MAP_ANONYMOUS",
        "MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE", "MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_PRIVATE|MAP_ANONYMOUS|MAP_GROWSDOWN"};
    private static final String[] ADVICE = {"MADV_DONTNEED", "MADV_FREE", "MADV_NORMAL", "MADV_REMOVE", "MADV_WILLNEED", "99"};
    private static final String[] ACCESS = {"PROT_READ", "PROT_WRITE", "PROT_READ|PROT_WRITE", "PROT_NONE"};
    private static final String[] OUTCOMES = {"ok", "SIGSEGV", "SIGSEGV SEGV_MAPERR", "SIGSEGV SEGV_ACCERR", "SIGBUS",
        "errno EINVAL", "errno ENOMEM", "value 0"};
    private static final String NOISE = "(){}=,|+-*/%#<>0123456789xKGMabz_ \t\"'$";

    @TempDir
    Path output;

    @Test
    void randomAndMutatedProgramsParseOrFailCleanlyAndRunToAReport() throws IOException
    {
        final SplittableRandom random = new SplittableRandom(SEED);
        final List<String> seeds = new ArrayList<>(examples());
        int parsed = 0;
        int ran = 0;
        for (int i = 0; i < PROGRAMS; i++)
        {
            final String generated = new Generator(random).program();
            seeds.add(generated);
            final String source = i % 2 == 0 ? generated : mutate(seeds.get(random.nextInt(seeds.size())), random);
            final Program program = parse(source);
            if (program != null)
            {
                parsed++;
                run(program, source);
                ran++;
            }
        }
        assertTrue(parsed > PROGRAMS / 4, "most generated programs are well formed: " + parsed);
        assertTrue(ran == parsed);
    }

    private static Program parse(final String source)
    {
        try
        {
            return Program.parse("fuzz.mm", source, Map.of());
        }
        catch (final ScriptException ex)
        {
            final int lines = source.split("\n", -1).length;
            for (final ParseError error : ex.errors())
            {
                assertTrue(error.line() >= 1 && error.line() <= lines, () -> error + " in:\n" + source);
                assertTrue(error.column() >= 1, () -> error + " in:\n" + source);
                assertFalse(error.reason().isBlank() || error.reason().contains("\n"), () -> error + " in:\n" + source);
            }
            return null;
        }
        catch (final RuntimeException ex)
        {
            throw new AssertionError("the parser threw on:\n" + source, ex);
        }
    }

    private void run(final Program program, final String source) throws IOException
    {
        // views are dropped, and the files of mutated examples' dump and html statements land in a temp dir
        final Run run = new Run(program, OPTIONS, new ViewOutput(ViewOutput.DISCARD, output));
        final Report report;
        try
        {
            report = run.execute(sample ->
            {
                if (sample.elapsedNanos() > WATCHDOG_NANOS)
                {
                    run.stop();
                }
            });
        }
        catch (final RuntimeException ex)
        {
            throw new AssertionError("the runner threw on:\n" + source, ex);
        }
        assertNotNull(report);
        if (report.error() != null && report.error().contains("internal error"))
        {
            fail(report.error() + " in:\n" + source);
        }
        // the run came to an end: what it says is printable and its JSON writes
        report.print(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        report.writeJson(java.io.OutputStream.nullOutputStream());
    }

    /** One to three edits: a character deleted, inserted or replaced, a line deleted, duplicated or swapped. */
    private static String mutate(final String source, final SplittableRandom random)
    {
        String s = source;
        final int edits = 1 + random.nextInt(3);
        for (int e = 0; e < edits && !s.isEmpty(); e++)
        {
            final int at = random.nextInt(s.length());
            final char c = NOISE.charAt(random.nextInt(NOISE.length()));
            final List<String> lines = new ArrayList<>(List.of(s.split("\n", -1)));
            final int line = random.nextInt(lines.size());
            s = switch (random.nextInt(6))
            {
                case 0 -> s.substring(0, at) + s.substring(at + 1);
                case 1 -> s.substring(0, at) + c + s.substring(at);
                case 2 -> s.substring(0, at) + c + s.substring(at + 1);
                case 3 ->
                {
                    lines.remove(line);
                    yield String.join("\n", lines);
                }
                case 4 ->
                {
                    lines.add(line, lines.get(line));
                    yield String.join("\n", lines);
                }
                default ->
                {
                    final int other = random.nextInt(lines.size());
                    final String t = lines.get(line);
                    lines.set(line, lines.get(other));
                    lines.set(other, t);
                    yield String.join("\n", lines);
                }
            };
        }
        return s;
    }

    private static List<String> examples() throws IOException
    {
        final List<String> texts = new ArrayList<>();
        final Path dir = Path.of("..", "examples");
        if (Files.isDirectory(dir))
        {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.mm"))
            {
                for (final Path file : files)
                {
                    texts.add(Files.readString(file));
                }
            }
        }
        return texts;
    }

    /** Programs from the grammar, mostly well formed, with small sizes and short loops. */
    private static final class Generator
    {
        private final SplittableRandom random;
        private final StringBuilder out = new StringBuilder();
        private final List<String> variables = new ArrayList<>();
        private int names;
        private int threads;

        Generator(final SplittableRandom random)
        {
            this.random = random;
        }

        String program()
        {
            out.append("param SIZE = ").append(pick(new String[] {"64K", "1M", "4K"})).append('\n');
            variables.add("base");
            out.append("base = mmap(NULL, SIZE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n");
            block(0, 3 + random.nextInt(8), false);
            return out.toString();
        }

        private void block(final int depth, final int statements, final boolean inParallel)
        {
            for (int i = 0; i < statements; i++)
            {
                statement(depth, inParallel);
            }
        }

        private void indent(final int depth)
        {
            out.append("    ".repeat(depth));
        }

        private void statement(final int depth, final boolean inParallel)
        {
            indent(depth);
            final int kind = random.nextInt(depth >= 2 ? 9 : 14);
            switch (kind)
            {
                case 0, 1 ->
                {
                    final String name = "v" + names++;
                    out.append(name).append(" = mmap(").append(random.nextInt(4) == 0 ? address() : "NULL").append(", ")
                        .append(pick(SIZES)).append(", ").append(pick(PROTS)).append(", ").append(pick(FLAGS))
                        .append(random.nextInt(4) == 0 ? "|MAP_FIXED" : "").append(", -1, 0)").append(expect()).append('\n');
                    variables.add(name);
                }
                case 2 -> out.append("munmap(").append(address()).append(", ").append(pick(SIZES)).append(')').append(expect()).append('\n');
                case 3 -> out.append("mprotect(").append(address()).append(", ").append(pick(SIZES)).append(", ")
                    .append(pick(PROTS)).append(')').append(expect()).append('\n');
                case 4 -> out.append("mremap(").append(address()).append(", ").append(pick(SIZES)).append(", ").append(pick(SIZES))
                    .append(", ").append(pick(new String[] {"0", "MREMAP_MAYMOVE", "MREMAP_MAYMOVE|MREMAP_FIXED, " + address()}))
                    .append(')').append(expect()).append('\n');
                case 5 -> out.append("madvise(").append(address()).append(", ").append(pick(SIZES)).append(", ")
                    .append(pick(ADVICE)).append(')').append(expect()).append('\n');
                case 6, 7, 8 ->
                {
                    out.append("touch(").append(address()).append(", ").append(pick(SIZES)).append(", ").append(pick(ACCESS)).append(')');
                    if (random.nextBoolean())
                    {
                        out.append(" random ").append(1 + random.nextInt(50));
                    }
                    if (random.nextInt(3) == 0)
                    {
                        out.append(" stride ").append(pick(new String[] {"1", "4K", "8K", "2M"}));
                    }
                    if (random.nextInt(3) == 0)
                    {
                        out.append(" value ").append(random.nextInt(256));
                    }
                    out.append(expect()).append('\n');
                }
                case 9 ->
                {
                    out.append("repeat ").append(random.nextInt(4)).append(" as i").append(names++).append(" {\n");
                    block(depth + 1, 1 + random.nextInt(3), inParallel);
                    indent(depth);
                    out.append("}\n");
                }
                case 10 ->
                {
                    out.append("for ").append(1 + random.nextInt(5)).append("ms {\n");
                    block(depth + 1, 1 + random.nextInt(3), inParallel);
                    indent(depth);
                    out.append("}\n");
                }
                case 11 ->
                {
                    out.append("parallel ").append(1 + random.nextInt(3)).append(" {\n");
                    block(depth + 1, 1 + random.nextInt(3), true);
                    indent(depth + 1);
                    out.append("barrier\n");
                    indent(depth);
                    out.append("}\n");
                }
                case 12 ->
                {
                    final String name = "t" + threads++;
                    final String event = "e" + random.nextInt(3);
                    out.append("thread ").append(name).append(" {\n");
                    indent(depth + 1);
                    out.append(random.nextBoolean() ? "post " : "wait ").append(event).append('\n');
                    block(depth + 1, 1 + random.nextInt(2), false);
                    indent(depth);
                    out.append("}\n");
                    indent(depth);
                    out.append(random.nextBoolean() ? "post " : "wait ").append(event).append('\n');
                    if (random.nextBoolean())
                    {
                        indent(depth);
                        out.append("join ").append(name).append('\n');
                    }
                }
                default -> out.append(pick(new String[] {"sleep 1ms", "signals fatal", "signals continue",
                    "x" + names++ + " = SIZE * 2 - 1", "post e0", inParallel ? "barrier" : "post e1", "show maps",
                    "show smaps", "show ptdump", "show pagemap(" + address() + ", " + pick(SIZES) + ")",
                    "show walk(" + address() + ")", "dump \"fuzz.dump\"", "dump \"fuzz.dump\" data",
                    "html \"fuzz.html\"", "dump \"no/such/dir.dump\""})).append('\n');
            }
        }

        private String address()
        {
            final String base = pick(variables.toArray(String[]::new));
            return switch (random.nextInt(4))
            {
                case 0 -> base;
                case 1 -> base + " + " + pick(SIZES);
                case 2 -> "0x" + Long.toHexString(random.nextLong(1L << 47) & ~0xfffL);
                default -> base + " + 4K * " + random.nextInt(20);
            };
        }

        private String expect()
        {
            return switch (random.nextInt(5))
            {
                case 0 -> " expect " + pick(OUTCOMES);
                case 1 -> " expect " + pick(OUTCOMES) + " or " + pick(OUTCOMES);
                case 2 -> " = " + pick(new String[] {"0", "-1 EINVAL (Invalid argument)", "?",
                    "SIGSEGV {si_code=SEGV_MAPERR, si_addr=0x1000}"});
                default -> "";
            };
        }

        private String pick(final String[] options)
        {
            return options[random.nextInt(options.length)];
        }
    }
}
