package io.mmemu.diff;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

import io.mmemu.vm.AddressSpace;

/**
 * A known semantic difference between the live host kernel and the Linux the emulator models, that
 * a conformance fixture would show: which fixtures it touches and how to tell that this host has
 * it. Only these excuse a fixture from the live comparison ({@link FixtureTest}), and the skip names
 * the difference. Build options a replay can see (zero page, soft-dirty) are not differences: the
 * emulator plays the host's build ({@link HostKernel}).
 */
record KernelDifference(String name, String reason, Predicate<String> fixtures, Predicate<Host> present)
{
    /** What the differences depend on, read from the live kernel. */
    record Host(int major, int minor, int maxMapCount)
    {
        static Host live() throws IOException
        {
            final String[] version = sysctl("kernel/osrelease").split("[.-]");
            return new Host(Integer.parseInt(version[0]), Integer.parseInt(version[1]),
                Integer.parseInt(sysctl("vm/max_map_count")));
        }

        /**
         * A sysctl's first line, read whole: a sysctl read in pieces may end after the first
         * (this machine's /proc/sys/vm/max_map_count read a byte at a time gives "6").
         */
        private static String sysctl(final String name) throws IOException
        {
            return Files.readAllLines(Path.of("/proc/sys", name)).getFirst().strip();
        }

        boolean before(final int wantedMajor, final int wantedMinor)
        {
            return major < wantedMajor || (major == wantedMajor && minor < wantedMinor);
        }
    }

    static final List<KernelDifference> ALL = List.of(
        new KernelDifference("max_map_count",
            "vm.max_map_count on this host is not " + AddressSpace.MAX_MAP_COUNT + ", the default the emulator keeps",
            name -> name.equals("max-map-count"), host -> host.maxMapCount() != AddressSpace.MAX_MAP_COUNT),
        new KernelDifference("mremap-multiple-vmas",
            "Linux before 6.17 fails (EFAULT) an mremap whose range spans several VMAs; the emulator follows 6.17",
            name -> name.contains("multiple-vmas"), host -> host.before(6, 17)));

    /** The difference that excuses this fixture on this host, if one does. */
    static Optional<KernelDifference> excusing(final String fixture, final Host host)
    {
        return ALL.stream().filter(d -> d.fixtures().test(fixture) && d.present().test(host)).findFirst();
    }

    /** As a skip states it. */
    String describe()
    {
        return "known semantic difference '" + name + "': " + reason;
    }
}
