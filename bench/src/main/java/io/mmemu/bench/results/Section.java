package io.mmemu.bench.results;

import java.util.List;

/**
 * A figure as measured for the page: the outcome kept, when and on what it was measured, and the
 * medians of attempts set aside because they looked disturbed.
 *
 * @param conditions  how busy the shared machine was when the kept attempt began.
 * @param setAside    one line per attempt set aside (its spread and medians) or not measured (why).
 */
record Section(Figure figure, Outcome outcome, String measuredAt, OtherWork.Conditions conditions, Machine machine,
    int attempt, List<String> setAside)
{
}
