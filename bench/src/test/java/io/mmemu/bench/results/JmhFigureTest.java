package io.mmemu.bench.results;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class JmhFigureTest
{
    @Test
    void forkMediansShareTheirUnit()
    {
        assertEquals("41.3, 68.8 ns/op", JmhFigure.sharingUnit(List.of("41.3 ns/op", "68.8 ns/op")));
    }

    @Test
    void forkMediansInDifferentUnitsKeepTheirOwn()
    {
        assertEquals("950 ns/op, 1.02 µs/op", JmhFigure.sharingUnit(List.of("950 ns/op", "1.02 µs/op")));
    }
}
