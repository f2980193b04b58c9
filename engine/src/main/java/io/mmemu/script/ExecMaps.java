package io.mmemu.script;

import java.io.PrintStream;
import java.util.List;

import io.mmemu.elf.ExecException;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.FileSystem;
import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.LockingMode;
import io.mmemu.vm.VdsoImage;
import io.mmemu.vm.VmaInfo;

/**
 * {@code mmemu exec}: lays a program out as execve would ({@link ExecLayout}), installs it into an
 * emulated address space and prints that address space's /proc/PID/maps.
 */
public final class ExecMaps
{
    /** Emulated memory for a layout: page tables only, nothing is faulted. */
    private static final long PHYSICAL_MEMORY = 64L << 20;

    private ExecMaps()
    {
    }

    /**
     * Prints the maps. Returns 0 when done, 2 when the exec is refused or a file cannot be read
     * (one line on err), 3 when frames leaked (an emulator bug).
     */
    public static int print(final String path, final List<String> argv, final List<String> envp, final long stackLimit,
        final VdsoImage vdso, final KernelConfig kernel, final PrintStream out, final PrintStream err)
    {
        try (PhysicalMemory memory = PhysicalMemory.create(PHYSICAL_MEMORY))
        {
            try (FileSystem files = new FileSystem(memory))
            {
                final ExecLayout.Layout layout = ExecLayout.compute(path, argv, envp, stackLimit, vdso, files);
                try (AddressSpace space = AddressSpace.create(memory, LockingMode.PER_VMA, AddressSpace.DEFAULT_SECTION,
                    kernel))
                {
                    layout.install(space, files, kernel.softDirty());
                    for (final VmaInfo vma : space.vmas())
                    {
                        out.println(vma.mapsLine());
                    }
                }
            }
            catch (final ExecException ex)
            {
                err.println("mmemu exec: " + ex.getMessage());
                return 2;
            }
            // the address space and the files are gone: only the zero page may remain
            if (memory.framesInUse() != 1)
            {
                err.println("mmemu exec: internal error: " + (memory.framesInUse() - 1) + " frames not returned");
                return 3;
            }
            return 0;
        }
    }
}
