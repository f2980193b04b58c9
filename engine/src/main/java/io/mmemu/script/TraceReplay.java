package io.mmemu.script;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.mmemu.elf.ExecException;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Errno;
import io.mmemu.vm.FileSystem;
import io.mmemu.vm.HugetlbConfig;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.LockingMode;
import io.mmemu.vm.Machine;
import io.mmemu.vm.Mman;
import io.mmemu.vm.OpenFile;
import io.mmemu.vm.Overcommit;
import io.mmemu.vm.VdsoImage;
import io.mmemu.vm.VmaInfo;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.IntHashSet;

/**
 * {@code mmemu replay --initial-maps MAPS LOG}: replays a real program's strace log, every pid in
 * the address space it had, and compares each result with the one the kernel gave.
 * <p>
 * <b>Pids.</b> The first pid is the traced program, starting from MAPS (or empty). A pid created
 * by clone/clone3/fork/vfork (logs with {@code %process}) shares its creator's address space when
 * the call had CLONE_VM (threads, vfork), else gets a copy-on-write copy of it ({@link AddressSpace#forkFrom}).
 * A pid that runs execve gets a new address space: from the maps given for that program's path
 * ({@code --initial-maps PATH=MAPS}), else laid out from the program's ELF file on this machine
 * ({@link ExecLayout}), else (no such file here) empty and <i>unchecked</i>. An address space goes
 * away (exit_mmap: its frames back, the pages it shared with a parent or child that parent's or
 * child's alone again) when the last pid in it exits ({@code +++ exited ...}) or execs; the traced
 * program's last one is kept for {@code --maps}. A fork the emulated memory cannot hold (ENOMEM
 * where the kernel succeeded) is named with its line on standard error and the child is unchecked.
 * In a memory-only log nothing
 * says what a new pid is: one whose first call is {@code brk(NULL)} is taken for a freshly exec'ed
 * program (the dynamic loader's first call), any other for a thread of the traced program.
 * <p>
 * <b>Checking.</b> A result is checked when the log recorded one, its pid's address space is known
 * and mmemu models the call; it is equal when it prints exactly as strace printed it.
 */
public final class TraceReplay
{
    /** How many differences the summary lists. */
    private static final int SHOWN_DIFFERENCES = 10;

    /**
     * @param initialMaps the traced program's maps lines, or null for an empty start
     * @param programMaps maps lines of programs exec'ed during the log, by path
     * @param quiet       print only the summary and differences, not every call
     * @param maps        print the traced program's maps at the end (before the summary)
     * @param vdso        the special mappings exec adds to a program laid out from its ELF file
     */
    public record Options(List<InitialMaps.Line> initialMaps, Map<String, List<InitialMaps.Line>> programMaps,
                          boolean quiet, boolean maps, long physicalMemory, KernelConfig kernel, VdsoImage vdso,
                          HugetlbConfig hugetlb)
    {
        /** Options without hugetlb pools. */
        public Options(final List<InitialMaps.Line> initialMaps, final Map<String, List<InitialMaps.Line>> programMaps,
            final boolean quiet, final boolean maps, final long physicalMemory, final KernelConfig kernel, final VdsoImage vdso)
        {
            this(initialMaps, programMaps, quiet, maps, physicalMemory, kernel, vdso, HugetlbConfig.NONE);
        }
    }

    private final Options options;
    private final PhysicalMemory memory;
    /** The one machine every process of the log runs on: Committed_AS and the OOM killer are machine-wide. */
    private final Machine machine;
    private final FileSystem files;
    private final List<Process> processes = new ArrayList<>();
    private final Int2ObjectHashMap<Process> byPid = new Int2ObjectHashMap<>();
    private final Int2ObjectHashMap<TraceEvent.Spawn> spawns = new Int2ObjectHashMap<>();
    /** Pids whose exit line has been replayed: a creator's clone that resumes after its child exited creates nothing. */
    private final IntHashSet exited = new IntHashSet();
    /** The address space the traced program (the first pid) is in, kept after its exit for {@code --maps}. */
    private Process traced;
    private final List<String> differences = new ArrayList<>();
    private long checked;
    private long equal;
    private long unchecked;
    private int firstPid = -1;
    /** Whether no call has run yet (the traced program's own execve comes before its first call). */
    private boolean neverCalled = true;

    /** One address space and the fd table of its thread group. */
    private static final class Process implements AutoCloseable
    {
        final AddressSpace space;
        final Cpu cpu;
        final Interpreter interpreter;
        final boolean known;
        final Int2ObjectHashMap<OpenFile> fds = new Int2ObjectHashMap<>();
        /** The pids of the log in this address space now (its threads, a vfork child until it execs). */
        int tasks;

        Process(final AddressSpace space, final boolean known)
        {
            this.space = space;
            this.cpu = space.attachCpu();
            this.interpreter = new Interpreter(cpu);
            this.known = known;
        }

        @Override
        public void close()
        {
            cpu.close();
            space.close();
        }
    }

    private TraceReplay(final Options options, final PhysicalMemory memory)
    {
        this.options = options;
        this.memory = memory;
        this.machine = new Machine(memory, Overcommit.DEFAULT);
        this.files = new FileSystem(memory);
    }

    /**
     * Parses the whole log first (malformed lines: every error as NAME:LINE: reason, exit 2), then
     * replays it. Returns 0 when every checked result is equal, 1 when any differs, 3 when frames
     * leaked (an emulator bug, checked after every replay).
     */
    public static int run(final String name, final Reader log, final Options options, final PrintStream out,
        final PrintStream err)
    {
        final List<TraceEvent> events;
        try
        {
            events = TraceParser.parse(log);
        }
        catch (final ScriptException ex)
        {
            ex.report(name, err);
            return 2;
        }
        catch (final IOException ex)
        {
            err.println(name + ": cannot read: " + ex.getMessage());
            return 2;
        }
        try (PhysicalMemory memory = PhysicalMemory.create(options.physicalMemory()))
        {
            try
            {
                // the pools are taken at boot (hugepages= on the kernel command line)
                options.hugetlb().applyTo(memory);
            }
            catch (final IllegalArgumentException ex)
            {
                err.println("mmemu replay: " + ex.getMessage());
                return 2;
            }
            final TraceReplay replay = new TraceReplay(options, memory);
            int status;
            try
            {
                status = replay.replay(name, events, out, err);
            }
            finally
            {
                for (final Process process : replay.processes)
                {
                    process.close();
                }
                replay.files.close();
            }
            // every address space and page cache is gone: only the zero page may remain
            if (memory.framesInUse() != 1)
            {
                err.println("mmemu replay: internal error: " + (memory.framesInUse() - 1) + " frames not returned");
                status = 3;
            }
            return status;
        }
        catch (final IllegalArgumentException ex)
        {
            err.println("mmemu replay: " + ex.getMessage());
            return 2;
        }
    }

    private int replay(final String name, final List<TraceEvent> events, final PrintStream out, final PrintStream err)
    {
        for (final TraceEvent event : events)
        {
            if (event instanceof TraceEvent.Spawn spawn && spawn.child() > 0)
            {
                spawns.put(spawn.child(), spawn);
            }
        }
        for (final TraceEvent event : events)
        {
            if (event instanceof TraceEvent.Exit exit)
            {
                exited.add(exit.pid());
                leave(exit.pid());
                continue;
            }
            final Process process = processOf(name, event, err);
            final String prefix = event.pid() != 0 ? event.pid() + "  " : "";
            switch (event)
            {
                case TraceEvent.Syscall call ->
                {
                    final Statement s = call.statement();
                    final Outcome outcome = execute(process, call);
                    final String result = ResultFormat.result(s.call(), outcome, Window.NONE);
                    final String recorded = s.recordedResult();
                    final boolean checkable = recorded != null && !recorded.equals("?") && process.known &&
                        !hiddenArgument(s);
                    if (!checkable)
                    {
                        unchecked++;
                    }
                    else
                    {
                        checked++;
                        if (result.equals(recorded))
                        {
                            equal++;
                        }
                        else if (differences.size() < SHOWN_DIFFERENCES)
                        {
                            differences.add(name + ":" + event.line() + ": " + prefix + s.text() + " = " + result +
                                ", recorded " + recorded);
                        }
                    }
                    if (!options.quiet())
                    {
                        out.println(prefix + s.text() + " = " + result + (checkable && !result.equals(recorded) ?
                            "   # differs: recorded " + recorded : ""));
                    }
                }
                case TraceEvent.Unmodelled call ->
                {
                    unchecked++;
                    if (!options.quiet())
                    {
                        out.println(prefix + call.text() + " = ?   # " + call.name() + " is not modelled (recorded " +
                            call.recorded() + ")");
                    }
                }
                case TraceEvent.Spawn spawn ->
                {
                    if (spawn.child() > 0 && !byPid.containsKey(spawn.child()) && !exited.contains(spawn.child()))
                    {
                        enter(spawn.child(), spawned(name, process, spawn, err));
                    }
                }
                case TraceEvent.Exit exit -> throw new AssertionError("exits are replayed above");
                case TraceEvent.Exec exec ->
                {
                    // the traced program's own execve, before its first call, made the initial maps
                    if (!(exec.pid() == firstPid && neverCalled && options.initialMaps() != null))
                    {
                        final Process image = exec(name, exec, err);
                        leave(exec.pid());
                        enter(exec.pid(), image);
                    }
                }
            }
            if (!(event instanceof TraceEvent.Spawn) && !(event instanceof TraceEvent.Exec))
            {
                neverCalled = false;
            }
        }
        if (options.maps() && traced != null)
        {
            for (final VmaInfo vma : traced.space.vmas())
            {
                out.println(vma.mapsLine());
            }
        }
        out.println("checked " + checked + ", equal " + equal + ", differ " + (checked - equal) + ", unchecked " + unchecked);
        if (checked != equal)
        {
            out.println("first differences:");
            for (final String difference : differences)
            {
                out.println("  " + difference);
            }
        }
        out.flush();
        return checked == equal ? 0 : 1;
    }

    /**
     * Whether the result depends on something the log does not show, so it cannot be checked: a
     * protection key (allocated by pkey_alloc, outside the memory class), or mremap's new_address,
     * which strace prints only with MREMAP_FIXED although MREMAP_DONTUNMAP uses it as a hint.
     */
    private static boolean hiddenArgument(final Statement s)
    {
        return s.call() == Call.PKEY_MPROTECT && (int)s.argument(3) != -1 || dontUnmapHint(s);
    }

    private static boolean dontUnmapHint(final Statement s)
    {
        return s.call() == Call.MREMAP && (s.argument(3) & Mman.MREMAP_DONTUNMAP) != 0 &&
            (s.argument(3) & Mman.MREMAP_FIXED) == 0;
    }

    private Outcome execute(final Process process, final TraceEvent.Syscall call)
    {
        final Statement s = call.statement();
        final String recorded = s.recordedResult();
        if (dontUnmapHint(s) && recorded != null)
        {
            // the hint is unknown: follow the recording, so the address space stays the one the program had
            final int errno = Errno.fromStraceError(recorded);
            if (errno != 0)
            {
                return Outcome.returned(-errno);
            }
            if (recorded.startsWith("0x"))
            {
                return Outcome.returned(process.cpu.mremap(s.argument(0), s.argument(1), s.argument(2), (int)s.argument(3),
                    Long.parseUnsignedLong(recorded.substring(2), 16)));
            }
        }
        if (s.call() == Call.MMAP && call.fdPath() != null && (s.argument(3) & Mman.MAP_ANONYMOUS) == 0)
        {
            // an fd's open mode is not in the log: read-write, unless the kernel refused a shared
            // writable mapping with EACCES, which only a read-only fd gets
            final boolean readOnly = recorded != null && (s.argument(3) & Mman.MAP_TYPE) != Mman.MAP_PRIVATE &&
                Errno.fromStraceError(recorded) == Errno.EACCES;
            final OpenFile file = open(process, (int)s.argument(4), call.fdPath(), readOnly);
            return Outcome.returned(process.cpu.mmap(s.argument(0), s.argument(1), (int)s.argument(2), (int)s.argument(3),
                file, s.argument(5)));
        }
        return process.interpreter.execute(s);
    }

    /**
     * The open file an fd names: the same open file description as long as the fd keeps naming the
     * same path (so mappings through one open may merge), a new one when the path changed.
     */
    private OpenFile open(final Process process, final int fd, final String path, final boolean readOnly)
    {
        final OpenFile current = process.fds.get(fd);
        final io.mmemu.vm.MappedFile inode = files.lookup(path);
        if (current != null && current.inode() == inode && current.writable() != readOnly)
        {
            return current;
        }
        final OpenFile opened = OpenFile.open(inode, !readOnly);
        process.fds.put(fd, opened);
        return opened;
    }

    /** {@code pid} is now in {@code process}. */
    private void enter(final int pid, final Process process)
    {
        byPid.put(pid, process);
        process.tasks++;
        if (pid == firstPid && process != traced)
        {
            final Process before = traced;
            traced = process;
            if (before != null && before.tasks == 0)
            {
                release(before);
            }
        }
    }

    /**
     * {@code pid} has left its address space (exit, or execve into a new one): the last pid out
     * releases it, as exit_mmap does, except the traced program's, which {@code --maps} prints.
     */
    private void leave(final int pid)
    {
        final Process process = byPid.remove(pid);
        if (process != null && --process.tasks == 0 && process != traced)
        {
            release(process);
        }
    }

    private void release(final Process process)
    {
        processes.remove(process);
        process.close();
    }

    private Process processOf(final String name, final TraceEvent event, final PrintStream err)
    {
        final int pid = event.pid();
        final Process existing = byPid.get(pid);
        if (existing != null)
        {
            return existing;
        }
        final Process process;
        if (firstPid < 0)
        {
            firstPid = pid;
            process = newProcess(options.initialMaps(), true);
        }
        else if (spawns.containsKey(pid))
        {
            final TraceEvent.Spawn spawn = spawns.get(pid);
            final Process parent = byPid.get(spawn.pid());
            process = parent == null ? newProcess(null, false) : spawned(name, parent, spawn, err);
        }
        else if (event instanceof TraceEvent.Syscall call && call.statement().call() == Call.BRK &&
            call.statement().argument(0) == 0)
        {
            process = newProcess(null, false);
        }
        else
        {
            process = byPid.get(firstPid);
        }
        enter(pid, process);
        return process;
    }

    /**
     * The address space of {@code spawn}'s child: its creator's with CLONE_VM, else a copy of it.
     * When the emulated memory cannot hold the copy (fork's ENOMEM, which the kernel did not give)
     * {@code err} says so with the line, and the child starts empty and unchecked.
     */
    private Process spawned(final String name, final Process parent, final TraceEvent.Spawn spawn, final PrintStream err)
    {
        if (spawn.sharesVm())
        {
            return parent;
        }
        final Process child = newProcess(null, parent.known);
        if (!child.space.forkFrom(parent.cpu))
        {
            err.println(name + ":" + spawn.line() + ": pid " + spawn.child() + " is unchecked: " + spawn.call() +
                ": ENOMEM, the emulated memory has no room for the child's page tables (--physmem)");
            release(child);
            return newProcess(null, false);
        }
        child.fds.putAll(parent.fds);
        return child;
    }

    /**
     * The pid's new address space: from {@code --initial-maps PATH=MAPS} when given, else laid out
     * from the program's ELF file on this machine ({@link ExecLayout}) with argv as strace printed
     * it, no environment and the captures' 8 MiB stack rlimit; when that fails (the file is missing
     * here, or is not a program) the reason goes to {@code err} and the pid starts empty, unchecked.
     */
    private Process exec(final String name, final TraceEvent.Exec exec, final PrintStream err)
    {
        final String path = exec.path();
        final List<InitialMaps.Line> maps = path == null ? null : options.programMaps().get(path);
        if (maps != null || path == null)
        {
            return newProcess(maps, maps != null);
        }
        final ExecLayout.Layout layout;
        try
        {
            layout = ExecLayout.compute(path, exec.argv(), List.of(), AddressSpace.STACK_LIMIT, options.vdso(), files);
        }
        catch (final ExecException ex)
        {
            err.println(name + ":" + exec.line() + ": pid " + exec.pid() + " is unchecked: " + ex.getMessage());
            return newProcess(null, false);
        }
        final Process process = newProcess(null, true);
        layout.install(process.space, files, options.kernel().softDirty());
        return process;
    }

    private Process newProcess(final List<InitialMaps.Line> maps, final boolean known)
    {
        final AddressSpace space = AddressSpace.create(LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION, options.kernel(),
            machine);
        if (maps != null)
        {
            try
            {
                InitialMaps.install(maps, space, files, options.kernel().softDirty());
            }
            catch (final IllegalArgumentException ex)
            {
                space.close();
                throw ex;
            }
        }
        final Process process = new Process(space, known);
        processes.add(process);
        return process;
    }

}
