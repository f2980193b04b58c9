package io.mmemu.vm;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The x86-64 Linux values of the memory syscalls' flags ({@code <sys/mman.h>}, {@code
 * <linux/mman.h>}), and their names as strace prints them.
 */
public final class Mman
{
    public static final int PROT_NONE = 0x0;
    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int PROT_EXEC = 0x4;
    public static final int PROT_SEM = 0x8;
    public static final int PROT_GROWSDOWN = 0x01000000;
    public static final int PROT_GROWSUP = 0x02000000;

    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_SHARED_VALIDATE = 0x03;
    public static final int MAP_TYPE = 0x0f;
    public static final int MAP_FIXED = 0x10;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_32BIT = 0x40;
    public static final int MAP_GROWSDOWN = 0x0100;
    public static final int MAP_DENYWRITE = 0x0800;
    public static final int MAP_EXECUTABLE = 0x1000;
    public static final int MAP_LOCKED = 0x2000;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MAP_POPULATE = 0x8000;
    public static final int MAP_NONBLOCK = 0x10000;
    public static final int MAP_STACK = 0x20000;
    public static final int MAP_HUGETLB = 0x40000;
    public static final int MAP_SYNC = 0x80000;
    public static final int MAP_FIXED_NOREPLACE = 0x100000;
    public static final int MAP_UNINITIALIZED = 0x4000000;

    public static final int MREMAP_MAYMOVE = 1;
    public static final int MREMAP_FIXED = 2;
    public static final int MREMAP_DONTUNMAP = 4;

    public static final int MADV_NORMAL = 0;
    public static final int MADV_RANDOM = 1;
    public static final int MADV_SEQUENTIAL = 2;
    public static final int MADV_WILLNEED = 3;
    public static final int MADV_DONTNEED = 4;
    public static final int MADV_FREE = 8;
    public static final int MADV_REMOVE = 9;
    public static final int MADV_DONTFORK = 10;
    public static final int MADV_DOFORK = 11;
    public static final int MADV_MERGEABLE = 12;
    public static final int MADV_UNMERGEABLE = 13;
    public static final int MADV_HUGEPAGE = 14;
    public static final int MADV_NOHUGEPAGE = 15;
    public static final int MADV_DONTDUMP = 16;
    public static final int MADV_DODUMP = 17;
    public static final int MADV_WIPEONFORK = 18;
    public static final int MADV_KEEPONFORK = 19;
    public static final int MADV_COLD = 20;
    public static final int MADV_PAGEOUT = 21;
    public static final int MADV_POPULATE_READ = 22;
    public static final int MADV_POPULATE_WRITE = 23;
    public static final int MADV_DONTNEED_LOCKED = 24;
    public static final int MADV_COLLAPSE = 25;
    public static final int MADV_HWPOISON = 100;
    public static final int MADV_SOFT_OFFLINE = 101;
    public static final int MADV_GUARD_INSTALL = 102;
    public static final int MADV_GUARD_REMOVE = 103;

    /** PROT_* names in strace's order. */
    public static final Map<String, Long> PROT_NAMES = names(
        "PROT_READ", PROT_READ, "PROT_WRITE", PROT_WRITE, "PROT_EXEC", PROT_EXEC, "PROT_SEM", PROT_SEM,
        "PROT_GROWSDOWN", PROT_GROWSDOWN, "PROT_GROWSUP", PROT_GROWSUP);

    /** MAP_* names in strace's order; the type (MAP_SHARED/PRIVATE/SHARED_VALIDATE) comes first. */
    public static final Map<String, Long> MAP_NAMES = names(
        "MAP_SHARED", MAP_SHARED, "MAP_PRIVATE", MAP_PRIVATE, "MAP_SHARED_VALIDATE", MAP_SHARED_VALIDATE,
        "MAP_FIXED", MAP_FIXED, "MAP_ANONYMOUS", MAP_ANONYMOUS, "MAP_32BIT", MAP_32BIT,
        "MAP_GROWSDOWN", MAP_GROWSDOWN, "MAP_DENYWRITE", MAP_DENYWRITE, "MAP_EXECUTABLE", MAP_EXECUTABLE,
        "MAP_LOCKED", MAP_LOCKED, "MAP_NORESERVE", MAP_NORESERVE, "MAP_POPULATE", MAP_POPULATE,
        "MAP_NONBLOCK", MAP_NONBLOCK, "MAP_STACK", MAP_STACK, "MAP_HUGETLB", MAP_HUGETLB, "MAP_SYNC", MAP_SYNC,
        "MAP_FIXED_NOREPLACE", MAP_FIXED_NOREPLACE, "MAP_UNINITIALIZED", MAP_UNINITIALIZED,
        "MAP_ANON", MAP_ANONYMOUS);

    public static final Map<String, Long> MREMAP_NAMES = names(
        "MREMAP_MAYMOVE", MREMAP_MAYMOVE, "MREMAP_FIXED", MREMAP_FIXED, "MREMAP_DONTUNMAP", MREMAP_DONTUNMAP);

    public static final Map<String, Long> MADV_NAMES = names(
        "MADV_NORMAL", MADV_NORMAL, "MADV_RANDOM", MADV_RANDOM, "MADV_SEQUENTIAL", MADV_SEQUENTIAL,
        "MADV_WILLNEED", MADV_WILLNEED, "MADV_DONTNEED", MADV_DONTNEED, "MADV_FREE", MADV_FREE,
        "MADV_REMOVE", MADV_REMOVE, "MADV_DONTFORK", MADV_DONTFORK, "MADV_DOFORK", MADV_DOFORK,
        "MADV_MERGEABLE", MADV_MERGEABLE, "MADV_UNMERGEABLE", MADV_UNMERGEABLE, "MADV_HUGEPAGE", MADV_HUGEPAGE,
        "MADV_NOHUGEPAGE", MADV_NOHUGEPAGE, "MADV_DONTDUMP", MADV_DONTDUMP, "MADV_DODUMP", MADV_DODUMP,
        "MADV_WIPEONFORK", MADV_WIPEONFORK, "MADV_KEEPONFORK", MADV_KEEPONFORK, "MADV_COLD", MADV_COLD,
        "MADV_PAGEOUT", MADV_PAGEOUT, "MADV_POPULATE_READ", MADV_POPULATE_READ,
        "MADV_POPULATE_WRITE", MADV_POPULATE_WRITE, "MADV_DONTNEED_LOCKED", MADV_DONTNEED_LOCKED,
        "MADV_COLLAPSE", MADV_COLLAPSE, "MADV_HWPOISON", MADV_HWPOISON, "MADV_SOFT_OFFLINE", MADV_SOFT_OFFLINE,
        "MADV_GUARD_INSTALL", MADV_GUARD_INSTALL, "MADV_GUARD_REMOVE", MADV_GUARD_REMOVE);

    private Mman()
    {
    }

    private static Map<String, Long> names(final Object... pairs)
    {
        final Map<String, Long> map = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2)
        {
            map.put((String)pairs[i], ((Number)pairs[i + 1]).longValue());
        }
        return Collections.unmodifiableMap(map);
    }
}
