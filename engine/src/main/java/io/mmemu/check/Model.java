package io.mmemu.check;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.mmemu.pgtable.PageWalker;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.script.Call;
import io.mmemu.script.Interpreter;
import io.mmemu.script.Outcome;
import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.Cpu;
import io.mmemu.vm.Errno;
import io.mmemu.vm.Mman;
import io.mmemu.vm.MmapSteps;
import io.mmemu.vm.Signal;
import io.mmemu.vm.VmFlags;
import io.mmemu.vm.VmaInfo;

/**
 * The sequential specification: a fresh single-threaded address space, built as the scenario's
 * (same locking mode, section and heap start) on a memory of its own, that replays an order of
 * operations. One thread on the emulator is equal to the host kernel (the differential harness
 * checks that), which is what makes it the model. Not thread-safe; {@link #close} returns every
 * frame.
 */
final class Model implements AutoCloseable
{
    private final PhysicalMemory memory;
    private final Scenario scenario;
    /** Every byte some touch of the scenario reads or writes, sorted: the data part of the state. */
    private final long[] probes;
    private AddressSpace mm;
    private Cpu cpu;
    private Interpreter interpreter;
    /** Reads the model's tables for the probes (no allocation, no lock: the model is one thread). */
    private final PageWalker walker;

    Model(final PhysicalMemory memory, final Scenario scenario)
    {
        this.memory = memory;
        this.scenario = scenario;
        this.probes = touchedBytes(scenario);
        this.walker = new PageWalker(memory, null);
    }

    /** Back to the state before the setup. */
    void reset()
    {
        release();
        mm = AddressSpace.create(memory, scenario.locking(), scenario.section(), scenario.kernel()).thp(scenario.thp());
        if (scenario.startBrk() != 0)
        {
            mm.setBrk(scenario.startBrk(), scenario.startBrk());
        }
        cpu = mm.attachCpu();
        interpreter = new Interpreter(cpu);
    }

    Outcome apply(final Op op)
    {
        return op.apply(cpu, interpreter);
    }

    /**
     * Whether {@code recorded} is a result {@code op} may give where the model, just now, gave
     * {@code modelled}: the same one, except for MADV_COLLAPSE. Its result depends on which pages
     * and PT pages are resident and on allocation (madvise_collapse_errno: 0, EINVAL, EAGAIN,
     * ENOMEM or EBUSY; a block with no PT page ends the scan with EINVAL), which the model's state
     * leaves out — its own probes fault pages in — and it changes no byte and no VMA whatever it
     * returns. Over a range VMAs cover whole, any of those results explains it; over one with a
     * hole, 0 never does (madvise says ENOMEM for the hole unless a VMA's collapse failed first),
     * and EINVAL and ENOMEM explain each other only where the model gave one of them.
     */
    boolean explains(final Op op, final Outcome modelled, final Outcome recorded)
    {
        if (modelled.equals(recorded))
        {
            return true;
        }
        if (op.call() != Call.MADVISE || op.argument(2) != Mman.MADV_COLLAPSE || recorded.signal() != Signal.NONE
            || modelled.signal() != Signal.NONE)
        {
            return false;
        }
        final long result = recorded.value();
        if (coveredWhole(op.argument(0), op.argument(0) + op.argument(1)))
        {
            return result == 0 || result == -Errno.EINVAL || result == -Errno.EAGAIN || result == -Errno.ENOMEM
                || result == -Errno.EBUSY;
        }
        final long model = modelled.value();
        return (result == -Errno.EINVAL || result == -Errno.ENOMEM) && (model == -Errno.EINVAL || model == -Errno.ENOMEM);
    }

    private boolean coveredWhole(final long start, final long end)
    {
        long at = start;
        for (final VmaInfo vma : mm.vmas())
        {
            if (Long.compareUnsigned(vma.end(), at) <= 0)
            {
                continue;
            }
            if (Long.compareUnsigned(vma.start(), at) > 0)
            {
                return false;
            }
            at = vma.end();
            if (Long.compareUnsigned(at, end) >= 0)
            {
                return true;
            }
        }
        return false;
    }

    /**
     * The stack growth of a touch at {@code va} on its own, before the access: a fault that finds
     * {@code va} below a VM_GROWSDOWN VMA grows it (if the rules allow) and the access is retried
     * later, so other operations may come in between. A read there does exactly the growth (and
     * maps the zero page, which no result depends on); what it returns does not matter.
     */
    void growStack(final long va)
    {
        cpu.readByte(va);
    }

    /**
     * The first step of a populating mmap {@code op}: the mapping without its populate
     * ({@link MmapSteps#map}), and what it returns.
     */
    Outcome map(final Op op)
    {
        return Outcome.returned(MmapSteps.map(cpu, op.argument(0), op.argument(1), (int)op.argument(2),
            (int)op.argument(3), op.argument(5)));
    }

    /**
     * The second step of a populating mmap {@code op} whose first returned {@code result}: the
     * populate on its own ({@link MmapSteps#populate}), on the VMAs there now.
     */
    void populate(final Op op, final long result)
    {
        MmapSteps.populate(cpu, result, op.argument(1), (int)op.argument(3));
    }

    /**
     * What decides the results of later operations, compared exactly (no hash that could collide
     * and prune a live branch): the VMAs (bounds, flags, whether each has an anon_vma, name, file
     * identity) and which of them share one ({@link AddressSpace#anonVmaSharing}: VMAs that are
     * alike but for which anon_vma they have merge with different neighbours later), the break,
     * and the byte (or signal) at every address a touch uses.
     */
    record State(List<VmaInfo> vmas, List<Integer> anonVmaSharing, long brk, List<Integer> bytes)
    {
    }

    /**
     * The model's {@link State}. Reading the bytes must not change what later operations return:
     * a byte a present entry maps is read (no fault); an empty entry of a private anonymous VMA
     * reads 0 without a fault (a THP read fault would map the huge zero page and prepare the
     * VMA's anon_vma, which decides later merges); anything else is read through a fault whose
     * result changes no VMA (a shared page, a swapped page, a signal). Addresses outside every
     * VMA are not read, so that a probe never grows a stack.
     */
    State state()
    {
        final List<VmaInfo> vmas = mm.vmas();
        final List<Integer> bytes = new ArrayList<>(probes.length);
        int v = 0;
        for (final long va : probes)
        {
            while (v < vmas.size() && Long.compareUnsigned(vmas.get(v).end(), va) <= 0)
            {
                v++;
            }
            if (v == vmas.size())
            {
                break;
            }
            if (Long.compareUnsigned(vmas.get(v).start(), va) > 0)
            {
                bytes.add(-1);
                continue;
            }
            bytes.add(peek(vmas.get(v), va));
        }
        return new State(vmas, Arrays.stream(mm.anonVmaSharing()).boxed().toList(), mm.brk(), bytes);
    }

    /** The byte at {@code va} in {@code vma} (or {@code -1 - signal}), read without a fault that changes state. */
    private int peek(final VmaInfo vma, final long va)
    {
        if (walker.translate(mm.cr3(), va) == PageWalker.NO_TRANSLATION && emptyEntry(va)
            && (vma.flags() & VmFlags.VM_SHARED) == 0 && vma.anonymous()
            && (vma.flags() & (VmFlags.VM_READ | VmFlags.VM_WRITE | VmFlags.VM_EXEC)) != 0)
        {
            return 0;
        }
        final int signal = cpu.readByte(va);
        return signal == Signal.NONE ? (int)cpu.value() : -1 - signal;
    }

    /** Whether no entry at any level maps {@code va}: a read there would fault a fresh page in. */
    private boolean emptyEntry(final long va)
    {
        final int status = walker.walk(mm.cr3(), va);
        return status == PageWalker.WALK_HOLE || (status == PageWalker.WALK_PTE || status == PageWalker.WALK_ENTRY)
            && walker.entry() == 0L;
    }

    private static long[] touchedBytes(final Scenario scenario)
    {
        final long[] all = new long[scenario.operations()];
        int n = 0;
        for (int t = -1; t < scenario.threads().size(); t++)
        {
            for (final Op op : scenario.ops(t))
            {
                if (op.call() == Call.TOUCH)
                {
                    all[n++] = op.argument(0);
                }
            }
        }
        final long[] sorted = Arrays.copyOf(all, n);
        for (int i = 0; i < n; i++)
        {
            sorted[i] ^= Long.MIN_VALUE; // unsigned order
        }
        Arrays.sort(sorted);
        for (int i = 0; i < n; i++)
        {
            sorted[i] ^= Long.MIN_VALUE;
        }
        return Arrays.stream(sorted).distinct().toArray();
    }

    private void release()
    {
        if (mm != null)
        {
            cpu.close();
            mm.close();
            mm = null;
            cpu = null;
        }
    }

    @Override
    public void close()
    {
        release();
    }
}
