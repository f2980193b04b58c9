package io.mmemu.vm;

import io.mmemu.phys.HugetlbPool;
import io.mmemu.phys.PhysicalMemory;

/**
 * The hugetlb pools a machine boots with, as the kernel's {@code hugepagesz=2M hugepages=N
 * hugepagesz=1G hugepages=M} (or nr_hugepages per size) gives them: {@code 2M:N,1G:M} on the
 * command line ({@code --hugetlb}) and in programs ({@code option hugetlb 2M:N,1G:M}).
 *
 * @param pages2m 2 MiB pages
 * @param pages1g 1 GiB pages
 */
public record HugetlbConfig(long pages2m, long pages1g)
{
    /** No pools: MAP_HUGETLB fails with ENOMEM (unless MAP_NORESERVE, whose faults get SIGBUS). */
    public static final HugetlbConfig NONE = new HugetlbConfig(0, 0);

    public HugetlbConfig
    {
        if (pages2m < 0 || pages1g < 0)
        {
            throw new IllegalArgumentException("hugetlb page counts must not be negative: 2M:" + pages2m + ",1G:" + pages1g);
        }
    }

    /**
     * {@code SIZE:COUNT[,SIZE:COUNT]}, SIZE {@code 2M} or {@code 1G} (also {@code 2048K}, {@code 1024M}).
     *
     * @throws IllegalArgumentException with a one-line reason for anything else
     */
    public static HugetlbConfig parse(final String text)
    {
        long pages2m = 0;
        long pages1g = 0;
        for (final String part : text.strip().split(","))
        {
            final int colon = part.indexOf(':');
            if (colon < 0)
            {
                throw new IllegalArgumentException("hugetlb takes SIZE:COUNT pairs such as 2M:512,1G:2, not '" + text + "'");
            }
            final String size = part.substring(0, colon).strip().toUpperCase(java.util.Locale.ROOT);
            final long count;
            try
            {
                count = Long.parseLong(part.substring(colon + 1).strip());
            }
            catch (final NumberFormatException ex)
            {
                throw new IllegalArgumentException("hugetlb page count must be a number, not '" + part.substring(colon + 1).strip() + "'");
            }
            if (count < 0)
            {
                throw new IllegalArgumentException("hugetlb page count must not be negative: '" + part.strip() + "'");
            }
            switch (size)
            {
                case "2M", "2048K" -> pages2m = count;
                case "1G", "1024M" -> pages1g = count;
                default -> throw new IllegalArgumentException("hugetlb page size must be 2M or 1G, not '" + size + "'");
            }
        }
        return new HugetlbConfig(pages2m, pages1g);
    }

    /**
     * Sizes {@code memory}'s pools (1 GiB pages first: they need whole aligned gigabytes).
     *
     * @throws IllegalArgumentException when the pages do not fit
     */
    public void applyTo(final PhysicalMemory memory)
    {
        size(memory.hugetlbPool(PhysicalMemory.GIGANTIC_ORDER), pages1g, "1G");
        size(memory.hugetlbPool(PhysicalMemory.HUGE_ORDER), pages2m, "2M");
    }

    private static void size(final HugetlbPool pool, final long pages, final String name)
    {
        final long got = pool.resize(pages);
        if (got != pages)
        {
            pool.resize(0);
            throw new IllegalArgumentException("hugetlb " + name + ":" + pages + ": only " + got + " page(s) of " + name +
                " fit in the physical memory left");
        }
    }

    @Override
    public String toString()
    {
        return "2M:" + pages2m + ",1G:" + pages1g;
    }
}
