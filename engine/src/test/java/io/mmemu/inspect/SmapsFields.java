package io.mmemu.inspect;

import java.util.LinkedHashMap;
import java.util.Map;

import io.mmemu.vm.AddressSpace;
import io.mmemu.vm.ThpMode;
import io.mmemu.vm.VmaInfo;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The smaps block of one VMA as the tests read it: its header must be the VMA's maps line. */
final class SmapsFields
{
    private SmapsFields()
    {
    }

    /** The fields of the smaps block of the VMA at {@code va}, "Rss" → "4 kB", in smaps' order. */
    static Map<String, String> of(final AddressSpace space, final long va, final ThpMode thp)
    {
        final Snapshot snapshot = Snapshot.of(space, thp);
        final VmaInfo vma = snapshot.vmaAt(va);
        final StringBuilder sb = new StringBuilder();
        Smaps.append(sb, snapshot, vma);
        final String[] lines = sb.toString().split("\n");
        assertEquals(vma.mapsLine(), lines[0]);
        final Map<String, String> fields = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++)
        {
            final int colon = lines[i].indexOf(':');
            fields.put(lines[i].substring(0, colon), lines[i].substring(colon + 1).strip());
        }
        return fields;
    }
}
