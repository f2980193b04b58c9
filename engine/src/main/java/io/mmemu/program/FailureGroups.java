package io.mmemu.program;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A run's failed expectations grouped by statement: a statement that fails 40,000 times is one
 * group with its count, its first failure's message, and the addresses of its first and last
 * failures, not 40,000 lines. A statement's wrong outcome and its touch's wrong bytes are separate
 * groups (they say different things). Groups keep the order in which their first failure came.
 * <p>
 * Not thread-safe: {@link Run} adds under its own monitor.
 */
final class FailureGroups
{
    /** What kind of failure a group holds. */
    enum Kind
    {
        /** The call's outcome met none of its expectations. */
        OUTCOME,
        /** A touch read back bytes other than it wrote. */
        BYTES
    }

    private record Key(Node.CallNode node, Kind kind)
    {
    }

    private static final class Tally
    {
        private final String statement;
        private final String first;
        private final long firstAddress;
        private long lastAddress;
        private long count;

        private Tally(final String statement, final String first, final long address)
        {
            this.statement = statement;
            this.first = first;
            this.firstAddress = address;
            this.lastAddress = address;
        }
    }

    private final Map<Key, Tally> groups = new LinkedHashMap<>();

    /** Counts a failure of {@code node} at {@code address}; {@code what} is kept only for the first. */
    void add(final String statement, final Node.CallNode node, final Kind kind, final String what, final long address)
    {
        final Tally tally = groups.computeIfAbsent(new Key(node, kind), k -> new Tally(statement, what, address));
        tally.count++;
        tally.lastAddress = address;
    }

    List<FailureGroup> snapshot()
    {
        final List<FailureGroup> list = new ArrayList<>(groups.size());
        for (final Tally t : groups.values())
        {
            list.add(new FailureGroup(t.statement, t.count, t.first, t.firstAddress, t.lastAddress));
        }
        return List.copyOf(list);
    }
}
