package io.mmemu.check;

import java.util.List;

/**
 * A scenario whose run went wrong — a history no sequential order explains, or problems the run
 * found (an exception, an invariant violated, frames not returned) — after shrinking: the
 * program, the failing history of the shrunk program, the checker's verdict on it.
 *
 * @param original   the failing run of the scenario as generated
 * @param originalReproduced runs of that scenario that failed again, of {@code attempts}
 * @param history    a failing run of the shrunk scenario ({@code history.scenario()})
 * @param verdict    the checker's verdict on that history
 * @param reproduced runs of the shrunk scenario that failed, of {@code attempts}
 */
public record Violation(History original, int originalReproduced, History history, LinearizabilityChecker.Verdict verdict,
    int reproduced, int attempts)
{
    public Scenario shrunk()
    {
        return history.scenario();
    }

    /** One line: what went wrong. */
    public String summary()
    {
        if (!history.problems().isEmpty())
        {
            return history.problems().getFirst();
        }
        return "no sequential order of the operations gives the results this run recorded";
    }

    /** The shrunk program as a {@code .mm} file, with the failing history and the verdict as comments. */
    public String program()
    {
        final StringBuilder sb = new StringBuilder();
        final Scenario s = shrunk();
        sb.append("# mmemu check: ").append(summary()).append('\n');
        sb.append(String.format("# %s, %s, section %d, THP %s; %d ops in %d threads%s;%n", s.locking().cliName(),
            io.mmemu.program.Report.backingName(s.backing()), s.section(), s.thp().sysfsName(), s.operations(), s.threads().size(),
            original == history ? "" : String.format(" (shrunk from %d ops in %d threads)",
                original.scenario().operations(), original.scenario().threads().size())));
        sb.append(String.format("# %d of %d runs of this program failed%s. Each op's comment: its result in the failing run%n",
            reproduced, attempts, original == history ? "" : " (of the program as generated: " + originalReproduced + ")"));
        sb.append("# and its interval [call ticket, return ticket] (A before B in real time iff A returned < B called).\n");
        sb.append(ProgramText.program(s, history));
        if (!verdict.linearizable())
        {
            sb.append("# the longest order of ops that explained its results:\n");
            comment(sb, verdict.order().stream().map(ProgramText::event).toList());
            sb.append("# after which no op that may come next (minimal in real time) gives its recorded result:\n");
            comment(sb, verdict.stuck());
        }
        if (!history.problems().isEmpty())
        {
            sb.append("# problems of the run:\n");
            comment(sb, history.problems());
        }
        if (original != history)
        {
            sb.append("# the first failing run, before shrinking:\n");
            comment(sb, ProgramText.program(original.scenario(), original).lines().toList());
            comment(sb, original.problems());
        }
        return sb.toString();
    }

    private static void comment(final StringBuilder sb, final List<String> lines)
    {
        for (final String line : lines)
        {
            sb.append("#   ").append(line).append('\n');
        }
    }
}
