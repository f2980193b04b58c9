package io.mmemu.script;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Dev;
import io.mmemu.vm.FileSystem;
import io.mmemu.vm.OpenFile;
import io.mmemu.vm.VmFlags;

/**
 * A process's starting point from its /proc/PID/maps: every line becomes a VMA as exec left it.
 * <ul>
 *   <li>file lines map their path at their offset, with the device and inode the line gives (which
 *       later mmaps of the same path reuse); each path is one open file, as exec's mappings of one
 *       ELF share one struct file;</li>
 *   <li>[stack] grows down; [vdso] cannot be expanded; [vvar] and [vvar_vclock] are I/O pages that
 *       cannot be written or expanded; [heap] sets the program break to its ends;</li>
 *   <li>[vsyscall], above TASK_SIZE, is shown as Linux shows it and is never mappable;</li>
 *   <li>the program break starts at the end of the executable's last mapping (the first file's
 *       last line, with the anonymous bss line right after it) unless [heap] says otherwise.</li>
 * </ul>
 * Writable private VMAs and the stack are taken to have anon_vmas (exec wrote to them), so merges
 * later follow the kernel's anon_vma rule.
 */
public final class InitialMaps
{
    private static final Pattern LINE = Pattern.compile(
        "^([0-9a-f]+)-([0-9a-f]+) ([r-])([w-])([x-])([ps]) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\\d+)(?:\\s+(.*))?$");
    private static final long VSYSCALL = 0xffffffffff600000L;

    /** One parsed line, and where it came from ({@code source}: the file's name, for messages). */
    public record Line(String source, int number, long start, long end, int flags, long offset, int dev, long inode,
                       String name)
    {
    }

    private InitialMaps()
    {
    }

    /** Parses a maps file named {@code source}; errors name the line. */
    public static List<Line> parse(final String source, final Reader reader) throws IOException, ScriptException
    {
        final BufferedReader in = reader instanceof BufferedReader b ? b : new BufferedReader(reader);
        final List<Line> lines = new ArrayList<>();
        final List<ParseError> errors = new ArrayList<>();
        int number = 0;
        for (String text = in.readLine(); text != null; text = in.readLine())
        {
            number++;
            if (text.isBlank())
            {
                continue;
            }
            final Matcher m = LINE.matcher(text.strip());
            if (!m.matches())
            {
                errors.add(new ParseError(number, 1,
                    "not a /proc/PID/maps line (START-END PERMS OFFSET MAJOR:MINOR INODE [PATH]): '" + text + "'"));
                continue;
            }
            try
            {
                final long start = Long.parseUnsignedLong(m.group(1), 16);
                final long end = Long.parseUnsignedLong(m.group(2), 16);
                if (Long.compareUnsigned(start, end) >= 0 || ((start | end) & 4095) != 0)
                {
                    errors.add(new ParseError(number, 1, "range " + m.group(1) + "-" + m.group(2) + " is empty or not page aligned"));
                    continue;
                }
                int flags = (m.group(3).equals("r") ? VmFlags.VM_READ : 0) | (m.group(4).equals("w") ? VmFlags.VM_WRITE : 0) |
                    (m.group(5).equals("x") ? VmFlags.VM_EXEC : 0);
                if (m.group(6).equals("s"))
                {
                    flags |= VmFlags.VM_MAYSHARE | (m.group(4).equals("w") ? VmFlags.VM_SHARED : 0);
                }
                final String name = m.group(11) == null || m.group(11).isEmpty() ? null : m.group(11);
                lines.add(new Line(source, number, start, end, flags, Long.parseUnsignedLong(m.group(7), 16),
                    Dev.make(Integer.parseInt(m.group(8), 16), Integer.parseInt(m.group(9), 16)),
                    Long.parseLong(m.group(10)), name));
            }
            catch (final IllegalArgumentException ex)
            {
                errors.add(new ParseError(number, 1, ex.getMessage()));
            }
        }
        if (!errors.isEmpty())
        {
            throw new ScriptException(errors);
        }
        return lines;
    }

    /**
     * Installs the lines into an empty address space; throws {@link IllegalArgumentException} naming
     * the file and line when one cannot be (overlap, outside the user address space).
     */
    public static void install(final List<Line> lines, final AddressSpace space, final FileSystem files,
        final boolean softDirty)
    {
        final java.util.Map<String, OpenFile> opened = new java.util.HashMap<>();
        long heapStart = 0;
        long heapEnd = 0;
        long executableEnd = 0;
        String executable = null;
        boolean afterExecutable = false;
        for (final Line line : lines)
        {
            if (line.start() == VSYSCALL)
            {
                space.showVsyscall(true);
                continue;
            }
            final String name = line.name();
            final boolean special = name != null && name.startsWith("[") && name.endsWith("]");
            final boolean isFile = name != null && !special;
            int flags = line.flags() | VmFlags.VM_MAYREAD | (softDirty ? VmFlags.VM_SOFTDIRTY : 0);
            if ((flags & VmFlags.VM_MAYSHARE) == 0)
            {
                flags |= VmFlags.VM_MAYWRITE | VmFlags.VM_MAYEXEC;
                if ((flags & VmFlags.VM_WRITE) != 0)
                {
                    flags |= VmFlags.VM_ACCOUNT;
                }
            }
            else if ((flags & VmFlags.VM_SHARED) != 0)
            {
                flags |= VmFlags.VM_MAYWRITE;
            }
            OpenFile file = null;
            String specialName = null;
            if (special)
            {
                switch (name)
                {
                    case "[stack]" -> flags |= VmFlags.VM_GROWSDOWN | VmFlags.VM_ACCOUNT;
                    case "[vdso]" -> flags |= VmFlags.VM_DONTEXPAND;
                    case "[vvar]", "[vvar_vclock]" -> flags = (flags & ~(VmFlags.VM_MAYWRITE | VmFlags.VM_MAYEXEC)) |
                        VmFlags.VM_IO | VmFlags.VM_PFNMAP | VmFlags.VM_DONTEXPAND | VmFlags.VM_DONTDUMP;
                    case "[heap]" ->
                    {
                        heapStart = heapStart == 0 ? line.start() : heapStart;
                        heapEnd = line.end();
                    }
                    default ->
                    {
                        // [anon:NAME] and other names: anonymous memory shown with its name
                    }
                }
                specialName = "[heap]".equals(name) ? null : name;
            }
            else if (isFile)
            {
                final long size = line.offset() + (line.end() - line.start());
                final String path = name;
                file = opened.computeIfAbsent(path, p -> OpenFile.open(files.known(p, line.dev(), line.inode(), size),
                    (line.flags() & VmFlags.VM_SHARED) != 0));
                if (executable == null)
                {
                    executable = path;
                }
            }
            if (executable != null && (path(line).equals(executable) || afterExecutable && name == null && executableEnd == line.start()))
            {
                executableEnd = line.end();
                afterExecutable = true;
            }
            else
            {
                afterExecutable = false;
            }
            try
            {
                space.install(line.start(), line.end(), flags, line.offset() >>> 12, file, specialName,
                    (flags & VmFlags.VM_WRITE) != 0 && (flags & VmFlags.VM_MAYSHARE) == 0 || "[stack]".equals(name));
            }
            catch (final IllegalArgumentException ex)
            {
                throw new IllegalArgumentException(line.source() + ":" + line.number() + ": " + ex.getMessage(), ex);
            }
        }
        if (heapStart != 0)
        {
            space.setBrk(heapStart, heapEnd);
        }
        else if (executableEnd != 0)
        {
            space.setBrk(executableEnd, executableEnd);
        }
    }

    private static String path(final Line line)
    {
        return line.name() == null ? "" : line.name();
    }
}
