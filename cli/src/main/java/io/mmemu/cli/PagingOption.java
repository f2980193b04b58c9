package io.mmemu.cli;

import io.mmemu.pgtable.PagingMode;
import io.mmemu.vm.KernelConfig;
import picocli.CommandLine.Option;

/** {@code --paging 4|5}: the page-table levels of every address space a command builds (a picocli mixin). */
final class PagingOption
{
    @Option(names = "--paging", paramLabel = "4|5",
        description = "Page-table levels: 4 (the default) or 5 (LA57: 57-bit addresses, TASK_SIZE 2^56 - 4 KiB; mmap " +
            "goes above 2^47 only with a hint above it, or MAP_FIXED).")
    String paging;

    /** The value as given, or null when the option was not. */
    String given()
    {
        return paging;
    }

    /** The levels asked for (4 when not given). */
    int levels()
    {
        return paging == null ? PagingMode.FOUR_LEVEL : PagingMode.parse(paging);
    }

    /** {@code build} with the levels asked for. */
    KernelConfig apply(final KernelConfig build)
    {
        return build.withPaging(levels());
    }
}
