package io.mmemu.diff;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import io.mmemu.script.Replay;
import io.mmemu.inspect.Views;
import io.mmemu.vm.HugetlbConfig;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.ThpMode;
import io.mmemu.vm.ThpSettings;

/**
 * One replay's options, written once and handed to both sides: as {@link Replay.Options} to the
 * emulator in-process, as command-line options to the host runner and to {@code mmemu replay}.
 * {@code kernel} is the kernel build the emulator plays (the host's, for a comparison);
 * {@code smaps} adds the smaps blocks of the window's VMAs after the maps lines; {@code thp} null
 * runs both sides without transparent huge pages (the runner disables THP for itself), else the
 * host runs under its own THP settings ({@code --thp}) and the emulator under these (the host's, read
 * from sysfs, for a comparison).
 */
public record ReplayRun(boolean maps, long pagemapStart, long pagemapEnd, boolean pagemap, long windowStart,
    long windowEnd, KernelConfig kernel, boolean smaps, ThpSettings thp)
{
    /** Without smaps and THP. */
    public ReplayRun(final boolean maps, final long pagemapStart, final long pagemapEnd, final boolean pagemap,
        final long windowStart, final long windowEnd, final KernelConfig kernel)
    {
        this(maps, pagemapStart, pagemapEnd, pagemap, windowStart, windowEnd, kernel, false, null);
    }

    /**
     * Emulated memory for a replay: scripts write a few MiB, and frames are backed lazily; but the
     * overcommit heuristic refuses a mapping larger than physical memory, and fixtures map up to
     * 2 GiB that the host allowed, so the emulated machine is replay's default size.
     */
    public static final long PHYSICAL_MEMORY = Replay.DEFAULT_PHYSICAL_MEMORY;

    /** What the emulator printed and returned. */
    public record Output(int exitCode, String out, String err)
    {
    }

    /** The differential harness's shape: maps in the window, pagemap over the arena. */
    public static ReplayRun generated()
    {
        return new ReplayRun(true, ScriptGenerator.ARENA.start(), ScriptGenerator.ARENA.end(), true,
            ScriptGenerator.WINDOW.start(), ScriptGenerator.WINDOW.end(), KernelConfig.MAINLINE);
    }

    /** Parses options as the command line takes them ({@code --maps --pagemap S E --window S E}). */
    public static ReplayRun parse(final String commandLine)
    {
        final String[] words = commandLine.trim().split("\\s+");
        boolean maps = false;
        boolean pagemap = false;
        long pagemapStart = 0;
        long pagemapEnd = 0;
        long windowStart = 0;
        long windowEnd = 0;
        for (int i = 0; i < words.length; i++)
        {
            switch (words[i])
            {
                case "" -> { }
                case "--maps" -> maps = true;
                case "--pagemap" ->
                {
                    pagemap = true;
                    pagemapStart = Long.decode(words[++i]);
                    pagemapEnd = Long.decode(words[++i]);
                }
                case "--window" ->
                {
                    windowStart = Long.decode(words[++i]);
                    windowEnd = Long.decode(words[++i]);
                }
                default -> throw new IllegalArgumentException("unknown replay option '" + words[i] + "' in: " + commandLine);
            }
        }
        return new ReplayRun(maps, pagemapStart, pagemapEnd, pagemap, windowStart, windowEnd, KernelConfig.MAINLINE);
    }

    /** The same run with the emulator playing another kernel build. */
    public ReplayRun withKernel(final KernelConfig other)
    {
        return new ReplayRun(maps, pagemapStart, pagemapEnd, pagemap, windowStart, windowEnd, other, smaps, thp);
    }

    /** The same run with the smaps blocks, and THP on: the host under its own settings, the emulator under {@code settings}. */
    public ReplayRun withSmapsAndThp(final ThpSettings settings)
    {
        return new ReplayRun(maps, pagemapStart, pagemapEnd, pagemap, windowStart, windowEnd, kernel, true, settings);
    }

    /** The THP test's shape: maps and smaps in the window, pagemap over the THP generator's arena. */
    public static ReplayRun thp(final KernelConfig kernel, final ThpSettings settings)
    {
        return new ReplayRun(true, ThpScriptGenerator.ARENA.start(), ThpScriptGenerator.ARENA.end(), true,
            ScriptGenerator.WINDOW.start(), ScriptGenerator.WINDOW.end(), kernel, true, settings);
    }

    /** The command-line form both sides take (the host runner has no {@code --kernel}: it is the kernel). */
    public List<String> options()
    {
        final List<String> options = new ArrayList<>();
        if (maps)
        {
            options.add("--maps");
        }
        if (smaps)
        {
            options.add("--smaps");
        }
        if (thp != null)
        {
            options.add("--thp");
        }
        if (pagemap)
        {
            options.addAll(List.of("--pagemap", hex(pagemapStart), hex(pagemapEnd)));
        }
        if (windowStart != 0 || windowEnd != 0)
        {
            options.addAll(List.of("--window", hex(windowStart), hex(windowEnd)));
        }
        return options;
    }

    /** {@code mmemu replay}'s options: {@link #options()}, {@code --kernel host} unless mainline, {@code --thp host}. */
    public String emulatorCommandOptions()
    {
        return String.join(" ", options()).replace("--thp", "--thp host")
            + (kernel.equals(KernelConfig.MAINLINE) ? "" : " --kernel host");
    }

    /** Runs the script on a fresh emulated address space. */
    public Output onEmulator(final String name, final String script)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final Views views = smaps ? new Views(true, false, List.of(), List.of(), List.of(), null, null, false, null,
            thp == null ? ThpMode.NEVER : thp.enabled()) : Views.NONE;
        final Replay.Options options = new Replay.Options(maps, pagemapStart, pagemapEnd, pagemap, windowStart, windowEnd,
            PHYSICAL_MEMORY, kernel, views, thp == null ? ThpSettings.OFF : thp, HugetlbConfig.NONE);
        final int status;
        try (PrintStream o = new PrintStream(out, false, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, false, StandardCharsets.UTF_8))
        {
            status = Replay.run(name, new StringReader(script), options, o, e);
        }
        return new Output(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static String hex(final long value)
    {
        return "0x" + Long.toHexString(value);
    }
}
