package io.mmemu.phys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * Lazily backed host memory from libc {@code mmap(MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE)}.
 * <p>
 * {@code Arena.allocate} zero-fills its whole block up front, which would make "256 GiB installed"
 * cost 256 GiB; an anonymous NORESERVE mapping costs only the pages that are touched, reads as
 * zero until then, and {@code madvise(MADV_DONTNEED)} hands touched pages back. Reservation is a
 * set-up step, so failures here are exceptions, not status codes.
 * <p>
 * Reservations are {@code madvise(MADV_HUGEPAGE)}d (advice: ignored where transparent huge pages
 * are off): emulated frames are handed out in ascending order, so the host backs them 2 MiB at a
 * time — one host fault instead of 512, and one host TLB entry for 512 frames — and the resident
 * set grows by at most 2 MiB per touched region (bench/README.md, "Huge pages under the frames").
 */
public final class NativeMemory
{
    private static final int PROT_READ = 0x1;
    private static final int PROT_WRITE = 0x2;
    private static final int MAP_PRIVATE = 0x02;
    private static final int MAP_ANONYMOUS = 0x20;
    private static final int MAP_NORESERVE = 0x4000;
    private static final int MADV_DONTNEED = 4;
    private static final int MADV_HUGEPAGE = 14;
    private static final int MADV_POPULATE_WRITE = 23;
    private static final int EINVAL = 22;
    private static final long MAP_FAILED = -1L;

    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
        CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final MethodHandle MADVISE;

    static
    {
        final Linker linker = Linker.nativeLinker();
        final Linker.Option errno = Linker.Option.captureCallState("errno");
        MMAP = linker.downcallHandle(
            linker.defaultLookup().find("mmap").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
            errno);
        MUNMAP = linker.downcallHandle(
            linker.defaultLookup().find("munmap").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        MADVISE = linker.downcallHandle(
            linker.defaultLookup().find("madvise").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_INT),
            errno);
    }

    private NativeMemory()
    {
    }

    /**
     * Reserves {@code bytes} of zero-reading, lazily backed memory whose lifetime is bound to
     * {@code arena}: closing the arena unmaps it.
     *
     * @throws IllegalStateException when the host refuses the reservation, with its errno.
     */
    public static MemorySegment reserve(final long bytes, final Arena arena)
    {
        if (bytes <= 0 || (bytes & 4095) != 0)
        {
            throw new IllegalArgumentException("reservation must be a positive multiple of 4096: " + bytes);
        }
        try (Arena callArena = Arena.ofConfined())
        {
            final MemorySegment state = callArena.allocate(CALL_STATE);
            final MemorySegment raw = (MemorySegment)MMAP.invokeExact(
                state, MemorySegment.NULL, bytes, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0L);
            if (raw.address() == MAP_FAILED)
            {
                final int errno = (int)ERRNO.get(state, 0L);
                throw new IllegalStateException(
                    "host mmap of " + bytes + " bytes failed: errno " + errno +
                    " (is vm.overcommit_memory 2, or the address space limited by ulimit -v?)");
            }
            final long address = raw.address();
            // advice only: a host without transparent huge pages says EINVAL, and 4 KiB pages serve
            final int unusedRc = (int)MADVISE.invokeExact(state, raw, bytes, MADV_HUGEPAGE);
            return raw.reinterpret(bytes, arena, segment -> unmap(address, bytes));
        }
        catch (final IllegalStateException | IllegalArgumentException ex)
        {
            throw ex;
        }
        catch (final Throwable t)
        {
            throw new IllegalStateException("host mmap downcall failed", t);
        }
    }

    /**
     * Returns the host pages behind {@code [offset, offset + length)} of {@code segment}; the range
     * reads as zero afterwards. Both bounds must be 4 KiB aligned relative to a page-aligned segment.
     *
     * @return 0, or the host errno.
     * @throws IndexOutOfBoundsException when the range is not inside {@code segment}.
     */
    public static int discard(final MemorySegment segment, final long offset, final long length)
    {
        // madvise has no idea of the segment: a range past it would drop whatever host pages follow
        Objects.checkFromIndexSize(offset, length, segment.byteSize());
        try (Arena callArena = Arena.ofConfined())
        {
            final MemorySegment state = callArena.allocate(CALL_STATE);
            final int rc = (int)MADVISE.invokeExact(
                state, MemorySegment.ofAddress(segment.address() + offset), length, MADV_DONTNEED);
            return rc == 0 ? 0 : (int)ERRNO.get(state, 0L);
        }
        catch (final Throwable t)
        {
            throw new IllegalStateException("host madvise downcall failed", t);
        }
    }

    /**
     * Backs every page of {@code segment} with host memory now, as a write would (zero-filled, so
     * nothing reads differently): madvise(MADV_POPULATE_WRITE), or on a host kernel without it
     * (before Linux 5.14) a store of zero into each zero page's first byte. For measurements that
     * must not pay the host's first touch of each page (on a virtual machine, the hypervisor's
     * too) inside the figure they take. Not concurrent with any other use of the segment.
     *
     * @return 0, or the host errno.
     */
    public static int populate(final MemorySegment segment)
    {
        try (Arena callArena = Arena.ofConfined())
        {
            final MemorySegment state = callArena.allocate(CALL_STATE);
            final int rc = (int)MADVISE.invokeExact(state, segment, segment.byteSize(), MADV_POPULATE_WRITE);
            final int errno = rc == 0 ? 0 : (int)ERRNO.get(state, 0L);
            if (errno != EINVAL)
            {
                return errno;
            }
        }
        catch (final Throwable t)
        {
            throw new IllegalStateException("host madvise downcall failed", t);
        }
        for (long offset = 0; offset < segment.byteSize(); offset += 4096)
        {
            // a store of the constant 0 (never of the value just loaded, which the JIT may drop)
            if (segment.get(ValueLayout.JAVA_BYTE, offset) == 0)
            {
                segment.set(ValueLayout.JAVA_BYTE, offset, (byte)0);
            }
        }
        return 0;
    }

    private static void unmap(final long address, final long bytes)
    {
        try
        {
            final int rc = (int)MUNMAP.invokeExact(MemorySegment.ofAddress(address), bytes);
            assert rc == 0 : "munmap of emulated physical memory failed";
        }
        catch (final Throwable t)
        {
            throw new IllegalStateException("host munmap downcall failed", t);
        }
    }
}
