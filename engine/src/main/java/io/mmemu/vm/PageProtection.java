package io.mmemu.vm;

import static io.mmemu.pgtable.PageTableEntry.ACCESSED;
import static io.mmemu.pgtable.PageTableEntry.NO_EXECUTE;
import static io.mmemu.pgtable.PageTableEntry.PRESENT;
import static io.mmemu.pgtable.PageTableEntry.PROTNONE;
import static io.mmemu.pgtable.PageTableEntry.USER;
import static io.mmemu.pgtable.PageTableEntry.WRITABLE;

/**
 * x86-64's {@code protection_map} (arch/x86/mm/pgprot.c): the PTE bits a VMA's access flags give
 * its pages ({@code vm_get_page_prot}). Private writable mappings get read-only PTEs (write faults
 * make them writable: copy-on-write); PROT_NONE is the non-present PROTNONE encoding.
 */
final class PageProtection
{
    static final long PAGE_NONE = ACCESSED | PROTNONE;
    static final long PAGE_READONLY = PRESENT | USER | ACCESSED | NO_EXECUTE;
    static final long PAGE_READONLY_EXEC = PRESENT | USER | ACCESSED;
    static final long PAGE_COPY = PAGE_READONLY;
    static final long PAGE_COPY_EXEC = PAGE_READONLY_EXEC;
    static final long PAGE_SHARED = PRESENT | WRITABLE | USER | ACCESSED | NO_EXECUTE;
    static final long PAGE_SHARED_EXEC = PRESENT | WRITABLE | USER | ACCESSED;

    /** Indexed by VM_READ|VM_WRITE|VM_EXEC|VM_SHARED (the low four flag bits). */
    private static final long[] MAP = {
        PAGE_NONE, PAGE_READONLY, PAGE_COPY, PAGE_COPY,
        PAGE_READONLY_EXEC, PAGE_READONLY_EXEC, PAGE_COPY_EXEC, PAGE_COPY_EXEC,
        PAGE_NONE, PAGE_READONLY, PAGE_SHARED, PAGE_SHARED,
        PAGE_READONLY_EXEC, PAGE_READONLY_EXEC, PAGE_SHARED_EXEC, PAGE_SHARED_EXEC,
    };

    private PageProtection()
    {
    }

    static long of(final int vmFlags)
    {
        return MAP[vmFlags & 0xF];
    }
}
