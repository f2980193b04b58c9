package io.mmemu.check;

import java.util.List;
import java.util.SplittableRandom;

import io.mmemu.phys.Backing;
import io.mmemu.phys.PhysicalMemory;
import io.mmemu.script.Call;
import io.mmemu.vm.LockingMode;
import org.junit.jupiter.api.Test;

import static io.mmemu.vm.Mman.*;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The machine's verdicts: a search that ran out of budget gets a second, larger one. */
class CheckMachineTest
{
    private static final long A = ScenarioGenerator.WINDOW_START;

    @Test
    void anInconclusiveSearchIsDecidedByALargerBudget()
    {
        final Op map = Op.syscall(Call.MMAP, A, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        // one thread: the search applies each event once, so it needs as many steps as there are events
        final Scenario scenario = new Scenario(LockingMode.PER_VMA, Backing.FULL, 4096, 0, List.of(map),
            List.of(List.of(Op.write(A, 1), Op.write(A + 4096, 2), Op.read(A), Op.read(A + 4096))));
        final long budget = 2;
        try (CheckMachine machine = new CheckMachine(Backing.FULL, budget);
             PhysicalMemory model = PhysicalMemory.create(64L << 20, Backing.FULL))
        {
            final CheckMachine.Result result = machine.run(scenario, new SplittableRandom(1));
            assertTrue(LinearizabilityChecker.check(result.history(), model, budget).inconclusive(),
                "the first budget alone does not decide it");
            assertFalse(result.verdict().inconclusive(), "the second search decides it");
            assertTrue(result.verdict().linearizable());
            assertTrue(result.verdict().steps() > budget && result.verdict().steps() <= budget * CheckMachine.INCONCLUSIVE_ESCALATION,
                "steps: " + result.verdict().steps());
        }
    }
}
