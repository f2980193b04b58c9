package io.mmemu.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every command's help reads cleanly at 80 columns: no line is longer, and no sentence is broken by
 * hand inside picocli's own wrapping. A hard break shows as a line that ends mid-sentence (a word
 * or a comma) although the next line's first word, lower-case, would still have fitted on it: picocli
 * wraps only where the next word does not fit. Commands added later are checked too.
 */
class HelpTextTest
{
    private static final int WIDTH = 80;

    @Test
    void everyCommandsHelpFitsEightyColumnsWithoutHandMadeBreaks()
    {
        final CommandLine main = new CommandLine(new Main());
        final Map<String, CommandLine> commands = main.getSubcommands();
        assertTrue(commands.size() >= 8, commands.keySet().toString());
        final List<String> problems = new ArrayList<>(problems("mmemu", main.getUsageMessage()));
        commands.forEach((name, command) -> problems.addAll(problems("mmemu " + name, command.getUsageMessage())));
        assertEquals(List.of(), problems);
    }

    @Test
    void aHandMadeBreakIsFoundAndPicocliWrappingIsNot()
    {
        assertEquals(1, problems("x", "Run a thing on the emulator, on the host kernel (a small C\nprogram built on first use).\n")
            .size());
        assertEquals(List.of(), problems("x", "Run a thing on the emulator, on the host kernel (a small C program built on"
            + "\nfirst use) or on both.\n"));
        assertEquals(1, problems("x", "x".repeat(WIDTH + 1) + "\n").size());
    }

    private static List<String> problems(final String command, final String usage)
    {
        final List<String> problems = new ArrayList<>();
        final List<String> lines = usage.lines().toList();
        for (int i = 0; i < lines.size(); i++)
        {
            final String line = lines.get(i);
            if (line.length() > WIDTH)
            {
                problems.add(command + ": line longer than " + WIDTH + " columns: " + line);
            }
            if (i + 1 < lines.size() && !line.isBlank() && brokenByHand(line, lines.get(i + 1)))
            {
                problems.add(command + ": sentence broken by hand:\n" + line + "\n" + lines.get(i + 1));
            }
        }
        return problems;
    }

    private static boolean brokenByHand(final String line, final String next)
    {
        if (line.strip().startsWith("-") && !line.strip().contains(" "))
        {
            return false;   // an option too long for its column, its description on the next line
        }
        final char last = line.charAt(line.length() - 1);
        final String word = next.strip().split(" ", 2)[0];
        return (Character.isLetterOrDigit(last) || last == ',') && !word.isEmpty()
            && Character.isLowerCase(word.charAt(0)) && line.length() + 1 + word.length() < WIDTH;
    }
}
