package io.mmemu.script;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import io.mmemu.elf.ElfFile;
import io.mmemu.elf.ExecException;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.FileSystem;
import io.mmemu.vm.MappedFile;
import io.mmemu.vm.VdsoImage;
import io.mmemu.vm.VmFlags;

/**
 * The address space execve leaves at a program's first instruction, computed from the real ELF
 * files as fs/binfmt_elf.c's load_elf_binary lays it out under personality(ADDR_NO_RANDOMIZE), the
 * way the captures run (randomisation off):
 * <ol>
 *   <li>the stack (fs/exec.c setup_arg_pages): below STACK_TOP, the pages the execve strings fill
 *       (the file name, envp, argv, each NUL-terminated, under one pointer-sized word) plus the
 *       128 KiB stack_expand, at most the stack rlimit;</li>
 *   <li>mmap_base (arch/x86/mm/mmap.c): TASK_SIZE minus the stack rlimit plus stack_guard_gap,
 *       that gap clamped to [128 MiB, 5/6 TASK_SIZE];</li>
 *   <li>the program's PT_LOADs (elf_load): each file mapping from its page-aligned offset, then the
 *       bss past the file's bytes as anonymous read-write pages; an ET_DYN program with a loader (or
 *       a large p_align) at ELF_ET_DYN_BASE (2/3 of TASK_SIZE) aligned to its largest p_align, one
 *       without at the top-down search's address, ET_EXEC where its headers say;</li>
 *   <li>the PT_INTERP loader (load_elf_interp), top down from mmap_base;</li>
 *   <li>[vvar], [vvar_vclock] and [vdso] top down below it ({@link VdsoImage});</li>
 *   <li>the break at the page-aligned end of the program's bss (no [heap] until brk grows it).</li>
 * </ol>
 * File mappings show the file's real path (symlinks resolved, as d_path prints it) and its device
 * and inode. Not modelled: the auxv and pointer arrays below the strings, which create_elf_tables
 * writes inside the 128 KiB expansion (they matter only past ~16 000 argv+envp entries), and
 * THP-aligned placement of a loader larger than 2 MiB.
 */
public final class ExecLayout
{
    /** STACK_TOP with 4-level paging and no randomisation. */
    public static final long STACK_TOP = AddressSpace.TASK_SIZE;
    /** x86-64's ELF_ET_DYN_BASE: DEFAULT_MAP_WINDOW / 3 * 2 (0x555555554aaa). */
    public static final long ELF_ET_DYN_BASE = AddressSpace.TASK_SIZE / 3 * 2;
    /** setup_arg_pages's stack_expand: the stack VMA reaches this far below the strings. */
    static final long STACK_EXPAND = 128L << 10;
    private static final long MIN_GAP = 128L << 20;
    private static final long MAX_GAP = AddressSpace.TASK_SIZE / 6 * 5;
    private static final long PAGE = 4096;
    private static final long VSYSCALL = 0xffffffffff600000L;
    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int PROT_EXEC = 4;

    /**
     * A computed layout.
     *
     * @param lines    the VMAs, in address order, as a maps file would give them
     * @param startBrk start_brk and brk
     */
    public record Layout(List<InitialMaps.Line> lines, long startBrk)
    {
        /** Installs the layout into an empty address space (through {@link InitialMaps#install}). */
        public void install(final AddressSpace space, final FileSystem files, final boolean softDirty)
        {
            InitialMaps.install(lines, space, files, softDirty);
            space.setBrk(startBrk, startBrk);
        }
    }

    private final String source;
    private final FileSystem files;
    private final List<InitialMaps.Line> lines = new ArrayList<>();
    private final long mmapBase;

    private ExecLayout(final String source, final FileSystem files, final long stackLimit)
    {
        this.source = source;
        this.files = files;
        this.mmapBase = mmapBase(stackLimit);
    }

    /** arch/x86/mm/mmap.c mmap_base without randomisation. */
    public static long mmapBase(final long stackLimit)
    {
        long gap = stackLimit + AddressSpace.STACK_GUARD_GAP;
        if (Long.compareUnsigned(gap, stackLimit) < 0 || Long.compareUnsigned(gap, MAX_GAP) > 0)
        {
            gap = MAX_GAP;
        }
        gap = Math.max(gap, MIN_GAP);
        return pageAlign(AddressSpace.TASK_SIZE - gap);
    }

    /**
     * Lays out {@code execve(path, argv, envp)}; the files are read from disk.
     *
     * @param stackLimit RLIMIT_STACK's soft limit in bytes ({@code Long.MAX_VALUE}: unlimited)
     * @throws ExecException naming the file (and the offset) that the kernel would refuse or that
     *                       cannot be read, or the interpreter that is missing
     */
    public static Layout compute(final String path, final List<String> argv, final List<String> envp,
        final long stackLimit, final VdsoImage vdso, final FileSystem files) throws ExecException
    {
        final Path program = realPath(path, path);
        final ElfFile elf = ElfFile.read(program, path);
        ElfFile loader = null;
        Path loaderPath = null;
        if (elf.interpreter() != null)
        {
            final String where = path + ": offset 0x" + Long.toHexString(elf.interpreterOffset()) + ": interpreter " +
                elf.interpreter();
            loaderPath = realPath(elf.interpreter(), where);
            loader = ElfFile.read(loaderPath, elf.interpreter());
        }
        final ExecLayout layout = new ExecLayout(path, files, stackLimit);
        layout.stack(path, argv, envp, stackLimit);
        final long brk = layout.program(elf, program.toString(), loader != null);
        if (loader != null)
        {
            layout.loader(loader, loaderPath.toString());
        }
        final long specials = layout.topDown(0, vdso.size());
        layout.special(specials, vdso.vvar(), "[vvar]", VmFlags.VM_READ);
        layout.special(specials + vdso.vvar(), vdso.vclock(), "[vvar_vclock]", VmFlags.VM_READ);
        layout.special(specials + vdso.vvar() + vdso.vclock(), vdso.text(), "[vdso]", VmFlags.VM_READ | VmFlags.VM_EXEC);
        layout.lines.sort(Comparator.comparingLong(InitialMaps.Line::start));
        final List<InitialMaps.Line> merged = merge(layout.lines);
        if (vdso.vsyscall())
        {
            merged.add(new InitialMaps.Line(path, 0, VSYSCALL, VSYSCALL + PAGE, VmFlags.VM_EXEC, 0, 0, 0, "[vsyscall]"));
        }
        return new Layout(List.copyOf(merged), brk);
    }

    private static Path realPath(final String path, final String name) throws ExecException
    {
        try
        {
            final Path real = Path.of(path).toRealPath();
            if (!Files.isRegularFile(real))
            {
                throw new ExecException(name + ": not a regular file (execve: EACCES)");
            }
            return real;
        }
        catch (final NoSuchFileException ex)
        {
            throw new ExecException(name + ": no such file (execve: ENOENT)", ex);
        }
        catch (final IOException | RuntimeException ex)
        {
            throw new ExecException(name + ": cannot read: " + ex.getMessage(), ex);
        }
    }

    /** setup_arg_pages: the strings' pages plus stack_expand, within the rlimit. */
    private void stack(final String path, final List<String> argv, final List<String> envp, final long stackLimit)
        throws ExecException
    {
        long strings = Long.BYTES + bytes(path);
        for (final String s : envp)
        {
            strings += bytes(s);
        }
        for (final String s : argv)
        {
            strings += bytes(s);
        }
        // bprm_stack_limits: the strings may use a quarter of the stack rlimit (at least ARG_MAX's 128 KiB)
        if (strings > Math.max(stackLimit / 4, STACK_EXPAND))
        {
            throw new ExecException(source + ": argument list too long (" + strings + " bytes of strings; execve: E2BIG)");
        }
        final long vmStart = (STACK_TOP - strings) & ~(PAGE - 1);
        final long limit = stackLimit & ~(PAGE - 1);
        final long base = STACK_TOP - vmStart + STACK_EXPAND > limit ? STACK_TOP - limit : vmStart - STACK_EXPAND;
        lines.add(new InitialMaps.Line(source, 0, base, STACK_TOP, VmFlags.VM_READ | VmFlags.VM_WRITE, 0, 0, 0, "[stack]"));
    }

    private static long bytes(final String s)
    {
        return s.getBytes(StandardCharsets.UTF_8).length + 1;
    }

    /** The program's PT_LOADs; returns the start of the break. */
    private long program(final ElfFile elf, final String realPath, final boolean hasLoader) throws ExecException
    {
        final int first = firstLoad(elf);
        final long firstPage = elf.vaddr(first) & ~(PAGE - 1);
        long bias = 0;
        if (elf.isDynamic())
        {
            final long alignment = elf.maximumAlignment();
            if (hasLoader || alignment > PAGE)
            {
                bias = ((ELF_ET_DYN_BASE & ~(alignment - 1)) - elf.vaddr(first)) & ~(PAGE - 1);
            }
            else
            {
                bias = topDown(firstPage, elf.totalMappingSize()) - firstPage;
            }
        }
        long brk = 0;
        for (int i = 0; i < elf.segments(); i++)
        {
            if (elf.isLoad(i))
            {
                load(elf, i, bias, realPath);
                brk = Math.max(brk, bias + elf.vaddr(i) + elf.memsz(i));
            }
        }
        return pageAlign(brk);
    }

    /** load_elf_interp: the first segment top down (or at its own address if free), the rest after it. */
    private void loader(final ElfFile elf, final String realPath) throws ExecException
    {
        final int first = firstLoad(elf);
        final long firstPage = elf.vaddr(first) & ~(PAGE - 1);
        final long bias = elf.isDynamic() ? topDown(firstPage, elf.totalMappingSize()) - firstPage : 0;
        for (int i = 0; i < elf.segments(); i++)
        {
            if (elf.isLoad(i))
            {
                load(elf, i, bias, realPath);
            }
        }
    }

    private static int firstLoad(final ElfFile elf)
    {
        int i = 0;
        while (!elf.isLoad(i))
        {
            i++;
        }
        return i;
    }

    /** elf_load: the file's pages of the segment, then its bss as anonymous read-write pages. */
    private void load(final ElfFile elf, final int i, final long bias, final String realPath) throws ExecException
    {
        final long addr = bias + elf.vaddr(i);
        final long pageOffset = addr & (PAGE - 1);
        final long end = pageAlign(addr + elf.memsz(i));
        if (addr - pageOffset < AddressSpace.MMAP_MIN_ADDR || Long.compareUnsigned(end, AddressSpace.TASK_SIZE) > 0 ||
            clashesWithOthers(addr - pageOffset, end, realPath))
        {
            // the kernel's MAP_FIXED_NOREPLACE (or mmap_min_addr) refuses it: execve fails
            throw new ExecException(String.format("%s: offset 0x%x: PT_LOAD %d at 0x%x-0x%x %s", elf.name(),
                elf.headerOffset(i), i, addr - pageOffset, end, end > AddressSpace.TASK_SIZE ||
                    addr - pageOffset < AddressSpace.MMAP_MIN_ADDR ? "is outside the user address space" : "overlaps another mapping"));
        }
        final int prot = elf.prot(i);
        long zeroStart;
        if (elf.filesz(i) > 0)
        {
            final long start = addr - pageOffset;
            final MappedFile file = files.lookup(realPath);
            mapFixed(new InitialMaps.Line(source, 0, start, pageAlign(addr + elf.filesz(i)), vmFlags(prot),
                elf.offset(i) - pageOffset, file.dev(), file.inode(), realPath));
            zeroStart = addr + elf.filesz(i);
        }
        else
        {
            zeroStart = addr - pageOffset;
        }
        if (elf.memsz(i) > elf.filesz(i))
        {
            final long from = pageAlign(zeroStart);
            final long to = pageAlign(addr + elf.memsz(i));
            if (to > from)
            {
                // vm_brk_flags: VM_DATA_DEFAULT_FLAGS, plus exec if the segment asks for it
                mapFixed(new InitialMaps.Line(source, 0, from, to,
                    VmFlags.VM_READ | VmFlags.VM_WRITE | ((prot & PROT_EXEC) != 0 ? VmFlags.VM_EXEC : 0), 0, 0, 0, null));
            }
        }
    }

    private void special(final long start, final long size, final String name, final int flags)
    {
        if (size > 0)
        {
            lines.add(new InitialMaps.Line(source, 0, start, start + size, flags, 0, 0, 0, name));
        }
    }

    private static int vmFlags(final int prot)
    {
        return ((prot & PROT_READ) != 0 ? VmFlags.VM_READ : 0) | ((prot & PROT_WRITE) != 0 ? VmFlags.VM_WRITE : 0) | ((prot & PROT_EXEC) != 0 ? VmFlags.VM_EXEC : 0);
    }

    /**
     * get_unmapped_area for exec's non-fixed mappings: the hint when the range is free, else the
     * highest free range below mmap_base (the address space holds only what exec mapped so far).
     */
    private long topDown(final long hint, final long length)
    {
        final long size = pageAlign(length);
        if (hint != 0 && Long.compareUnsigned(hint, AddressSpace.TASK_SIZE - size) <= 0 &&
            hint >= AddressSpace.MMAP_MIN_ADDR && free(hint, hint + size))
        {
            return hint;
        }
        long candidate = mmapBase - size;
        for (InitialMaps.Line clash = clash(candidate, candidate + size); clash != null;
             clash = clash(candidate, candidate + size))
        {
            candidate = clash.start() - size;
        }
        return candidate;
    }

    /** Whether [start, end) meets a mapping not of {@code path} (exec's own segments may share pages). */
    private boolean clashesWithOthers(final long start, final long end, final String path)
    {
        for (final InitialMaps.Line line : lines)
        {
            if (line.start() < end && start < line.end() && !path.equals(line.name()) &&
                !(line.name() == null && line.dev() == 0))
            {
                return true;
            }
        }
        return false;
    }

    private boolean free(final long start, final long end)
    {
        return clash(start, end) == null;
    }

    private InitialMaps.Line clash(final long start, final long end)
    {
        for (final InitialMaps.Line line : lines)
        {
            // the stack keeps its guard gap below it free
            final long lineStart = "[stack]".equals(line.name()) ? line.start() - AddressSpace.STACK_GUARD_GAP : line.start();
            if (lineStart < end && start < line.end())
            {
                return line;
            }
        }
        return null;
    }

    /** MAP_FIXED: whatever the new line covers is unmapped first (segments may share a page). */
    private void mapFixed(final InitialMaps.Line line)
    {
        final List<InitialMaps.Line> kept = new ArrayList<>(lines.size() + 2);
        for (final InitialMaps.Line old : lines)
        {
            if (old.end() <= line.start() || line.end() <= old.start())
            {
                kept.add(old);
                continue;
            }
            if (old.start() < line.start())
            {
                kept.add(slice(old, old.start(), line.start()));
            }
            if (line.end() < old.end())
            {
                kept.add(slice(old, line.end(), old.end()));
            }
        }
        kept.add(line);
        lines.clear();
        lines.addAll(kept);
    }

    private static InitialMaps.Line slice(final InitialMaps.Line line, final long start, final long end)
    {
        final long offset = line.dev() == 0 && line.inode() == 0 ? 0 : line.offset() + (start - line.start());
        return new InitialMaps.Line(line.source(), line.number(), start, end, line.flags(), offset, line.dev(),
            line.inode(), line.name());
    }

    /** vma_merge: neighbours of one file at consecutive offsets, or anonymous ones, with equal flags. */
    private static List<InitialMaps.Line> merge(final List<InitialMaps.Line> sorted)
    {
        final List<InitialMaps.Line> merged = new ArrayList<>(sorted.size());
        for (final InitialMaps.Line line : sorted)
        {
            final InitialMaps.Line last = merged.isEmpty() ? null : merged.getLast();
            if (last != null && mergeable(last, line))
            {
                merged.set(merged.size() - 1, new InitialMaps.Line(last.source(), last.number(), last.start(),
                    line.end(), last.flags(), last.offset(), last.dev(), last.inode(), last.name()));
            }
            else
            {
                merged.add(line);
            }
        }
        return merged;
    }

    private static boolean mergeable(final InitialMaps.Line a, final InitialMaps.Line b)
    {
        if (a.end() != b.start() || a.flags() != b.flags() || a.dev() != b.dev() || a.inode() != b.inode())
        {
            return false;
        }
        if (a.name() == null && b.name() == null)
        {
            return true;
        }
        return a.name() != null && a.name().equals(b.name()) && !a.name().startsWith("[") &&
            a.offset() + (a.end() - a.start()) == b.offset();
    }

    private static long pageAlign(final long address)
    {
        return (address + PAGE - 1) & ~(PAGE - 1);
    }
}
