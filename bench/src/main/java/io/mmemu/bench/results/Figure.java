package io.mmemu.bench.results;

/**
 * One figure of the results page, one section of bench/RESULTS.md: what is measured, how, and
 * against which targets. New figures (the engine's TLB hit, VMA lookup, fault, page_fault1 beside
 * the host) are a {@link JmhFigure} or {@link ScenarioFigure} added to {@link Figures}.
 */
public interface Figure
{
    /** Short stable name, used by {@code bench/run --only}. */
    String id();

    String title();

    /** What is measured and why it matters, in a sentence or two of Markdown. */
    String what();

    /**
     * The relative spread of a decisive row above which a measurement looks disturbed and is taken
     * again (if the machine has become quiet): {@link Settings#DISTURBED_SPREAD} unless the figure's
     * samples scatter by design.
     */
    default double disturbedSpread()
    {
        return Settings.DISTURBED_SPREAD;
    }

    /** Measures the figure once; failures of the measured code become rows without a result. */
    Outcome measure(Settings settings);
}
