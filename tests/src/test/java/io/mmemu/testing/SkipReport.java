package io.mmemu.testing;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Prints every test or class that did not run, with its reason, when the test run ends: a skipped
 * test must say why in the build's output, not only be counted. Registered with the JUnit Platform
 * through {@code META-INF/services}; {@code .ci/run} checks the same reasons against the tests
 * allowed to skip in CI.
 */
public final class SkipReport implements TestExecutionListener
{
    /** Guarded by this. */
    private final List<String> skips = new ArrayList<>();
    private volatile TestPlan plan;

    @Override
    public void testPlanExecutionStarted(final TestPlan testPlan)
    {
        plan = testPlan;
    }

    @Override
    public void executionSkipped(final TestIdentifier test, final String reason)
    {
        add(test, reason);
    }

    @Override
    public void executionFinished(final TestIdentifier test, final TestExecutionResult result)
    {
        if (result.getStatus() == TestExecutionResult.Status.ABORTED)
        {
            add(test, result.getThrowable().map(Throwable::getMessage).orElse(null));
        }
    }

    @Override
    public void testPlanExecutionFinished(final TestPlan testPlan)
    {
        final List<String> lines;
        synchronized (this)
        {
            lines = List.copyOf(skips);
        }
        if (lines.isEmpty())
        {
            return;
        }
        final PrintStream out = System.out;
        out.println("Skipped, with their reasons (" + lines.size() + "):");
        lines.forEach(line -> out.println("  " + line));
        out.flush();
    }

    private void add(final TestIdentifier test, final String reason)
    {
        final String why = reason == null || reason.isBlank() ? "(no reason given)"
            : reason.replaceFirst("^Assumption failed: ", "");
        final String line = name(test) + ": " + why;
        synchronized (this)
        {
            skips.add(line);
        }
    }

    /** The test's display name after its parents' (class, then method for a dynamic test). */
    private String name(final TestIdentifier test)
    {
        final TestPlan testPlan = plan;
        final StringBuilder name = new StringBuilder(test.getDisplayName());
        if (testPlan != null)
        {
            for (TestIdentifier parent = testPlan.getParent(test).orElse(null); parent != null && parent.getParentId().isPresent();
                 parent = testPlan.getParent(parent).orElse(null))
            {
                name.insert(0, parent.getDisplayName() + " ");
            }
        }
        return name.toString();
    }
}
