package io.mmemu.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import io.mmemu.script.ExecMaps;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.VdsoImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mmemu exec PATH [ARGS...]}: the maps execve would leave, from the real ELF files. */
@Command(
    name = "exec",
    mixinStandardHelpOptions = true,
    description = {
        "Print the maps execve would leave for a program, computed from its ELF file.",
        "",
        "Reads PATH and its PT_INTERP loader from disk and lays them out as Linux's fs/binfmt_elf.c does "
            + "with address randomisation off (setarch -R): the PT_LOAD segments and their bss, the loader "
            + "top down from mmap_base, [vvar], [vvar_vclock] and [vdso] below it, and a stack sized from "
            + "the strings execve copies (PATH, the environment and ARGS). Prints the result as "
            + "/proc/PID/maps prints it; mmemu replay starts every exec'ed program of a log this way "
            + "(docs/replay.md). [vvar] and [vdso] take the running kernel's sizes.",
        "",
        "argv is PATH followed by ARGS: every word after PATH is the program's, dashes and all, so "
            + "mmemu's options go before PATH. The environment holds only the --env pairs given. "
            + "A missing or unreadable file, or one execve would refuse "
            + "(not ELF, 32-bit, another architecture, truncated), is reported with the file and the "
            + "offset (exit 2).",
        ""
    })
public final class ExecCommand implements Callable<Integer>
{
    @Parameters(index = "0", paramLabel = "PATH", description = "The program, as execve's path.")
    String path;

    @Parameters(index = "1..*", paramLabel = "ARGS", description = "The program's arguments (argv[1] on).")
    List<String> args = new ArrayList<>();

    @Option(names = "--env", paramLabel = "K=V", description = "An environment variable (repeatable).")
    List<String> env = new ArrayList<>();

    @Option(names = "--stack-limit", defaultValue = "8M", paramLabel = "SIZE",
        description = "RLIMIT_STACK, which sets mmap_base and caps the stack (default ${DEFAULT-VALUE}).")
    long stackLimit;

    @Mixin
    PagingOption paging;

    @Override
    public Integer call()
    {
        final List<String> argv = new ArrayList<>();
        argv.add(path);
        argv.addAll(args);
        // the special mappings' sizes are the running kernel's: this command is compared with it
        return ExecMaps.print(path, argv, env, stackLimit, VdsoImage.host(), paging.apply(KernelConfig.MAINLINE), System.out, System.err);
    }
}
