package io.mmemu.vm;

/**
 * A VMA's {@code vm_flags}, with Linux's bit values ({@code include/linux/mm.h}) so that dumps and
 * smaps' VmFlags read the same.
 */
public final class VmFlags
{
    public static final int VM_READ = 0x00000001;
    public static final int VM_WRITE = 0x00000002;
    public static final int VM_EXEC = 0x00000004;
    public static final int VM_SHARED = 0x00000008;
    public static final int VM_MAYREAD = 0x00000010;
    public static final int VM_MAYWRITE = 0x00000020;
    public static final int VM_MAYEXEC = 0x00000040;
    public static final int VM_MAYSHARE = 0x00000080;
    public static final int VM_GROWSDOWN = 0x00000100;
    public static final int VM_PFNMAP = 0x00000400;
    public static final int VM_LOCKED = 0x00002000;
    public static final int VM_IO = 0x00004000;
    public static final int VM_SEQ_READ = 0x00008000;
    public static final int VM_RAND_READ = 0x00010000;
    public static final int VM_DONTCOPY = 0x00020000;
    public static final int VM_DONTEXPAND = 0x00040000;
    public static final int VM_LOCKONFAULT = 0x00080000;
    public static final int VM_ACCOUNT = 0x00100000;
    public static final int VM_NORESERVE = 0x00200000;
    public static final int VM_HUGETLB = 0x00400000;
    public static final int VM_SYNC = 0x00800000;
    public static final int VM_WIPEONFORK = 0x02000000;
    public static final int VM_DONTDUMP = 0x04000000;
    public static final int VM_SOFTDIRTY = 0x08000000;
    public static final int VM_MIXEDMAP = 0x10000000;
    public static final int VM_HUGEPAGE = 0x20000000;
    public static final int VM_NOHUGEPAGE = 0x40000000;
    public static final int VM_MERGEABLE = 0x80000000;

    /** Flags that do not stop two neighbours merging (mm/vma.c ignores VM_SOFTDIRTY). */
    public static final int VM_IGNORE_MERGE = VM_SOFTDIRTY;
    public static final int VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;

    private VmFlags()
    {
    }
}
