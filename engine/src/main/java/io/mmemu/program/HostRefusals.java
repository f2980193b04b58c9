package io.mmemu.program;

import java.util.ArrayList;
import java.util.List;

import io.mmemu.vm.Mman;

/**
 * What the host kernel cannot run, found before the run, each as {@code FILE:LINE:COLUMN: reason}:
 * <ul>
 *   <li>views ({@code show}, {@code dump}, {@code html}): they read the emulator's page tables;</li>
 *   <li>{@code brk}: the runner's program break is the runner's own heap;</li>
 *   <li>{@code madvise} with MADV_HWPOISON or MADV_SOFT_OFFLINE: they would poison or offline host
 *       memory (as root);</li>
 *   <li>a program that writes more than the host's memory: the bytes each statement must back
 *       (pages a write touch reaches, MAP_POPULATE and MAP_LOCKED mappings, MADV_POPULATE_WRITE),
 *       counted once per statement and per thread that runs it (loops are not multiplied: they
 *       usually reuse what they map), summed over the program. Values known before the run are
 *       followed through assignments (params, {@code tid}, {@code nthreads}, constants); a
 *       statement whose size depends on a call's result or a loop's counter is not counted.</li>
 * </ul>
 * Ranges that would reach the runner's own mappings are the runner's to refuse (it knows them):
 * constant ones before the run, computed ones when they come.
 */
final class HostRefusals
{
    private static final long PAGE = 4096;

    private final Program program;
    private final RunOptions options;
    private final long hostMemory;
    private final List<String> refusals = new ArrayList<>();
    private long backed;
    private boolean overMemory;

    private HostRefusals(final Program program, final RunOptions options, final long hostMemory)
    {
        this.program = program;
        this.options = options;
        this.hostMemory = hostMemory;
    }

    /**
     * The refusals, empty when the program can run.
     *
     * @param hostMemory the host's memory in bytes (MemTotal), or a non-positive value for unknown (no size check)
     */
    static List<String> of(final Program program, final RunOptions options, final long hostMemory)
    {
        final HostRefusals check = new HostRefusals(program, options, hostMemory);
        final Known top = new Known(program.slots());
        top.set(Program.TID_SLOT, 0);
        top.set(Program.NTHREADS_SLOT, 1);
        check.block(program.body(), top, 1);
        return List.copyOf(check.refusals);
    }

    /** Slots whose values are known before the run. */
    private static final class Known
    {
        final long[] values;
        final boolean[] known;

        Known(final int slots)
        {
            values = new long[slots];
            known = new boolean[slots];
        }

        Known(final Known other)
        {
            values = other.values.clone();
            known = other.known.clone();
        }

        void set(final int slot, final long value)
        {
            values[slot] = value;
            known[slot] = true;
        }

        void forget(final int slot)
        {
            if (slot != Node.NO_SLOT)
            {
                known[slot] = false;
            }
        }

        /** The value, or null when it depends on something unknown (or divides by zero). */
        Long value(final Expr expr)
        {
            if (expr == null)
            {
                return null;
            }
            return switch (expr)
            {
                case Expr.Constant c -> c.value();
                case Expr.Variable v -> known[v.slot()] ? values[v.slot()] : null;
                case Expr.Binary b ->
                {
                    final Long left = value(b.left());
                    final Long right = value(b.right());
                    if (left == null || right == null)
                    {
                        yield null;
                    }
                    yield switch (b.operator())
                    {
                        case '+' -> left + right;
                        case '-' -> left - right;
                        case '*' -> left * right;
                        case '/' -> right == 0 ? null : Long.divideUnsigned(left, right);
                        case '%' -> right == 0 ? null : Long.remainderUnsigned(left, right);
                        default -> null;
                    };
                }
            };
        }
    }

    private void block(final List<Node> nodes, final Known known, final long threads)
    {
        for (final Node node : nodes)
        {
            switch (node)
            {
                case Node.CallNode c ->
                {
                    call(c, known, threads);
                    known.forget(c.slot());
                }
                case Node.Assign a ->
                {
                    final Long value = known.value(a.value());
                    if (value == null)
                    {
                        known.forget(a.slot());
                    }
                    else
                    {
                        known.set(a.slot(), value);
                    }
                }
                case Node.Repeat r -> loop(r.body(), known, threads, r.indexSlot());
                case Node.For f -> loop(f.body(), known, threads, Node.NO_SLOT);
                case Node.Until u -> loop(u.body(), known, threads, Node.NO_SLOT);
                case Node.Parallel p ->
                {
                    final Long count = p.count() == null ? Long.valueOf(options.threads()) : known.value(p.count());
                    final Known child = new Known(known);
                    child.forget(Program.TID_SLOT);
                    if (count == null)
                    {
                        child.forget(Program.NTHREADS_SLOT);
                    }
                    else
                    {
                        child.set(Program.NTHREADS_SLOT, count);
                    }
                    final long n = count == null || count < 1 || count > Run.MAX_THREADS ? 1 : count;
                    block(p.body(), child, threads * n);
                }
                case Node.Thread t ->
                {
                    final Known child = new Known(known);
                    child.set(Program.TID_SLOT, 0);
                    child.set(Program.NTHREADS_SLOT, 1);
                    block(t.body(), child, threads);
                }
                case Node.Fork f -> refuse(f, "'fork' starts an emulated child process: the host runner has no fork yet");
                case Node.WaitChildren w -> refuse(w, "'wait' for child processes: the host runner has no fork yet");
                case Node.Show s -> refuse(s, "'show " + s.view().word() + "' reads the emulator's page tables: views " +
                    "(show, dump, html) run on the emulator only");
                case Node.Save s -> refuse(s, "'" + (s.html() ? "html" : "dump") + "' writes the emulator's address space: " +
                    "views (show, dump, html) run on the emulator only");
                default ->
                {
                    // order and time: nothing to back
                }
            }
        }
    }

    /** A loop's body once, with every slot it assigns unknown (they change from one iteration to the next). */
    private void loop(final List<Node> body, final Known known, final long threads, final int indexSlot)
    {
        known.forget(indexSlot);
        final boolean[] assigned = new boolean[known.known.length];
        assigned(body, assigned);
        for (int slot = 0; slot < assigned.length; slot++)
        {
            if (assigned[slot])
            {
                known.forget(slot);
            }
        }
        block(body, known, threads);
        for (int slot = 0; slot < assigned.length; slot++)
        {
            if (assigned[slot])
            {
                known.forget(slot);
            }
        }
    }

    private static void assigned(final List<Node> nodes, final boolean[] slots)
    {
        for (final Node node : nodes)
        {
            switch (node)
            {
                case Node.CallNode c -> mark(slots, c.slot());
                case Node.Assign a -> mark(slots, a.slot());
                case Node.Repeat r ->
                {
                    mark(slots, r.indexSlot());
                    assigned(r.body(), slots);
                }
                case Node.For f -> assigned(f.body(), slots);
                case Node.Until u -> assigned(u.body(), slots);
                case Node.Parallel p -> assigned(p.body(), slots);
                case Node.Thread t -> assigned(t.body(), slots);
                case Node.Fork f -> assigned(f.body(), slots);
                default ->
                {
                    // assigns nothing
                }
            }
        }
    }

    private static void mark(final boolean[] slots, final int slot)
    {
        if (slot != Node.NO_SLOT)
        {
            slots[slot] = true;
        }
    }

    private void call(final Node.CallNode c, final Known known, final long threads)
    {
        final List<Expr> a = c.arguments();
        switch (c.call())
        {
            case BRK -> refuse(c, "brk moves the program break, which on the host is the runner's own heap");
            case MADVISE ->
            {
                final Long advice = known.value(a.get(2));
                if (advice != null && (advice == Mman.MADV_HWPOISON || advice == Mman.MADV_SOFT_OFFLINE))
                {
                    refuse(c, "MADV_HWPOISON and MADV_SOFT_OFFLINE would poison or offline the host's memory");
                }
                else if (advice != null && advice == Mman.MADV_POPULATE_WRITE)
                {
                    back(c, known.value(a.get(1)), threads);
                }
            }
            case MMAP ->
            {
                final Long flags = known.value(a.get(3));
                final Long prot = known.value(a.get(2));
                if (flags != null && prot != null && (prot & Mman.PROT_WRITE) != 0 &&
                    (flags & (Mman.MAP_POPULATE | Mman.MAP_LOCKED)) != 0)
                {
                    back(c, known.value(a.get(1)), threads);
                }
            }
            case TOUCH ->
            {
                final Long access = known.value(a.get(2));
                if (access != null && (access & Mman.PROT_WRITE) != 0)
                {
                    back(c, touchedBytes(c, known), threads);
                }
            }
            default ->
            {
                // munmap, mprotect, mremap, pkey_mprotect back nothing new
            }
        }
    }

    /** The bytes of the pages a write touch can reach, or null when its size is not known before the run. */
    private static Long touchedBytes(final Node.CallNode c, final Known known)
    {
        final Long length = known.value(c.arguments().get(1));
        final TouchPattern pattern = c.pattern();
        final Long stride = pattern.stride() == null ? Long.valueOf(PAGE) : known.value(pattern.stride());
        if (length == null || stride == null || stride == 0)
        {
            return null;
        }
        // +1: an address not page-aligned spans one more page
        final long spanned = Long.divideUnsigned(length, PAGE) + 2;
        final long accesses;
        if (pattern.random() != null)
        {
            final Long count = known.value(pattern.random());
            if (count == null)
            {
                return null;
            }
            accesses = count;
        }
        else
        {
            accesses = Long.divideUnsigned(length, stride) + 1;
        }
        final long pages = Long.compareUnsigned(accesses, spanned) < 0 ? accesses : spanned;
        return pages > Long.MAX_VALUE / PAGE ? Long.MAX_VALUE : pages * PAGE;
    }

    private void back(final Node node, final Long bytes, final long threads)
    {
        if (bytes == null || hostMemory <= 0 || overMemory)
        {
            return;
        }
        final long total = threads != 0 && Long.compareUnsigned(bytes, Long.MAX_VALUE / threads) > 0 ? Long.MAX_VALUE :
            bytes * threads;
        backed = Long.MAX_VALUE - backed < total ? Long.MAX_VALUE : backed + total;
        if (backed > hostMemory)
        {
            overMemory = true;
            refuse(node, "by here the program writes up to " + Quantities.bytes(backed) + " (each statement once, times " +
                "the threads that run it), more than the host's memory (" + Quantities.bytes(hostMemory) +
                "); run it smaller with --set");
        }
    }

    private void refuse(final Node node, final String reason)
    {
        refusals.add(program.name() + ":" + node.line() + ":" + node.column() + ": cannot run on the host: " + reason);
    }
}
