package io.mmemu.check;

import java.util.List;

import io.mmemu.script.Outcome;

/**
 * What one run of a {@link Scenario} did: every operation with the real-time interval it ran in
 * and its outcome, and the problems the run found besides its results (exceptions, invariant
 * violations after the run, frames not returned when the address space closed).
 * <p>
 * Intervals are tickets of one global counter, taken just before the call and just after the
 * return: op A precedes op B in real time iff {@code A.returned < B.called}. The setup's events
 * come first, with thread -1.
 */
public record History(Scenario scenario, List<Event> events, List<String> problems)
{
    /**
     * One operation as it ran: thread (-1 for the setup), its index in that thread, its interval,
     * its outcome, and for a touch whether its fault grew a stack on the way.
     */
    public record Event(int thread, int index, Op op, long called, long returned, Outcome outcome, boolean grewStack)
    {
        public Event(final int thread, final int index, final Op op, final long called, final long returned,
            final Outcome outcome)
        {
            this(thread, index, op, called, returned, outcome, false);
        }

        public boolean precedes(final Event other)
        {
            return returned < other.called;
        }
    }

    public History
    {
        events = List.copyOf(events);
        problems = List.copyOf(problems);
    }
}
