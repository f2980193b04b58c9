package io.mmemu.script;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import io.mmemu.vm.Mman;

/**
 * What an argument of a call may be written as, and which values it may take: a plain number, or
 * one of the kernel's flag families written as strace prints them ({@code PROT_READ|PROT_WRITE},
 * {@code PROT_READ|0x10}, {@code 0x10}, {@code MAP_ANONYMOUS|4<<MAP_HUGE_SHIFT}).
 */
public enum ArgumentKind
{
    /** An address, length or offset: any 64-bit number, or {@code NULL}. */
    NUMBER(null, Map.of(), false, 64, -1L),
    /** A file descriptor: a number that fits in C's int. */
    FD(null, Map.of(), false, 32, -1L),
    PROT("PROT_", withZero("PROT_NONE", Mman.PROT_NAMES), true, 32, -1L),
    MAP("MAP_", withZero("MAP_FILE", Mman.MAP_NAMES), Map.of("MAP_HUGE_SHIFT", 26), true, 32, -1L),
    MREMAP("MREMAP_", Mman.MREMAP_NAMES, true, 32, -1L),
    ADVICE("MADV_", Mman.MADV_NAMES, false, 32, -1L),
    /** The access of {@code touch}: read, write, both, or none. */
    ACCESS("PROT_", accessNames(), true, 32, Mman.PROT_READ | Mman.PROT_WRITE);

    /** strace prints {@code N<<MAP_HUGE_SHIFT} for the huge page size bits; N has 6 bits (MAP_HUGE_MASK). */
    static final long SHIFTED_MAX = 0x3f;

    private final String prefix;
    private final Map<String, Long> names;
    private final Map<String, Integer> shifts;
    private final boolean combinable;
    private final int bits;
    private final long allowed;

    ArgumentKind(final String prefix, final Map<String, Long> names, final boolean combinable, final int bits,
        final long allowed)
    {
        this(prefix, names, Map.of(), combinable, bits, allowed);
    }

    ArgumentKind(final String prefix, final Map<String, Long> names,
        final Map<String, Integer> shifts, final boolean combinable, final int bits, final long allowed)
    {
        this.prefix = prefix;
        this.names = names;
        this.shifts = shifts;
        this.combinable = combinable;
        this.bits = bits;
        this.allowed = allowed;
    }

    /** The names' common prefix ({@code PROT_}), or null for plain numbers. */
    public String prefix()
    {
        return prefix;
    }

    /** The names this kind accepts, with their values, in strace's order. */
    public Map<String, Long> names()
    {
        return names;
    }

    /** Whether several terms may be joined with {@code |}. */
    public boolean combinable()
    {
        return combinable;
    }

    /** The bits the value may have set (all for every kind but {@link #ACCESS}). */
    public long allowed()
    {
        return allowed;
    }

    /** Whether only some bits are allowed, so only some names: messages then list them. */
    boolean restricted()
    {
        return allowed != -1L;
    }

    /** The shift for {@code N<<NAME}, or -1 when {@code name} is not one of this kind's shifts. */
    int shift(final String name)
    {
        final Integer shift = shifts.get(name);
        return shift == null ? -1 : shift;
    }

    /**
     * Whether a number written as {@code value} fits this kind: 64-bit kinds take anything the lexer
     * took; 32-bit kinds take what C's int or unsigned int can hold (strace prints flags unsigned,
     * fds signed).
     */
    boolean fits(final long value, final boolean negative)
    {
        if (bits == 64)
        {
            return true;
        }
        return negative ? value >= Integer.MIN_VALUE : Long.compareUnsigned(value, 0xffff_ffffL) <= 0;
    }

    /** The flag family a stray name belongs to ({@code MAP_FIXED} given to a prot argument), or null. */
    static ArgumentKind familyOf(final String name)
    {
        for (final ArgumentKind kind : values())
        {
            if (kind.names.containsKey(name) || kind.shifts.containsKey(name))
            {
                return kind;
            }
        }
        return null;
    }

    private static Map<String, Long> accessNames()
    {
        final Map<String, Long> map = new LinkedHashMap<>();
        map.put("PROT_READ", (long)Mman.PROT_READ);
        map.put("PROT_WRITE", (long)Mman.PROT_WRITE);
        return withZero("PROT_NONE", map);
    }

    private static Map<String, Long> withZero(final String zeroName, final Map<String, Long> names)
    {
        // strace prints PROT_NONE for a zero prot and MAP_FILE for a zero mapping type; the
        // kernel's name tables (Mman) list only the bits.
        final Map<String, Long> map = new LinkedHashMap<>();
        map.put(zeroName, 0L);
        map.putAll(names);
        return Collections.unmodifiableMap(map);
    }
}
