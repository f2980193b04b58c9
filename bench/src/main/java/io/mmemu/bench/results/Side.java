package io.mmemu.bench.results;

import java.awt.Color;

/**
 * One side of a side-by-side measurement as the plots show it: the name its metrics carry
 * ({@code WORKLOAD.tTHREADS.SIDE...}, see {@link io.mmemu.bench.scenario.CompareScenario}), its
 * legend label, and its colour, the same in every plot so that a reader learns it once.
 */
record Side(String metric, String label, Color color)
{
    /** The emulator with per-VMA locking, the default mode. */
    static final Side PER_VMA = new Side("per-vma", "emulator, per-vma locking", new Color(0x1F77B4));
    /** The emulator with every fault and munmap under the one mmap lock. */
    static final Side MMAP_LOCK = new Side("mmap-lock", "emulator, mmap-lock locking", new Color(0xE3771B));
    /** The same loop on the host kernel, {@code host_bench.c}. */
    static final Side HOST = new Side("host", "host kernel", new Color(0x2CA02C));
}
